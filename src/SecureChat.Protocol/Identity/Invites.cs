using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Infrastructure;

namespace SecureChat.Protocol.Identity;

/// <summary>Why an invite does not admit its invitee (PROTOCOL.md §8.3).</summary>
public enum InviteRejection
{
    None,

    /// <summary>Content does not parse, the invite id is not 16 bytes, or the signature is not 64 bytes.</summary>
    Malformed,

    /// <summary>For another room or another invitee than the add it comes with.</summary>
    WrongTarget,

    /// <summary>The inviter is not in the roster the checker holds before the commit.</summary>
    InviterNotMember,

    BadSignature,

    /// <summary>created_at_ms &gt; expires_at_ms, or a lifetime above <see cref="Invites.MaxLifetimeMs"/>.</summary>
    BadLifetime,

    /// <summary>The commit's time is before the invite was made, or at or after its expiry.</summary>
    NotValidAt,

    /// <summary>This invite id already admitted someone in the room.</summary>
    Used,
}

/// <summary>Signed invites (label SC2/invite-sig): a member names one client id that may be added to an INVITE room.</summary>
public static class Invites
{
    public const int InviteIdSize = 16;

    /// <summary>An invite is valid for at most 30 days.</summary>
    public const long MaxLifetimeMs = 30L * 24 * 3_600_000;

    public static SignedInvite Create(LocalIdentity inviter, string roomId, string inviteeId, long createdAtMs, long lifetimeMs, IRandomSource random)
    {
        ArgumentNullException.ThrowIfNull(inviter);
        return Create(inviter.ClientId, inviter.IdentityKey, roomId, inviteeId, createdAtMs, lifetimeMs, random);
    }

    /// <summary>An invite by <paramref name="inviterId"/>, signed with its identity key <paramref name="signer"/>.</summary>
    public static SignedInvite Create(string inviterId, IdentityKeyPair signer, string roomId, string inviteeId, long createdAtMs, long lifetimeMs,
        IRandomSource random)
    {
        ArgumentNullException.ThrowIfNull(signer);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegative(createdAtMs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(lifetimeMs);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(lifetimeMs, MaxLifetimeMs);
        if (!EnvelopeCodec.IsValidId(inviteeId) || !EnvelopeCodec.IsValidId(roomId))
        {
            throw new ArgumentException("room and invitee must be valid ids");
        }

        var content = new InviteContent
        {
            RoomId = roomId,
            InviteeId = inviteeId,
            InviterId = inviterId,
            InviteId = ByteString.CopyFrom(random.NextBytes(InviteIdSize)),
            CreatedAtMs = (ulong)createdAtMs,
            ExpiresAtMs = (ulong)(createdAtMs + lifetimeMs),
        }.ToByteArray();
        return new SignedInvite
        {
            Content = ByteString.CopyFrom(content),
            Signature = ByteString.CopyFrom(signer.Sign(Labels.InviteSignature, content)),
        };
    }

    /// <summary>Parses an invite's content far enough to find its inviter (nothing in it is trusted before <see cref="Verify"/>).</summary>
    public static InviteContent? Parse(SignedInvite? invite) =>
        invite is not null && invite.Signature.Length == IdentityKeyPair.SignatureSize
        && WireParsing.TryParse(InviteContent.Parser, invite.Content.Span, out var content) && content.InviteId.Length == InviteIdSize
            ? content
            : null;

    /// <summary>
    /// The invite rule of PROTOCOL.md §8.3 for an add of <paramref name="inviteeId"/> at <paramref name="atMs"/> (the commit's
    /// created_at_ms, or the server's clock at JOIN): for this room and invitee, signed by an inviter of
    /// <paramref name="roster"/> (the roster before the commit), created ≤ at &lt; expires, not used before.
    /// </summary>
    public static InviteRejection Verify(SignedInvite? invite, string roomId, string inviteeId, IReadOnlyDictionary<string, RosterMember> roster,
        ulong atMs, AdmissionRecord? admissions, out InviteContent? content)
    {
        ArgumentNullException.ThrowIfNull(roster);
        content = Parse(invite);
        if (content is null)
        {
            return InviteRejection.Malformed;
        }

        if (!string.Equals(content.RoomId, roomId, StringComparison.Ordinal) || !string.Equals(content.InviteeId, inviteeId, StringComparison.Ordinal))
        {
            return InviteRejection.WrongTarget;
        }

        if (!roster.TryGetValue(content.InviterId, out var inviter))
        {
            return InviteRejection.InviterNotMember;
        }

        if (!Signatures.Verify(inviter.IdentityKey, Labels.InviteSignature, invite!.Content.Span, invite.Signature.Span))
        {
            return InviteRejection.BadSignature;
        }

        if (content.CreatedAtMs > content.ExpiresAtMs || content.ExpiresAtMs - content.CreatedAtMs > MaxLifetimeMs)
        {
            return InviteRejection.BadLifetime;
        }

        if (atMs < content.CreatedAtMs || atMs >= content.ExpiresAtMs)
        {
            return InviteRejection.NotValidAt;
        }

        return admissions?.InviteUsed(content.InviteId) == true ? InviteRejection.Used : InviteRejection.None;
    }
}
