using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Encoding;

namespace SecureChat.Protocol.Group;

/// <summary>
/// The Merkle tree over a commit's wraps, the building block of commits sized for their reader (issue #15): the commit is to
/// sign its root, and each member to receive only its own wrap and the audit path to that root. Not on the wire yet
/// (PROTOCOL.md §7 reserves its labels). The shape is RFC 9162's (§2.1.1: the left subtree holds the largest power of two
/// of leaves smaller than the count); leaves and nodes are hashed under their own labels, and each leaf binds its index
/// and the roster size, so a wrap proven for one position or one roster size proves nothing for another.
/// </summary>
public sealed class WrapTree
{
    private readonly byte[][] _leaves;
    private readonly Dictionary<(int Start, int Count), byte[]> _subtrees = [];

    /// <summary>The tree over <paramref name="wraps"/>, one per roster entry in roster order (at least one).</summary>
    public WrapTree(IReadOnlyList<Wrap> wraps)
    {
        ArgumentNullException.ThrowIfNull(wraps);
        if (wraps.Count == 0)
        {
            throw new ArgumentException("a wrap tree needs at least one wrap", nameof(wraps));
        }

        _leaves = new byte[wraps.Count][];
        for (var i = 0; i < wraps.Count; i++)
        {
            _leaves[i] = LeafHash(wraps[i], (uint)i, (uint)wraps.Count);
        }

        Root = Subtree(0, wraps.Count);
    }

    /// <summary>wraps_root: what the commit's content signs.</summary>
    public byte[] Root { get; }

    public int Count => _leaves.Length;

    /// <summary>leaf = H("SC2/wrap-leaf", u32 index || u32 size || str16 recipient_id || u32 recipient_key_id || bytes32 ephemeral_key || bytes32 sealed_secret).</summary>
    public static byte[] LeafHash(Wrap wrap, uint index, uint size)
    {
        ArgumentNullException.ThrowIfNull(wrap);
        var data = new CanonicalWriter().U32(index).U32(size).Str16(wrap.RecipientId).U32(wrap.RecipientKeyId)
            .Bytes32(wrap.EphemeralKey.Span).Bytes32(wrap.SealedSecret.Span).ToArray();
        return Hashing.LabeledSha256(Labels.WrapLeaf, data);
    }

    /// <summary>node = H("SC2/wrap-node", left[32] || right[32]).</summary>
    public static byte[] NodeHash(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right) =>
        Hashing.LabeledSha256(Labels.WrapNode, new CanonicalWriter().Bytes(left).Bytes(right).ToArray());

    /// <summary>The audit path of leaf <paramref name="index"/>: the sibling hashes from the leaf's level up to the root's children.</summary>
    public IReadOnlyList<byte[]> PathOf(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _leaves.Length);
        var path = new List<byte[]>();
        CollectPath(index, 0, _leaves.Length, path);
        path.Reverse();
        return path;
    }

    /// <summary>
    /// Whether <paramref name="wrap"/> is leaf <paramref name="index"/> of a tree of <paramref name="size"/> leaves whose root is
    /// <paramref name="root"/>, by its audit path (RFC 9162 §2.1.3.2 with this tree's hashes). Every hash in the path must be 32 bytes.
    /// </summary>
    public static bool Proves(Wrap wrap, int index, int size, IReadOnlyList<ReadOnlyMemory<byte>> path, ReadOnlySpan<byte> root)
    {
        ArgumentNullException.ThrowIfNull(wrap);
        ArgumentNullException.ThrowIfNull(path);
        if (index < 0 || index >= size || root.Length != Hashing.Sha256Size)
        {
            return false;
        }

        var fn = (uint)index;
        var sn = (uint)(size - 1);
        var r = LeafHash(wrap, (uint)index, (uint)size);
        foreach (var sibling in path)
        {
            if (sn == 0 || sibling.Length != Hashing.Sha256Size)
            {
                return false;
            }

            if ((fn & 1) == 1 || fn == sn)
            {
                r = NodeHash(sibling.Span, r);
                while ((fn & 1) == 0 && fn != 0)
                {
                    fn >>= 1;
                    sn >>= 1;
                }
            }
            else
            {
                r = NodeHash(r, sibling.Span);
            }

            fn >>= 1;
            sn >>= 1;
        }

        return sn == 0 && Hashing.FixedTimeEquals(r, root);
    }

    /// <summary>The root over <paramref name="wraps"/> (at least one).</summary>
    public static byte[] RootOf(IReadOnlyList<Wrap> wraps) => new WrapTree(wraps).Root;

    private byte[] Subtree(int start, int count)
    {
        if (count == 1)
        {
            return _leaves[start];
        }

        if (_subtrees.TryGetValue((start, count), out var cached))
        {
            return cached;
        }

        var split = LeftCount(count);
        var hash = NodeHash(Subtree(start, split), Subtree(start + split, count - split));
        _subtrees[(start, count)] = hash;
        return hash;
    }

    /// <summary>Root-first: the sibling of each subtree on the way down to the leaf (the caller reverses it).</summary>
    private void CollectPath(int index, int start, int count, List<byte[]> path)
    {
        if (count == 1)
        {
            return;
        }

        var split = LeftCount(count);
        if (index < start + split)
        {
            path.Add(Subtree(start + split, count - split));
            CollectPath(index, start, split, path);
        }
        else
        {
            path.Add(Subtree(start, split));
            CollectPath(index, start + split, count - split, path);
        }
    }

    /// <summary>The largest power of two smaller than <paramref name="count"/> (count ≥ 2).</summary>
    private static int LeftCount(int count)
    {
        var k = 1;
        while (k << 1 < count)
        {
            k <<= 1;
        }

        return k;
    }
}
