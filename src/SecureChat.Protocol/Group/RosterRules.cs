using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Identity;

namespace SecureChat.Protocol.Group;

/// <summary>What is wrong with the roster, operations or wraps a commit states (PROTOCOL.md §8.4 steps 6 to 8).</summary>
public enum RosterViolation
{
    None,

    /// <summary>kind is not MEMBER, CREATE or EXTERNAL.</summary>
    BadKind,

    /// <summary>The policy is missing or out of range, or a SetPolicy operation does not state the commit's policy.</summary>
    BadPolicy,

    /// <summary>An operation with no known kind set (an operation this version does not know).</summary>
    UnknownOperation,

    /// <summary>Operations not in the order removes (ascending id), adds (ascending id), at most one set_policy.</summary>
    OperationOrder,

    /// <summary>A remove with an invalid id or no reason, or a leave proof on a reason other than LEFT (or none on LEFT).</summary>
    BadRemove,

    EmptyRoster,

    /// <summary>More roster entries than the member limit.</summary>
    TooManyMembers,

    /// <summary>A roster entry that is not a known bundle does not verify, is for another room, or has a low-order membership key.</summary>
    InvalidBundle,

    /// <summary>Roster ids not strictly ascending in ordinal order (unsorted or a duplicate id).</summary>
    NotSorted,

    /// <summary>A roster entry had expired at the commit's created_at_ms (an expired bundle is never used).</summary>
    EntryExpired,

    /// <summary>An added bundle is not byte for byte a roster entry, or is listed twice.</summary>
    AddedNotInRoster,

    /// <summary>A removed id is still in the new roster without being re-added.</summary>
    RemovedStillInRoster,

    /// <summary>A REJOINED remove whose id is not added again by the same commit.</summary>
    RejoinNotReadded,

    /// <summary>A CREATE that is not the creator alone (one add of its own bundle, zero previous transcript hash).</summary>
    CreateShape,

    /// <summary>An EXTERNAL commit that is not one add of the committer (plus LEFT, EXPIRED or its own REJOINED removes), or that changes the policy.</summary>
    ExternalShape,

    /// <summary>A MEMBER commit whose committer is not in the new roster, or is among those it adds.</summary>
    CommitterNotInRoster,

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

    /// <summary>A REJOINED member comes back with another identity key.</summary>
    RejoinOtherIdentity,

    /// <summary>An EXPIRED remove of a bundle that had not expired at created_at_ms.</summary>
    NotExpired,

    /// <summary>A LEFT remove whose leave is not the member's, for this room and its roster entry.</summary>
    InvalidLeave,

    /// <summary>The policy differs from the one in force, without a SetPolicy operation.</summary>
    PolicyChanged,

    /// <summary>An add in an INVITE room without an invite (and not a same-identity rejoin).</summary>
    InviteMissing,

    /// <summary>An invite that does not verify (<see cref="InviteRejection"/>).</summary>
    InviteInvalid,

    /// <summary>An invite id that already admitted someone (in the room, or twice in this commit).</summary>
    InviteUsed,

    /// <summary>A new roster entry is a bundle the room already admitted: a bundle serves one admission.</summary>
    BundleReused,

    /// <summary>An EXTERNAL commit by a member of the old roster that is not its own REJOINED return.</summary>
    ExternalFromMember,
}

/// <summary>An added roster entry and the invite it came with.</summary>
public sealed record AddedMember(RosterMember Member, SignedInvite? Invite);

/// <summary>What a commit says about itself, once <see cref="RosterRules.CheckShape"/> has checked it.</summary>
public sealed class CommitShape
{
    internal CommitShape(CommitKind kind, List<RosterMember> roster, List<AddedMember> added, List<Remove> removes, RoomPolicy policy,
        bool changesPolicy, RosterMember? committer)
    {
        Kind = kind;
        Roster = roster;
        Added = added;
        Removes = removes;
        Policy = policy;
        ChangesPolicy = changesPolicy;
        Committer = committer;
    }

