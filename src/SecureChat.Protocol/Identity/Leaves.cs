using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;

namespace SecureChat.Protocol.Identity;

/// <summary>Signed leaves (label SC2/leave-sig): a member's proof that it left, so that a remove can say LEFT.</summary>
public static class Leaves
{
    /// <summary>A leave of <paramref name="rosterEntry"/> (the leaver's bundle as the roster holds it) at <paramref name="epoch"/>.</summary>
    public static SignedLeave Create(LocalIdentity leaver, string roomId, ulong epoch, SignedBundle rosterEntry, long createdAtMs)
    {
        ArgumentNullException.ThrowIfNull(leaver);
        return Create(leaver.ClientId, leaver.IdentityKey, roomId, epoch, rosterEntry, createdAtMs);
    }

    /// <summary>A leave of <paramref name="leaverId"/>, signed with its identity key <paramref name="signer"/>.</summary>
    public static SignedLeave Create(string leaverId, IdentityKeyPair signer, string roomId, ulong epoch, SignedBundle rosterEntry, long createdAtMs)
    {
        ArgumentNullException.ThrowIfNull(signer);
        ArgumentNullException.ThrowIfNull(rosterEntry);
        ArgumentOutOfRangeException.ThrowIfNegative(createdAtMs);
        var content = new LeaveContent
        {
            RoomId = roomId,
            ClientId = leaverId,
            Epoch = epoch,
            CreatedAtMs = (ulong)createdAtMs,
            BundleHash = ByteString.CopyFrom(Bundles.Hash(rosterEntry)),
        }.ToByteArray();
        return new SignedLeave
        {
            Content = ByteString.CopyFrom(content),
            Signature = ByteString.CopyFrom(signer.Sign(Labels.LeaveSignature, content)),
        };
    }

    /// <summary>Parses a leave's content far enough to find its leaver (nothing in it is trusted before <see cref="Verify"/>).</summary>
    public static LeaveContent? Parse(SignedLeave? leave) =>
        leave is not null && leave.Signature.Length == IdentityKeyPair.SignatureSize
        && WireParsing.TryParse(LeaveContent.Parser, leave.Content.Span, out var content) && content.BundleHash.Length == Hashing.Sha256Size
            ? content
            : null;

    /// <summary>
    /// True when <paramref name="leave"/> proves that <paramref name="member"/> (its entry in the roster before the commit)
    /// left <paramref name="roomId"/>: signed by its identity key, naming it and the very bundle it holds in the roster.
    /// </summary>
    public static bool Verify(SignedLeave? leave, string roomId, RosterMember member)
    {
        ArgumentNullException.ThrowIfNull(member);
        var content = Parse(leave);
        return content is not null
               && string.Equals(content.RoomId, roomId, StringComparison.Ordinal)
               && string.Equals(content.ClientId, member.ClientId, StringComparison.Ordinal)
               && Hashing.FixedTimeEquals(content.BundleHash.Span, Bundles.Hash(member.Bundle))
               && Signatures.Verify(member.IdentityKey, Labels.LeaveSignature, leave!.Content.Span, leave.Signature.Span);
    }
}
