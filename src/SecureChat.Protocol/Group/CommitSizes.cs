using Google.Protobuf;
using SecureChat.Core.Wire;

namespace SecureChat.Protocol.Group;

/// <summary>
/// How large a commit's frame can get (PROTOCOL.md §13), computed from the wire schema with every field at its largest — the
/// longest ids, the largest numbers — so that limits that must agree can be checked before anything runs: a server whose room
/// size needs a larger frame than it allows would ask members for commits no one can send.
/// </summary>
public static class CommitSizes
{
    // A repeated or embedded field's tag: at most 2 bytes for the field numbers the schema uses (< 2048).
    private const int TagBytes = 2;

    private static readonly string LongestId = new('x', WireLimits.MaxIdBytes);

    /// <summary>One roster entry and its wrap: what each member of the new roster adds to a commit.</summary>
    public static int PerMemberBytes { get; } = Entry(LargestBundle()) + Entry(LargestWrap());

    /// <summary>One Add operation with its bundle and invite: what each member a commit admits adds on top.</summary>
    public static int PerAddBytes { get; } = Entry(new Operation { Add = new Add { Bundle = LargestBundle(), Invite = LargestInvite() } });

    /// <summary>
    /// Everything of a COMMIT frame that does not grow with the roster: the envelope with the longest ids and the suite, the
    /// signature and confirmation tag, the content's fixed fields, and the committer's refreshed entry counted once more, with a
    /// largest length prefix for each nesting.
    /// </summary>
    public static int FixedBytes { get; } = LargestFixedBytes();

    /// <summary>
    /// The largest COMMIT frame body (the envelope the relay sends) of a commit whose new roster has <paramref name="members"/>
    /// entries, <paramref name="adds"/> of them admitted by it.
    /// </summary>
    public static long LargestCommitFrame(int members, int adds = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(members);
        ArgumentOutOfRangeException.ThrowIfNegative(adds);
        return FixedBytes + ((long)members * PerMemberBytes) + ((long)adds * PerAddBytes);
    }

    /// <summary>The largest room whose commit admitting its last member fits <paramref name="maxFrameBytes"/> (0: not even one member).</summary>
    public static int MembersFitting(int maxFrameBytes)
    {
        var room = maxFrameBytes - FixedBytes - PerAddBytes;
        return room < PerMemberBytes ? 0 : (int)Math.Min(int.MaxValue, room / PerMemberBytes);
    }

    private static int Entry(IMessage message) => TagBytes + CodedOutputStream.ComputeMessageSize(message);

    private static ByteString Bytes(int length) => ByteString.CopyFrom(new byte[length]);

    private static SignedBundle LargestBundle() => new()
    {
        Content = new BundleContent
        {
            ClientId = LongestId, IdentityKey = Bytes(32), MembershipKey = Bytes(32), KeyId = uint.MaxValue, CreatedAtMs = ulong.MaxValue,
            ExpiresAtMs = ulong.MaxValue, RoomId = LongestId,
        }.ToByteString(),
        Signature = Bytes(64),
    };

    private static Wrap LargestWrap() => new() { RecipientId = LongestId, RecipientKeyId = uint.MaxValue, EphemeralKey = Bytes(32), SealedSecret = Bytes(48) };

    private static SignedInvite LargestInvite() => new()
    {
        Content = new InviteContent
        {
            RoomId = LongestId, InviteeId = LongestId, InviterId = LongestId, InviteId = Bytes(16), CreatedAtMs = ulong.MaxValue, ExpiresAtMs = ulong.MaxValue,
        }.ToByteString(),
        Signature = Bytes(64),
    };

    private static int LargestFixedBytes()
    {
        var content = new CommitContent
        {
            RoomId = LongestId, Epoch = ulong.MaxValue, PreviousTranscriptHash = Bytes(32), CommitterId = LongestId, Kind = CommitKind.External,
            Suite = CipherSuite.Chacha20Poly1305X25519Ed25519Sha256,
            Policy = new RoomPolicy { Admission = Admission.Invite, AbsenceLimitMs = ulong.MaxValue },
            CreatedAtMs = ulong.MaxValue, CommitterSent = new EpochCount { Epoch = ulong.MaxValue, Count = ulong.MaxValue },
        };
        var envelope = new Envelope
        {
            Version = uint.MaxValue, Type = MessageType.Commit, SenderId = LongestId, RoomId = LongestId, Epoch = ulong.MaxValue,
            CipherSuite = CipherSuite.Chacha20Poly1305X25519Ed25519Sha256,
        };

        // The content sits inside the SignedCommit and the SignedCommit inside the envelope: each nesting adds its tag and a length
        // prefix of at most 5 bytes. Besides the signature (64) and the confirmation tag (32): the committer's refreshed entry
        // once more, and two 32-byte digests (commitments to the roster and the wraps, PROTOCOL.md §8.7).
        const int nesting = 2 * (TagBytes + 5);
        return envelope.CalculateSize() + content.CalculateSize() + nesting + (TagBytes + 64) + (TagBytes + 32)
               + Entry(LargestBundle()) + (2 * (TagBytes + 32));
    }
}
