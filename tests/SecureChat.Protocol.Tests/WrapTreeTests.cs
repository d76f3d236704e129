using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;

namespace SecureChat.Protocol.Tests;

/// <summary>
/// The Merkle tree over a commit's wraps: RFC 9162's shape with labelled leaf and node hashes, each leaf bound to its index
/// and the tree size, so an audit path proves one wrap at one position of one roster size and nothing else.
/// </summary>
public sealed class WrapTreeTests
{
    private static Wrap WrapOf(int i) => new()
    {
        RecipientId = $"member-{i:D4}",
        RecipientKeyId = (uint)(i + 1),
        EphemeralKey = ByteString.CopyFrom(Enumerable.Range(0, 32).Select(b => (byte)(b + i)).ToArray()),
        SealedSecret = ByteString.CopyFrom(Enumerable.Range(0, 48).Select(b => (byte)(b * 3 + i)).ToArray()),
    };

    private static List<Wrap> Wraps(int count) => [.. Enumerable.Range(0, count).Select(WrapOf)];

    private static List<ReadOnlyMemory<byte>> Path(WrapTree tree, int index) => [.. tree.PathOf(index).Select(p => new ReadOnlyMemory<byte>(p))];

    [Fact]
    public void Three_wraps_hash_as_node_of_the_first_two_then_the_third()
    {
        var wraps = Wraps(3);
        var leaves = wraps.Select((w, i) => WrapTree.LeafHash(w, (uint)i, 3)).ToList();

        var tree = new WrapTree(wraps);

        Assert.Equal(WrapTree.NodeHash(WrapTree.NodeHash(leaves[0], leaves[1]), leaves[2]), tree.Root);
        Assert.Equal([leaves[0], leaves[2]], tree.PathOf(1));
        Assert.Equal([WrapTree.NodeHash(leaves[0], leaves[1])], tree.PathOf(2));
        Assert.Equal(WrapTree.LeafHash(wraps[0], 0, 1), new WrapTree(wraps[..1]).Root);
        Assert.Empty(new WrapTree(wraps[..1]).PathOf(0));
    }

    [Fact]
    public void The_leaf_and_node_hashes_are_labelled_and_bind_index_and_size()
    {
        var wrap = WrapOf(7);
        var expectedLeaf = Hashing.LabeledSha256("SC2/wrap-leaf", [
            0, 0, 0, 2, 0, 0, 0, 5, 0, 11, .. "member-0007"u8, 0, 0, 0, 8,
            0, 0, 0, 32, .. wrap.EphemeralKey.Span, 0, 0, 0, 48, .. wrap.SealedSecret.Span]);

        Assert.Equal(expectedLeaf, WrapTree.LeafHash(wrap, 2, 5));
        Assert.NotEqual(WrapTree.LeafHash(wrap, 2, 5), WrapTree.LeafHash(wrap, 3, 5));
        Assert.NotEqual(WrapTree.LeafHash(wrap, 2, 5), WrapTree.LeafHash(wrap, 2, 6));
        var (left, right) = (new byte[32], Enumerable.Repeat((byte)1, 32).ToArray());
        Assert.Equal(Hashing.LabeledSha256("SC2/wrap-node", [.. left, .. right]), WrapTree.NodeHash(left, right));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(8)]
    [InlineData(13)]
    [InlineData(64)]
    [InlineData(100)]
    public void Every_wraps_path_proves_it_and_nothing_else(int count)
    {
        var wraps = Wraps(count);
        var tree = new WrapTree(wraps);
        for (var i = 0; i < count; i++)
        {
            var path = Path(tree, i);
            Assert.True(WrapTree.Proves(wraps[i], i, count, path, tree.Root));
            Assert.True(path.Count <= Math.Ceiling(Math.Log2(Math.Max(2, count))));

            // Another wrap, another position, another size, another root: refused.
            Assert.False(WrapTree.Proves(wraps[(i + 1) % count], i, count, path, tree.Root) && count > 1);
            Assert.False(WrapTree.Proves(wraps[i], (i + 1) % count, count, path, tree.Root) && count > 1);
            Assert.False(WrapTree.Proves(wraps[i], i, count + 1, path, tree.Root));
            Assert.False(WrapTree.Proves(wraps[i], i, count, path, new byte[32]));
            Assert.False(WrapTree.Proves(wraps[i], i + count, count, path, tree.Root));
        }
    }

    [Fact]
    public void A_path_with_a_changed_missing_extra_or_short_hash_is_refused()
    {
        var wraps = Wraps(11);
        var tree = new WrapTree(wraps);
        var path = Path(tree, 6);
        Assert.True(WrapTree.Proves(wraps[6], 6, 11, path, tree.Root));

        var changed = path.ToList();
        var bytes = changed[1].ToArray();
        bytes[0] ^= 1;
        changed[1] = bytes;
        Assert.False(WrapTree.Proves(wraps[6], 6, 11, changed, tree.Root));
        Assert.False(WrapTree.Proves(wraps[6], 6, 11, path.Take(path.Count - 1).ToList(), tree.Root));
        Assert.False(WrapTree.Proves(wraps[6], 6, 11, [.. path, new byte[32]], tree.Root));
        Assert.False(WrapTree.Proves(wraps[6], 6, 11, [.. path.Take(path.Count - 1), new byte[31]], tree.Root));

        var altered = wraps[6].Clone();
        altered.RecipientKeyId++;
        Assert.False(WrapTree.Proves(altered, 6, 11, path, tree.Root));
        Assert.Throws<ArgumentException>(() => new WrapTree([]));
    }
}
