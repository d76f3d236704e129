using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;

namespace SecureChat.Protocol.Group;

/// <summary>Why the relay refuses a COMMIT (answer: ERROR COMMIT_REJECTED with envelope.epoch = the commit's epoch).</summary>
public enum RelayCommitRejection
{
    None,
    Malformed,
    WrongRoom,

    /// <summary>content.epoch is not current + 1 (also: another commit already won this epoch).</summary>
    WrongEpoch,

    /// <summary>committer_id differs from the envelope's authenticated sender.</summary>
    CommitterNotSender,

    /// <summary>The sender is not in the current roster (nor the creating joiner of an empty room).</summary>
    NotAMember,

    BadSignature,

    /// <summary>Roster empty, not strictly sorted by id, an entry unparsable, or above the member limit.</summary>
    BadRoster,
}

/// <summary>The commit a relay accepted: what it needs to update its room state. No keys involved.</summary>
public sealed record RelayCommit(CommitContent Content, IReadOnlyList<string> RosterIds, IReadOnlyList<string> AddedIds);

/// <summary>
/// The server-side commit checks of PROTOCOL.md §4 step 3, as a pure function so the RoomActor and test relays
/// apply exactly the same rules. The relay checks only what it can (signature, epoch, membership, roster shape);
/// members check everything else (§8.4).
/// </summary>
public static class RelayChecks
{
    /// <param name="commit">The SignedCommit from the COMMIT envelope.</param>
    /// <param name="roomId">The room the envelope was sent to.</param>
    /// <param name="senderId">The envelope's sender (already checked against the certificate).</param>
    /// <param name="currentEpoch">The room's current epoch (0 for a brand-new room).</param>
    /// <param name="currentRoster">The room's current roster bundles (empty when the room is empty or was reset).</param>
    /// <param name="creatorId">For an empty room: the joiner asked to create it; otherwise ignored.</param>
    /// <param name="maxMembers">The server's roster limit.</param>
    public static RelayCommitRejection CheckCommit(SignedCommit commit, string roomId, string senderId, ulong currentEpoch,
        IReadOnlyList<SignedBundle> currentRoster, string? creatorId, int maxMembers, out RelayCommit? accepted)
    {
        ArgumentNullException.ThrowIfNull(commit);
        ArgumentNullException.ThrowIfNull(currentRoster);
        accepted = null;
        if (!WireParsing.TryParse(CommitContent.Parser, commit.Content.Span, out var content)
            || !TryParseAll(content.Roster, out var roster) || !TryParseAll(content.Added, out var added)
            || !TryParseAll(currentRoster, out var current))
        {
            return RelayCommitRejection.Malformed;
        }

        if (commit.Signature.Length != IdentityKeyPair.SignatureSize)
        {
            return RelayCommitRejection.Malformed;
        }

        if (!string.Equals(content.RoomId, roomId, StringComparison.Ordinal))
        {
            return RelayCommitRejection.WrongRoom;
        }

        if (currentEpoch == ulong.MaxValue || content.Epoch != currentEpoch + 1)
        {
            return RelayCommitRejection.WrongEpoch;
        }

        if (!string.Equals(content.CommitterId, senderId, StringComparison.Ordinal))
        {
            return RelayCommitRejection.CommitterNotSender;
        }

        var creating = currentRoster.Count == 0;
        var signer = creating
            ? (string.Equals(creatorId, senderId, StringComparison.Ordinal) ? roster.Find(b => b.ClientId == senderId) : null)
            : current.Find(b => b.ClientId == senderId);
        if (signer is null)
        {
            return RelayCommitRejection.NotAMember;
        }

        if (!Signatures.Verify(signer.IdentityKey.Span, Labels.CommitSignature, commit.Content.Span, commit.Signature.Span))
        {
            return RelayCommitRejection.BadSignature;
        }

        var ids = roster.Select(b => b.ClientId).ToList();
        if (ids.Count == 0 || ids.Count > maxMembers || !ids.All(EnvelopeCodec.IsValidId)
            || ids.Zip(ids.Skip(1)).Any(pair => string.CompareOrdinal(pair.First, pair.Second) >= 0))
        {
            return RelayCommitRejection.BadRoster;
        }

        var addedIds = added.Select(b => b.ClientId).ToList();
        accepted = new RelayCommit(content, ids, addedIds);
        return RelayCommitRejection.None;
    }

    private static bool TryParseAll(IEnumerable<SignedBundle> bundles, out List<BundleContent> contents)
    {
        contents = [];
        foreach (var bundle in bundles)
        {
            if (bundle is null || !WireParsing.TryParse(BundleContent.Parser, bundle.Content.Span, out var content))
            {
                return false;
            }

            contents.Add(content);
        }

        return true;
    }
}
