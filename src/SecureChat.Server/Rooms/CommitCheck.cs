using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;

namespace SecureChat.Server.Rooms;

/// <summary>What the room knows when a commit arrives: public keys and roster ids only.</summary>
public sealed record RoomView(
    string RoomId,
    ulong CurrentEpoch,
    CipherSuite Suite,
    IReadOnlyDictionary<string, VerifiedBundle> Roster,
    IReadOnlyDictionary<string, VerifiedBundle> PendingAdds,
    IReadOnlySet<string> PendingRemoves,
    int MaxMembers)
{
    /// <summary>Bundles the open COMMIT_REQUEST asked to add; a committer may still add them if their joiner left meanwhile.</summary>
    public IReadOnlyList<VerifiedBundle> RequestedAdds { get; init; } = [];
}

/// <summary>An accepted commit: the new epoch and roster (sorted by id), what it added and removed.</summary>
public sealed record AcceptedCommit(
    ulong Epoch,
    CipherSuite Suite,
    IReadOnlyList<VerifiedBundle> Roster,
    IReadOnlyList<string> Added,
    IReadOnlyList<string> Removed,
    bool Rekey);

/// <summary>
/// The server's checks of a commit (team brief, step 3). Pure and synchronous: it verifies signatures
/// over public keys and compares ids and bytes; it never sees a secret. A commit from a room with an
/// empty roster is a room creation and must be made by a waiting joiner for itself alone.
/// The server also refuses to let a committer add anyone who did not ask to join with that very bundle,
/// or remove anyone who did not leave: those are the server's own records, not the committer's word.
/// </summary>
public static class CommitCheck
{
    public const int TranscriptHashSize = 32;

    public static bool TryAccept(RoomView room, string senderId, ByteString content, ByteString signature, out AcceptedCommit accepted, out string reason)
    {
        ArgumentNullException.ThrowIfNull(room);
        accepted = null!;
        reason = Check(room, senderId, content, signature, out var result) ?? string.Empty;
        if (result is null)
        {
            return false;
        }

        accepted = result;
        return true;
    }

    private static string? Check(RoomView room, string senderId, ByteString contentBytes, ByteString signature, out AcceptedCommit? accepted)
    {
        accepted = null;
        if (!WireParsing.TryParse(CommitContent.Parser, contentBytes.Span, out var content))
        {
            return "commit content does not parse";
        }

        if (!string.Equals(content.RoomId, room.RoomId, StringComparison.Ordinal))
        {
            return "commit is for another room";
        }

        if (content.Epoch <= room.CurrentEpoch)
        {
            return $"epoch {content.Epoch} is already committed";
        }

        if (content.Epoch != room.CurrentEpoch + 1)
        {
            return $"epoch {content.Epoch} is not the next epoch {room.CurrentEpoch + 1}";
        }

        if (!string.Equals(content.CommitterId, senderId, StringComparison.Ordinal))
        {
            return "committer id differs from the sender";
        }

        if (content.PreviousTranscriptHash.Length != TranscriptHashSize)
        {
            return "previous transcript hash has the wrong length";
        }

        if (content.Suite == CipherSuite.Unspecified || !Enum.IsDefined(content.Suite))
        {
            return "unknown cipher suite";
        }

        var creating = room.Roster.Count == 0;
        if (!creating && content.Suite != room.Suite)
        {
            return "cipher suite differs from the room's";
        }

        var committerKey = creating ? CreatorKey(room, senderId, content, out var creatorError) : RosterKey(room, senderId, out creatorError);
        if (committerKey is null)
        {
            return creatorError;
        }

        if (!Signatures.Verify(committerKey.Span, Labels.CommitSignature, contentBytes.Span, signature.Span))
        {
            return "commit signature does not verify with the committer's identity key";
        }

        return CheckOperations(room, content, creating, out accepted);
    }

    private static ByteString? RosterKey(RoomView room, string senderId, out string error)
    {
        error = "committer is not in the room's roster";
        return room.Roster.TryGetValue(senderId, out var bundle) && !room.PendingRemoves.Contains(senderId) ? bundle.IdentityKey : null;
    }

    private static ByteString? CreatorKey(RoomView room, string senderId, CommitContent content, out string error)
    {
        error = "only a waiting joiner can create the room, and only with itself as its roster";
        if (!room.PendingAdds.TryGetValue(senderId, out var own))
        {
            return null;
        }

        var onlySelf = content.Roster.Count == 1 && content.Added.Count == 1 && content.Removed.Count == 0 &&
                       own.SameBytesAs(content.Roster[0]) && own.SameBytesAs(content.Added[0]);
        return onlySelf ? own.IdentityKey : null;
    }