    public CommitKind Kind { get; }

    /// <summary>The new roster, verified, sorted by id.</summary>
    public IReadOnlyList<RosterMember> Roster { get; }

    /// <summary>The add operations, in order, each with its roster entry.</summary>
    public IReadOnlyList<AddedMember> Added { get; }

    /// <summary>The remove operations, in order.</summary>
    public IReadOnlyList<Remove> Removes { get; }

    /// <summary>The policy in force after the commit.</summary>
    public RoomPolicy Policy { get; }

    /// <summary>The commit has a SetPolicy operation.</summary>
    public bool ChangesPolicy { get; }

    /// <summary>The committer's entry in the new roster (for EXTERNAL and CREATE: the entry it adds).</summary>
    public RosterMember? Committer { get; }

    /// <summary>No operation: a rekey (the committer's refresh only).</summary>
    public bool IsRekey => Added.Count == 0 && Removes.Count == 0 && !ChangesPolicy;

    public IEnumerable<string> AddedIds => Added.Select(a => a.Member.ClientId);

    public IEnumerable<string> RemovedIds => Removes.Select(r => r.ClientId);
}

/// <summary>The room as the checker holds it before a commit: roster by id, the policy in force, what was admitted.</summary>
public sealed record CommitBasis(IReadOnlyDictionary<string, RosterMember> Roster, RoomPolicy Policy, AdmissionRecord? Admissions);

/// <summary>
/// The commit rule of PROTOCOL.md §8.4, one implementation for members, joiners and the relay (as openmls's PublicGroup
/// serves both members and the delivery service). It needs no secret: bundles, signed statements, ids and wrap headers only.
/// <see cref="CheckShape"/> is what a commit says about itself (all a joiner can check); <see cref="CheckChange"/>
/// compares it with the room it replaces. Each caller maps a violation to its own answer.
/// </summary>
public static class RosterRules
{
    /// <summary>
    /// Steps 6 and 8: kind and policy well formed; operations in canonical order; roster non-empty, at most
    /// <paramref name="maxMembers"/>, strictly sorted, every entry a valid bundle for the room with a usable membership key
    /// and unexpired at created_at_ms; every add a distinct roster entry; removed ids not left in the roster unless
    /// re-added; the kind's own shape; one well-formed wrap per entry, in roster order.
    /// </summary>
    /// <param name="known">Bundles verified before, by signature: entries byte-identical to one are not verified again.</param>
    public static RosterViolation CheckShape(CommitContent content, int maxMembers, IReadOnlyDictionary<ByteString, RosterMember>? known,
        out CommitShape? shape)
    {
        ArgumentNullException.ThrowIfNull(content);
        shape = null;
        if (content.Kind is not (CommitKind.Member or CommitKind.Create or CommitKind.External))
        {
            return RosterViolation.BadKind;
        }

        if (!RoomPolicies.IsValid(content.Policy))
        {
            return RosterViolation.BadPolicy;
        }

        var violation = SplitOperations(content, out var removes, out var adds, out var changesPolicy);
        if (violation != RosterViolation.None)
        {
            return violation;
        }

        violation = CheckRosterEntries(content, maxMembers, known, out var roster);
        if (violation != RosterViolation.None)
        {
            return violation;
        }

        var added = new List<AddedMember>();
        foreach (var add in adds)
        {
            var entry = roster.Find(m => m.Bundle.Equals(add.Bundle));
            if (entry is null || added.Exists(a => a.Member == entry))
            {
                return RosterViolation.AddedNotInRoster;
            }

            added.Add(new AddedMember(entry, add.Invite));
        }

        foreach (var remove in removes)
        {
            var readded = added.Find(a => a.Member.ClientId == remove.ClientId);
            if (readded is null && roster.Exists(m => m.ClientId == remove.ClientId))
            {
                return RosterViolation.RemovedStillInRoster;
            }

            if (remove.Reason == RemoveReason.Rejoined && readded is null)
            {
                return RosterViolation.RejoinNotReadded;
            }
        }

        var committer = roster.Find(m => m.ClientId == content.CommitterId);
        violation = content.Kind switch
        {
            CommitKind.Create => CheckCreateShape(content, roster, added, removes),
            CommitKind.External => CheckExternalShape(content, added, removes, changesPolicy),
            _ => committer is null || added.Exists(a => a.Member == committer) ? RosterViolation.CommitterNotInRoster : RosterViolation.None,
        };
        if (violation != RosterViolation.None)
        {
            return violation;
        }

        violation = CheckWraps(content, roster);
        if (violation == RosterViolation.None)
        {
            shape = new CommitShape(content.Kind, roster, added, removes, content.Policy, changesPolicy, committer);
        }

        return violation;
    }

