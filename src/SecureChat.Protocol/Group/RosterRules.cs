using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Identity;

namespace SecureChat.Protocol.Group;

/// <summary>What is wrong with the roster a commit states (PROTOCOL.md §8.4 steps 5 to 7).</summary>
public enum RosterViolation
{
    None,

    /// <summary>rekey is set, but the commit also adds or removes members.</summary>
    RekeyChangesRoster,

    /// <summary>Neither rekey nor any add or remove.</summary>
    NoOperation,

    EmptyRoster,

    /// <summary>More roster entries than the member limit.</summary>
    TooManyMembers,

    /// <summary>A roster entry that is not a known bundle does not verify (§6).</summary>
    InvalidBundle,

    /// <summary>Roster ids not strictly ascending in ordinal order (unsorted or a duplicate id).</summary>
    NotSorted,

    /// <summary>An added bundle is not byte for byte a roster entry, or is listed twice.</summary>
    AddedNotInRoster,

    /// <summary>An added bundle had expired at the commit's created_at_ms.</summary>
    AddedExpired,

    RemovedTwice,

    /// <summary>A removed id is still in the new roster without being re-added.</summary>
    RemovedStillInRoster,

    /// <summary>Not exactly one wrap per roster entry.</summary>
    WrapCount,

    /// <summary>wraps[i] is not addressed to roster[i].</summary>
    WrapOrder,

    /// <summary>A wrap names another key id than its roster entry's, or its ephemeral key or sealed secret has the wrong size.</summary>
    WrapShape,

    /// <summary>A removed id is not in the old roster.</summary>
    RemovedNotMember,

    RemovesCommitter,

    /// <summary>An added id is already in the old roster and not removed by the same commit.</summary>
    AddedAlreadyMember,

    /// <summary>The roster's ids are not (old \ removed) ∪ added.</summary>
    NotOldWithOperations,

    /// <summary>An entry that is not added differs from the old one, and is not the committer's own refresh (§8.6).</summary>
    EntryChanged,
}

/// <summary>
/// The roster rule of PROTOCOL.md §8.4, one implementation for members, joiners and the relay (as openmls's
/// PublicGroup serves both members and the delivery service). It needs no secret: bundles, ids and wrap headers only.
/// <see cref="CheckShape"/> is what a commit says about itself (all a joiner can check);
/// <see cref="CheckChange"/> compares it with the roster it replaces. Each caller maps a violation to its own answer.
/// </summary>
public static class RosterRules
{
    /// <summary>
    /// Steps 5 and 7: operations consistent with the rekey flag; roster non-empty, at most <paramref name="maxMembers"/>,
    /// strictly sorted, every entry a valid bundle; every added bundle a distinct roster entry, unexpired at
    /// created_at_ms; removed ids unique and not left in the roster; one well-formed wrap per entry, in roster order.
    /// </summary>
    /// <param name="known">Bundles verified before, by signature: entries byte-identical to one are not verified again.</param>
    public static RosterViolation CheckShape(CommitContent content, int maxMembers, IReadOnlyDictionary<ByteString, RosterMember>? known,
        out List<RosterMember> roster, out List<RosterMember> added)
    {
        ArgumentNullException.ThrowIfNull(content);
        roster = [];
        added = [];
        var hasOperations = content.Added.Count > 0 || content.Removed.Count > 0;
        if (content.Rekey == hasOperations)
        {
            return content.Rekey ? RosterViolation.RekeyChangesRoster : RosterViolation.NoOperation;
        }

        if (content.Roster.Count == 0)
        {
            return RosterViolation.EmptyRoster;
        }

        if (content.Roster.Count > maxMembers)
        {
            return RosterViolation.TooManyMembers;
        }

        foreach (var bundle in content.Roster)
        {
            RosterMember? member = null;
            if (known is not null && known.TryGetValue(bundle.Signature, out var old) && old.Bundle.Equals(bundle))
            {
                member = old;
            }

            if (member is null && Bundles.Verify(bundle, null, out member) != BundleRejection.None)
            {
                return RosterViolation.InvalidBundle;
            }

            if (roster.Count > 0 && string.CompareOrdinal(roster[^1].ClientId, member!.ClientId) >= 0)
            {
                return RosterViolation.NotSorted;
            }

            roster.Add(member!);
        }

        foreach (var bundle in content.Added)
        {
            var entry = roster.Find(m => m.Bundle.Equals(bundle));
            if (entry is null || added.Contains(entry))
            {
                return RosterViolation.AddedNotInRoster;
            }

            if (entry.ExpiresAtMs <= content.CreatedAtMs)
            {
                return RosterViolation.AddedExpired;
            }

            added.Add(entry);
        }

        var removed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in content.Removed)
        {
            if (!removed.Add(id))
            {
                return RosterViolation.RemovedTwice;
            }
        }