    private static string? CheckOperations(RoomView room, CommitContent content, bool creating, out AcceptedCommit? accepted)
    {
        accepted = null;
        if (content.Rekey && (content.Added.Count > 0 || content.Removed.Count > 0))
        {
            return "a rekey commit must not change the roster";
        }

        if (!content.Rekey && content.Added.Count == 0 && content.Removed.Count == 0)
        {
            return "commit has no operation";
        }

        var removed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in content.Removed)
        {
            if (!removed.Add(id))
            {
                return "a member is removed twice";
            }

            if (!room.Roster.ContainsKey(id) || !room.PendingRemoves.Contains(id))
            {
                return "commit removes a member that has not left";
            }
        }

        var expected = new Dictionary<string, VerifiedBundle>(StringComparer.Ordinal);
        foreach (var (id, bundle) in room.Roster)
        {
            if (!removed.Contains(id))
            {
                expected[id] = bundle;
            }
        }

        var added = new List<string>(content.Added.Count);
        foreach (var signed in content.Added)
        {
            var joined = JoinedBundle(room, signed);
            if (joined is null)
            {
                return "commit adds a bundle nobody joined with";
            }

            if (!expected.TryAdd(joined.ClientId, joined))
            {
                return "commit adds a member that is already in the roster";
            }

            added.Add(joined.ClientId);
        }

        if (content.Roster.Count > room.MaxMembers)
        {
            return $"roster exceeds {room.MaxMembers} members";
        }

        if (content.Roster.Count != expected.Count)
        {
            return "roster is not the old roster with the operations applied";
        }

        var roster = new List<VerifiedBundle>(content.Roster.Count);
        string? previous = null;
        foreach (var signed in content.Roster)
        {
            if (!WireParsing.TryParse(BundleContent.Parser, signed.Content.Span, out var entry))
            {
                return "roster entry does not parse";
            }

            if (previous is not null && string.CompareOrdinal(previous, entry.ClientId) >= 0)
            {
                return "roster is not sorted by client id without duplicates";
            }

            previous = entry.ClientId;
            if (!expected.TryGetValue(entry.ClientId, out var known))
            {
                return "roster is not the old roster with the operations applied";
            }

            if (known.SameBytesAs(signed))
            {
                roster.Add(known);
            }
            else if (!creating && entry.ClientId == content.CommitterId && !added.Contains(entry.ClientId) &&
                     IsCommitterUpdate(known, signed, content.CreatedAtMs, out var refreshed))
            {
                roster.Add(refreshed);
            }
            else
            {
                return "roster holds a bundle other than the member's known one";
            }
        }

        if (content.Wraps.Count != roster.Count)
        {
            return "commit needs one wrap per roster member";
        }

        for (var i = 0; i < roster.Count; i++)
        {
            if (!string.Equals(content.Wraps[i].RecipientId, roster[i].ClientId, StringComparison.Ordinal))
            {
                return "wraps are not in roster order";
            }
        }

        if (creating && roster.Count != 1)
        {
            return "a room creation has exactly the creator in its roster";
        }

        accepted = new AcceptedCommit(content.Epoch, content.Suite, roster, added, [.. content.Removed], content.Rekey);
        return null;
    }

    /// <summary>
    /// The bundle an added entry stands for, if it is byte-for-byte one a client joined with: still waiting,
    /// or named in the open request (its joiner may have left since; the room then removes it again).
    /// </summary>
    private static VerifiedBundle? JoinedBundle(RoomView room, SignedBundle signed) =>
        room.PendingAdds.Values.FirstOrDefault(b => b.SameBytesAs(signed)) ?? room.RequestedAdds.FirstOrDefault(b => b.SameBytesAs(signed));

    /// <summary>
    /// PROTOCOL.md §8.6: a committer replaces its own entry by a fresh bundle with the same identity key and
    /// a greater key id, valid and unexpired at the commit's creation time.
    /// </summary>
    private static bool IsCommitterUpdate(VerifiedBundle known, SignedBundle signed, ulong commitCreatedAtMs, out VerifiedBundle refreshed)
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Min(commitCreatedAtMs, (ulong)DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()));
        return BundleCheck.TryVerify(signed, known.ClientId, at, out refreshed, out _) &&
               refreshed.IdentityKey.Span.SequenceEqual(known.IdentityKey.Span) &&
               refreshed.KeyId > known.KeyId;
    }

    /// <summary>The epoch a commit names, for the COMMIT_REJECTED answer; 0 when it does not parse.</summary>
    public static ulong EpochOf(ByteString content) =>
        WireParsing.TryParse(CommitContent.Parser, content.Span, out var parsed) ? parsed.Epoch : 0;
}