    /// <summary>
    /// Step 7, against the room before the commit: removes are members (not a MEMBER committer), each reason's proof holds
    /// (LEFT: the member's own leave; EXPIRED: its bundle expired; REJOINED: the same identity key returns); roster ids =
    /// (old \ removed) ∪ added; every other entry byte-identical to the old one, except a MEMBER committer's own refresh
    /// (same identity key, greater key id); the policy unchanged unless set; in an INVITE room every add that is not a
    /// same-identity rejoin carries a valid, unused invite from a member; no new entry is a bundle the room admitted before;
    /// an EXTERNAL committer is not a member (unless it rejoins itself).
    /// </summary>
    /// <param name="invitesUsed">The invites this commit spends (to record when it is accepted).</param>
    public static RosterViolation CheckChange(CommitContent content, CommitShape shape, CommitBasis basis, out IReadOnlyList<InviteContent> invitesUsed)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(basis);
        invitesUsed = [];
        var oldRoster = basis.Roster;
        var removed = shape.RemovedIds.ToHashSet(StringComparer.Ordinal);
        if (!removed.All(oldRoster.ContainsKey))
        {
            return RosterViolation.RemovedNotMember;
        }

        if (shape.Kind == CommitKind.Member && removed.Contains(content.CommitterId))
        {
            return RosterViolation.RemovesCommitter;
        }

        if (shape.Kind == CommitKind.External && oldRoster.ContainsKey(content.CommitterId) && !removed.Contains(content.CommitterId))
        {
            return RosterViolation.ExternalFromMember;
        }

        var violation = CheckRemoveProofs(content, shape, oldRoster);
        if (violation != RosterViolation.None)
        {
            return violation;
        }

        var addedIds = shape.AddedIds.ToHashSet(StringComparer.Ordinal);
        var expected = oldRoster.Keys.Where(id => !removed.Contains(id)).ToList();
        if (expected.Exists(addedIds.Contains))
        {
            return RosterViolation.AddedAlreadyMember;
        }

        expected.AddRange(addedIds);
        if (expected.Count != shape.Roster.Count || !expected.ToHashSet(StringComparer.Ordinal).SetEquals(shape.Roster.Select(m => m.ClientId)))
        {
            return RosterViolation.NotOldWithOperations;
        }

        foreach (var member in shape.Roster)
        {
            if (addedIds.Contains(member.ClientId))
            {
                continue;
            }

            var old = oldRoster[member.ClientId];
            if (!member.SameBundleAs(old) && !(shape.Kind == CommitKind.Member && IsCommitterRefresh(member, old, content.CommitterId)))
            {
                return RosterViolation.EntryChanged;
            }
        }

        if (!shape.ChangesPolicy && !RoomPolicies.Same(shape.Policy, basis.Policy))
        {
            return RosterViolation.PolicyChanged;
        }

        violation = CheckInvites(content, shape, basis, out invitesUsed);
        if (violation != RosterViolation.None)
        {
            return violation;
        }

