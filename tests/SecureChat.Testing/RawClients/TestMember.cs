using System.Security.Cryptography;
using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Protocol.Relay;

namespace SecureChat.Testing.RawClients;

/// <summary>
/// A chat member as far as the server can tell: an identity key, a membership key, a signed bundle for one room, and
/// commits built by hand (wraps and the confirmation tag are random bytes: the server cannot and does not open them).
/// </summary>
public sealed class TestMember : IDisposable
{
    private const int PaddingField = 1000; // unknown to CommitContent

    private readonly Dictionary<string, SignedBundle> _bundles = new(StringComparer.Ordinal);

    /// <param name="room">The room <see cref="Bundle"/> is for (a bundle names the one room it may be used in).</param>
    public TestMember(string id, DateTimeOffset? expires = null, string room = "lobby")
    {
        Id = id;
        Room = room;
        Identity = IdentityKeyPair.Generate();
        Membership = X25519KeyPair.Generate();
        Bundle = MakeBundle(id, expires ?? DateTimeOffset.UtcNow.AddDays(1));
    }

    public string Id { get; }

    /// <summary>The room this member's bundles are made for unless told otherwise.</summary>
    public string Room { get; }

    public IdentityKeyPair Identity { get; }

    public X25519KeyPair Membership { get; }

    public SignedBundle Bundle { get; }

    public SignedBundle MakeBundle(string clientId, DateTimeOffset expires, DateTimeOffset? created = null, uint keyId = 1, byte[]? membershipKey = null,
        string? room = null)
    {
        var content = new BundleContent
        {
            ClientId = clientId,
            IdentityKey = ByteString.CopyFrom(Identity.PublicKey),
            MembershipKey = ByteString.CopyFrom(membershipKey ?? Membership.PublicKey),
            KeyId = keyId,
            CreatedAtMs = (ulong)(created ?? expires.AddDays(-1)).ToUnixTimeMilliseconds(),
            ExpiresAtMs = (ulong)expires.ToUnixTimeMilliseconds(),
            RoomId = room ?? Room,
        }.ToByteString();
        return new SignedBundle { Content = content, Signature = ByteString.CopyFrom(Identity.Sign(Labels.BundleSignature, content.Span)) };
    }

    /// <summary>This member's bundle for another room (same keys; the same bundle every time it is asked for that room).</summary>
    public SignedBundle BundleFor(string room)
    {
        if (room == Room)
        {
            return Bundle;
        }

        if (!_bundles.TryGetValue(room, out var bundle))
        {
            bundle = MakeBundle(Id, DateTimeOffset.UtcNow.AddDays(1), room: room);
            _bundles[room] = bundle;
        }

        return bundle;
    }

    /// <summary>A committer's key refresh (PROTOCOL.md §8.6): same identity key, a fresh membership key, a greater key id.</summary>
    public SignedBundle RefreshedBundle(uint keyId = 2)
    {
        using var fresh = X25519KeyPair.Generate();
        return MakeBundle(Id, DateTimeOffset.UtcNow.AddDays(1), keyId: keyId, membershipKey: fresh.PublicKey);
    }

    /// <summary>The commit that creates a room: this member alone (its bundle for that room).</summary>
    public SignedCommit CreateRoom(string roomId, ulong epoch = 1, CipherSuite suite = CipherSuite.Aes256GcmX25519Ed25519Sha256, RoomPolicy? policy = null)
    {
        var bundle = BundleFor(roomId);
        return Commit(roomId, epoch, [bundle], added: [bundle], suite: suite, kind: CommitKind.Create, policy: policy);
    }