        foreach (var id in removed)
        {
            if (roster.Exists(m => m.ClientId == id) && !added.Exists(a => a.ClientId == id))
            {
                return RosterViolation.RemovedStillInRoster;
            }
        }

        return CheckWraps(content, roster);
    }

    /// <summary>
    /// Step 6: removed ⊆ old and not the committer; added ids not already members; roster ids = (old \ removed) ∪ added;
    /// every other entry byte-identical to the old one, except that the committer may replace its own by a fresh
    /// bundle with the same identity key, a greater key id, unexpired at created_at_ms (§8.6).
    /// </summary>
    /// <param name="roster">The roster and added entries <see cref="CheckShape"/> returned.</param>
    public static RosterViolation CheckChange(CommitContent content, IReadOnlyList<RosterMember> roster, IReadOnlyList<RosterMember> added,
        IReadOnlyDictionary<string, RosterMember> oldRoster, string committerId)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(roster);
        ArgumentNullException.ThrowIfNull(added);
        ArgumentNullException.ThrowIfNull(oldRoster);
        var removed = content.Removed.ToHashSet(StringComparer.Ordinal);
        if (!removed.All(oldRoster.ContainsKey))
        {
            return RosterViolation.RemovedNotMember;
        }

        if (removed.Contains(committerId))
        {
            return RosterViolation.RemovesCommitter;
        }

        var addedIds = added.Select(m => m.ClientId).ToHashSet(StringComparer.Ordinal);
        var expected = oldRoster.Keys.Where(id => !removed.Contains(id)).ToList();
        if (expected.Exists(addedIds.Contains))
        {
            return RosterViolation.AddedAlreadyMember;
        }

        expected.AddRange(addedIds);
        if (expected.Count != roster.Count || !expected.ToHashSet(StringComparer.Ordinal).SetEquals(roster.Select(m => m.ClientId)))
        {
            return RosterViolation.NotOldWithOperations;
        }

        foreach (var member in roster)
        {
            if (addedIds.Contains(member.ClientId))
            {
                continue;
            }

            var old = oldRoster[member.ClientId];
            if (!member.SameBundleAs(old) && !IsCommitterRefresh(member, old, committerId, content.CreatedAtMs))
            {
                return RosterViolation.EntryChanged;
            }
        }

        return RosterViolation.None;
    }

    /// <summary>The roster entries of a commit that are neither added nor byte-identical to the old roster: a committer's refresh.</summary>
    public static IEnumerable<RosterMember> ChangedEntries(IReadOnlyList<RosterMember> roster, IReadOnlyList<RosterMember> added,
        IReadOnlyDictionary<string, RosterMember> oldRoster)
    {
        ArgumentNullException.ThrowIfNull(roster);
        ArgumentNullException.ThrowIfNull(oldRoster);
        return roster.Where(m => !added.Contains(m) && oldRoster.TryGetValue(m.ClientId, out var old) && !m.SameBundleAs(old));
    }

    private static bool IsCommitterRefresh(RosterMember member, RosterMember old, string committerId, ulong createdAtMs) =>
        string.Equals(member.ClientId, committerId, StringComparison.Ordinal)
        && member.SameIdentityKeyAs(old) && member.KeyId > old.KeyId && member.ExpiresAtMs > createdAtMs;

    private static RosterViolation CheckWraps(CommitContent content, List<RosterMember> roster)
    {
        if (content.Wraps.Count != roster.Count)
        {
            return RosterViolation.WrapCount;
        }

        for (var i = 0; i < roster.Count; i++)
        {
            var wrap = content.Wraps[i];
            if (!string.Equals(wrap.RecipientId, roster[i].ClientId, StringComparison.Ordinal))
            {
                return RosterViolation.WrapOrder;
            }

            if (wrap.RecipientKeyId != roster[i].KeyId || wrap.EphemeralKey.Length != X25519KeyPair.PublicKeySize
                || wrap.SealedSecret.Length != KeySchedule.SecretSize + CipherSuites.TagSize)
            {
                return RosterViolation.WrapShape;
            }
        }

        return RosterViolation.None;
    }
}