        return basis.Admissions is { } admissions && NewEntries(shape, oldRoster).Any(admissions.BundleUsed)
            ? RosterViolation.BundleReused
            : RosterViolation.None;
    }

    /// <summary>The roster entries of a commit that are not byte-identical to the old roster: the added ones and a committer's refresh.</summary>
    public static IEnumerable<RosterMember> NewEntries(CommitShape shape, IReadOnlyDictionary<string, RosterMember> oldRoster)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(oldRoster);
        return shape.Roster.Where(m => !oldRoster.TryGetValue(m.ClientId, out var old) || !m.SameBundleAs(old));
    }

    /// <summary>Whether an add is a same-identity return: its id is removed REJOINED by the same commit (and the identity key is checked to match).</summary>
    public static bool IsRejoin(CommitShape shape, string clientId)
    {
        ArgumentNullException.ThrowIfNull(shape);
        return shape.Removes.Any(r => r.Reason == RemoveReason.Rejoined && r.ClientId == clientId);
    }

    private static RosterViolation SplitOperations(CommitContent content, out List<Remove> removes, out List<SignedBundleAdd> adds, out bool changesPolicy)
    {
        removes = [];
        adds = [];
        changesPolicy = false;
        var stage = 0; // 0 removes, 1 adds, 2 policy
        string? previousAddId = null;
        foreach (var operation in content.Operations)
        {
            switch (operation.OpCase)
            {
                case Operation.OpOneofCase.Remove:
                    var remove = operation.Remove;
                    if (stage > 0 || (removes.Count > 0 && string.CompareOrdinal(removes[^1].ClientId, remove.ClientId) >= 0))
                    {
                        return RosterViolation.OperationOrder;
                    }

                    if (!EnvelopeCodec.IsValidId(remove.ClientId) || !Enum.IsDefined(remove.Reason) || remove.Reason == RemoveReason.Unspecified
                        || (remove.Reason == RemoveReason.Left) != (remove.Leave is not null))
                    {
                        return RosterViolation.BadRemove;
                    }

                    removes.Add(remove);
                    break;
                case Operation.OpOneofCase.Add:
                    if (stage > 1 || operation.Add.Bundle is null)
                    {
                        return operation.Add.Bundle is null ? RosterViolation.AddedNotInRoster : RosterViolation.OperationOrder;
                    }

                    stage = 1;
                    // The order is by the bundle's client id; an unparsable bundle is refused when the roster is checked.
                    var id = WireParsing.TryParse(BundleContent.Parser, operation.Add.Bundle.Content.Span, out var bundle) ? bundle.ClientId : string.Empty;
                    if (previousAddId is not null && string.CompareOrdinal(previousAddId, id) >= 0)
                    {
                        return RosterViolation.OperationOrder;
                    }

                    previousAddId = id;
                    adds.Add(new SignedBundleAdd(operation.Add.Bundle, operation.Add.Invite));
                    break;
                case Operation.OpOneofCase.SetPolicy:
                    if (stage == 2)
                    {
                        return RosterViolation.OperationOrder;
                    }

                    stage = 2;
                    if (!RoomPolicies.Same(operation.SetPolicy.Policy, content.Policy))
                    {
                        return RosterViolation.BadPolicy;
                    }

                    changesPolicy = true;
                    break;
                default:
                    return RosterViolation.UnknownOperation;
            }
        }

        return RosterViolation.None;
    }

    private static RosterViolation CheckRosterEntries(CommitContent content, int maxMembers, IReadOnlyDictionary<ByteString, RosterMember>? known,
        out List<RosterMember> roster)
    {
        roster = [];
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
            if (known is not null && known.TryGetValue(bundle.Signature, out var old) && old.Bundle.Equals(bundle) && old.RoomId == content.RoomId)
            {
                member = old;
            }

            if (member is null && (Bundles.Verify(bundle, content.RoomId, null, out member) != BundleRejection.None
                                   || !Bundles.IsUsableMembershipKey(member!.MembershipKey)))
            {
                return RosterViolation.InvalidBundle;
            }

            if (roster.Count > 0 && string.CompareOrdinal(roster[^1].ClientId, member!.ClientId) >= 0)
            {
                return RosterViolation.NotSorted;
            }

            if (member!.IsExpiredAt(content.CreatedAtMs))
            {
                return RosterViolation.EntryExpired;
            }

            roster.Add(member);
        }

        return RosterViolation.None;
    }

    private static RosterViolation CheckCreateShape(CommitContent content, List<RosterMember> roster, List<AddedMember> added, List<Remove> removes) =>
        roster.Count == 1 && added.Count == 1 && removes.Count == 0 && added[0].Member == roster[0]
        && roster[0].ClientId == content.CommitterId && content.PreviousTranscriptHash.Span.IndexOfAnyExcept((byte)0) < 0
        && content.CommitterSent is null
            ? RosterViolation.None
            : RosterViolation.CreateShape;

    private static RosterViolation CheckExternalShape(CommitContent content, List<AddedMember> added, List<Remove> removes, bool changesPolicy)
    {
        var alone = added.Count == 1 && added[0].Member.ClientId == content.CommitterId && !changesPolicy && content.CommitterSent is null;
        var removesAllowed = removes.TrueForAll(r => r.Reason is RemoveReason.Left or RemoveReason.Expired
            || (r.Reason == RemoveReason.Rejoined && r.ClientId == content.CommitterId));
        return alone && removesAllowed ? RosterViolation.None : RosterViolation.ExternalShape;
    }

    private static RosterViolation CheckRemoveProofs(CommitContent content, CommitShape shape, IReadOnlyDictionary<string, RosterMember> oldRoster)
    {
        foreach (var remove in shape.Removes)
        {
            var old = oldRoster[remove.ClientId];
            switch (remove.Reason)
            {
                case RemoveReason.Left when !Leaves.Verify(remove.Leave, content.RoomId, old):
                    return RosterViolation.InvalidLeave;
                case RemoveReason.Expired when !old.IsExpiredAt(content.CreatedAtMs):
                    return RosterViolation.NotExpired;
                case RemoveReason.Rejoined when !shape.Added.First(a => a.Member.ClientId == remove.ClientId).Member.SameIdentityKeyAs(old):
                    return RosterViolation.RejoinOtherIdentity;
            }
        }

        return RosterViolation.None;
    }

    private static RosterViolation CheckInvites(CommitContent content, CommitShape shape, CommitBasis basis, out IReadOnlyList<InviteContent> invitesUsed)
    {
        var used = new List<InviteContent>();
        invitesUsed = used;
        foreach (var add in shape.Added)
        {
            var id = add.Member.ClientId;
            if (add.Invite is null)
            {
                if (basis.Policy.Admission == Admission.Invite && !IsRejoin(shape, id) && shape.Kind != CommitKind.Create)
                {
                    return RosterViolation.InviteMissing;
                }

                continue;
            }

            var rejection = Invites.Verify(add.Invite, content.RoomId, id, basis.Roster, content.CreatedAtMs, basis.Admissions, out var invite);
            if (rejection == InviteRejection.Used || (invite is not null && used.Exists(u => u.InviteId.Equals(invite.InviteId))))
            {
                return RosterViolation.InviteUsed;
            }

            if (rejection != InviteRejection.None)
            {
                return RosterViolation.InviteInvalid;
            }

            used.Add(invite!);
        }

        return RosterViolation.None;
    }

    private static bool IsCommitterRefresh(RosterMember member, RosterMember old, string committerId) =>
        string.Equals(member.ClientId, committerId, StringComparison.Ordinal) && member.SameIdentityKeyAs(old) && member.KeyId > old.KeyId;

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

    private sealed record SignedBundleAdd(SignedBundle Bundle, SignedInvite? Invite);
}