    /// <summary>
    /// A commit by hand, continuing <paramref name="previous"/> (the room's transcript hash; 32 zero bytes, as a creation, by
    /// default): operations are removes (reason REMOVED unless <paramref name="removes"/> says otherwise) then adds, each
    /// sorted by id; <paramref name="rekey"/> is kept for readability (no operation is a rekey).
    /// </summary>
    public SignedCommit Commit(
        string roomId,
        ulong epoch,
        IEnumerable<SignedBundle> roster,
        IEnumerable<SignedBundle>? added = null,
        IEnumerable<string>? removed = null,
        bool rekey = false,
        CipherSuite suite = CipherSuite.Aes256GcmX25519Ed25519Sha256,
        bool sortRoster = true,
        string? committerId = null,
        ByteString? previous = null,
        CommitKind kind = CommitKind.Member,
        RoomPolicy? policy = null,
        IEnumerable<Remove>? removes = null,
        IEnumerable<Add>? adds = null)
    {
        _ = rekey;
        var members = roster.ToList();
        if (sortRoster)
        {
            members = [.. members.OrderBy(ClientIdOf, StringComparer.Ordinal)];
        }

        var content = new CommitContent
        {
            RoomId = roomId,
            Epoch = epoch,
            PreviousTranscriptHash = previous ?? ByteString.CopyFrom(new byte[32]),
            CommitterId = committerId ?? Id,
            Kind = kind,
            Suite = suite,
            Policy = policy ?? RoomPolicies.Default,
            CreatedAtMs = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        };
        var allRemoves = (removes ?? []).Concat((removed ?? []).Select(id => new Remove { ClientId = id, Reason = RemoveReason.Removed }));
        content.Operations.AddRange(allRemoves.OrderBy(r => r.ClientId, StringComparer.Ordinal).Select(r => new Operation { Remove = r }));
        var allAdds = adds?.Select(a => a.Clone()) ?? (added ?? []).Select(b => new Add { Bundle = b });
        content.Operations.AddRange(allAdds.OrderBy(a => ClientIdOf(a.Bundle), StringComparer.Ordinal).Select(a => new Operation { Add = a }));
        content.Roster.AddRange(members);
        content.Wraps.AddRange(members.Select(m => new Wrap
        {
            RecipientId = ClientIdOf(m),
            RecipientKeyId = BundleContent.Parser.ParseFrom(m.Content).KeyId,
            EphemeralKey = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(32)),
            SealedSecret = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(48)),
        }));
        return Sign(content.ToByteString());
    }

    /// <summary>
    /// <paramref name="commit"/> with <paramref name="bytes"/> bytes of an unknown field appended to its content, signed again:
    /// a commit of a chosen size that the relay's checks otherwise accept (members would refuse the unknown field).
    /// </summary>
    public SignedCommit Padded(SignedCommit commit, int bytes)
    {
        ArgumentNullException.ThrowIfNull(commit);
        using var content = new MemoryStream();
        commit.Content.WriteTo(content);
        using (var writer = new CodedOutputStream(content, leaveOpen: true))
        {
            writer.WriteTag(PaddingField, WireFormat.WireType.LengthDelimited);
            writer.WriteBytes(ByteString.CopyFrom(new byte[bytes]));
        }

        return Sign(ByteString.CopyFrom(content.ToArray()));
    }

    /// <summary><paramref name="commit"/> padded (<see cref="Padded"/>) so that the COMMIT envelope the room relays is <paramref name="relayedBytes"/> long.</summary>
    public SignedCommit PaddedToRelayedSize(SignedCommit commit, string roomId, int relayedBytes)
    {
        var padding = relayedBytes - RelayedSize(commit, roomId);
        for (var attempt = 0; attempt < 8; attempt++)
        {
            var padded = Padded(commit, Math.Max(0, padding));
            var size = RelayedSize(padded, roomId);
            if (size == relayedBytes)
            {
                return padded;
            }

            padding += relayedBytes - size;
        }

        throw new InvalidOperationException($"no padding makes the relayed commit {relayedBytes} bytes");
    }

    public SignedCommit Sign(ByteString content) => new()
    {
        Content = content,
        Signature = ByteString.CopyFrom(Identity.Sign(Labels.CommitSignature, content.Span)),
        ConfirmationTag = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(32)),
    };

    private static int RelayedSize(SignedCommit commit, string roomId) =>
        RelayRules.RelayedCommit(roomId, CommitContent.Parser.ParseFrom(commit.Content), commit).Length;

    /// <summary>This member's signed leave of <paramref name="rosterEntry"/> (its bundle by default).</summary>
    public SignedLeave Leave(string roomId, ulong epoch, SignedBundle? rosterEntry = null) =>
        Leaves.Create(Id, Identity, roomId, epoch, rosterEntry ?? Bundle, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    /// <summary>This member's invite of <paramref name="inviteeId"/>, valid from <paramref name="createdAtMs"/> for <paramref name="lifetimeMs"/>.</summary>
    public SignedInvite Invite(string roomId, string inviteeId, long createdAtMs, long lifetimeMs = Invites.MaxLifetimeMs) =>
        Invites.Create(Id, Identity, roomId, inviteeId, createdAtMs, lifetimeMs, SystemRandomSource.Instance);

    public static string ClientIdOf(SignedBundle bundle) => BundleContent.Parser.ParseFrom(bundle.Content).ClientId;

    /// <summary>TH of the epoch a commit leads to (content and tag are public): the next commit's previous transcript hash.</summary>
    public static ByteString TranscriptHashOf(SignedCommit commit)
    {
        ArgumentNullException.ThrowIfNull(commit);
        return RelayRules.TranscriptHashAfter(CommitContent.Parser.ParseFrom(commit.Content), commit);
    }

    public void Dispose()
    {
        Identity.Dispose();
        Membership.Dispose();
    }
}
