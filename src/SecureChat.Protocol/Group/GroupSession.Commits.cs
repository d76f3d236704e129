using System.Security.Cryptography;
using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;

namespace SecureChat.Protocol.Group;

public sealed partial class GroupSession
{
    /// <summary>
    /// Builds the commit the relay asked for (COMMIT_REQUEST). A joining session whose request adds its own join bundle
    /// creates the room. The commit takes effect only when the relay echoes it back. An honest committer adds and removes
    /// only what it can check (PROTOCOL.md §8.2); whatever it leaves out is reported in <see cref="CommitCreated.SkippedAdds"/>
    /// and <see cref="CommitCreated.SkippedRemoves"/>.
    /// </summary>
    public CommitCreation CreateCommit(CommitRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_pending is { } pending)
        {
            return pending.Epoch == request.NewEpoch
                ? new CommitCreated(pending.Commit, pending.Epoch, [], [], Repeated: true)
                : new CommitNotCreated(CommitRefusal.PendingCommitExists);
        }

        return Status switch
        {
            GroupStatus.Joining => CreateRoom(request),
            GroupStatus.Active => BuildRequestedCommit(request),
            _ => new CommitNotCreated(CommitRefusal.NotAMember),
        };
    }

    /// <summary>
    /// The member commit a request asks for. When the joiners it names do not all fit one commit (the roster limit, or the
    /// frame), the first of them in the relay's order are admitted, halving until the commit fits: the relay asks again for the
    /// rest once this commit is accepted (PROTOCOL.md §4.3). Refused only when not even one fits.
    /// </summary>
    private CommitCreation BuildRequestedCommit(CommitRequest request)
    {
        var adds = request.Adds.ToList();
        var creation = BuildMemberCommit(request.NewEpoch, adds, request.Removes, setPolicy: null, rekey: false, asked: true);
        while (creation is CommitNotCreated { Reason: CommitRefusal.RosterFull or CommitRefusal.CommitTooLarge } && adds.Count > 1)
        {
            adds = adds[..(adds.Count / 2)];
            creation = BuildMemberCommit(request.NewEpoch, adds, request.Removes, setPolicy: null, rekey: false, asked: true);
        }

        return creation;
    }

    /// <summary>A commit with a fresh epoch secret and no roster change (post-compromise healing; refreshes our own entry).</summary>
    public CommitCreation CreateRekeyCommit()
    {
        if (RefuseUnasked() is { } refused)
        {
            return refused;
        }

        if (_pending is { } pending)
        {
            return pending.Epoch == Epoch + 1
                ? new CommitCreated(pending.Commit, pending.Epoch, [], [], Repeated: true)
                : new CommitNotCreated(CommitRefusal.PendingCommitExists);
        }

        return BuildMemberCommit(Epoch + 1, [], [], setPolicy: null, rekey: true);
    }

    /// <summary>
    /// Removes other members, unasked (reason REMOVED: any member may remove any other, and the relay cannot veto it).
    /// Ids that are not members, or ourselves, are left out (<see cref="CommitCreated.SkippedRemoves"/>).
    /// </summary>
    public CommitCreation CreateRemoveCommit(IEnumerable<string> clientIds)
    {
        ArgumentNullException.ThrowIfNull(clientIds);
        if (RefuseUnasked() is { } refused)
        {
            return refused;
        }

        var removes = clientIds.Select(id => new Remove { ClientId = id, Reason = RemoveReason.Removed }).ToList();
        return _pending is not null ? new CommitNotCreated(CommitRefusal.PendingCommitExists)
            : BuildMemberCommit(Epoch + 1, [], removes, setPolicy: null, rekey: false);
    }

    /// <summary>Changes the room's policy (a SetPolicy operation); an invalid policy is <see cref="CommitRefusal.NotAllowed"/>.</summary>
    public CommitCreation CreatePolicyCommit(RoomPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (RefuseUnasked() is { } refused)
        {
            return refused;
        }

        if (!RoomPolicies.IsValid(policy) || RoomPolicies.Same(policy, _current!.Policy))
        {
            return new CommitNotCreated(RoomPolicies.IsValid(policy) ? CommitRefusal.NothingToCommit : CommitRefusal.NotAllowed);
        }

        return _pending is not null ? new CommitNotCreated(CommitRefusal.PendingCommitExists)
            : BuildMemberCommit(Epoch + 1, [], [], setPolicy: policy, rekey: false);
    }

    /// <summary>
    /// Forgets our pending commit for <paramref name="epoch"/> (the relay answered COMMIT_REJECTED for it).
    /// A pending commit for another epoch is kept. Returns whether one was dropped.
    /// </summary>
    public bool AbandonPendingCommit(ulong epoch)
    {
        if (_pending is null || _pending.Epoch != epoch)
        {
            return false;
        }

        DiscardPending();
        return true;
    }

    private CommitNotCreated? RefuseUnasked()
    {
        if (Status != GroupStatus.Active)
        {
            return new CommitNotCreated(Status == GroupStatus.Joining ? CommitRefusal.EpochMismatch : CommitRefusal.NotAMember);
        }

        return _pending is { } pending && pending.Epoch != Epoch + 1 ? new CommitNotCreated(CommitRefusal.PendingCommitExists) : null;
    }

    private CommitCreation CreateRoom(CommitRequest request)
    {
        if (request.NewEpoch == 0)
        {
            return new CommitNotCreated(CommitRefusal.EpochMismatch);
        }

        if (!request.Adds.Any(a => JoinBundle.Equals(a.Bundle)))
        {
            return new CommitNotCreated(CommitRefusal.NotCreator);
        }

        var suite = request.Suite == CipherSuite.Unspecified ? CipherSuites.Preferred : request.Suite;
        if (!CipherSuites.IsSupported(suite))
        {
            return new CommitNotCreated(CommitRefusal.UnsupportedSuite);
        }

        // The creator's own choice, never the relay's: the server could otherwise open an invite-only room.
        var policy = RoomPolicies.IsValid(Options.CreatePolicy) ? Options.CreatePolicy.Clone() : RoomPolicies.Default;
        var creator = RosterMemberOf(JoinBundle);
        var plan = new CommitPlan(CommitKind.Create, request.NewEpoch, KeySchedule.InitialTranscriptHash, suite, policy, false, [],
            [new AddedMember(creator, null)], [], []);
        return Seal(plan, [creator], committerSent: null);
    }

    /// <param name="rekey">Unasked: commit even when nothing else changes (the committer's refresh is the change).</param>
    /// <param name="asked">The changes come from the relay's COMMIT_REQUEST, not from our user.</param>
    private CommitCreation BuildMemberCommit(ulong newEpoch, IEnumerable<Add> adds, IEnumerable<Remove> removes, RoomPolicy? setPolicy, bool rekey,
        bool asked = false)
    {
        var current = _current!;
        if (current.Epoch == ulong.MaxValue || newEpoch != current.Epoch + 1)
        {
            return new CommitNotCreated(CommitRefusal.EpochMismatch);
        }

        var plan = Plan(CommitKind.Member, newEpoch, current.TranscriptHash, current.Suite, current.Policy, setPolicy, current.Roster, adds, removes, asked);
        if (plan.IsEmpty && !rekey)
        {
            return new CommitNotCreated(CommitRefusal.NothingToCommit);
        }

        var roster = plan.NewRoster(current.Roster);
        if (roster.Count > MaxMembers)
        {
            return new CommitNotCreated(CommitRefusal.RosterFull);
        }

        var index = roster.FindIndex(m => IsSelf(m.ClientId));
        var own = roster[index];
        MembershipKey? newOwnKey = null;
        var now = _clock.UtcNowMs;
        if (Options.RefreshOwnKeyOnCommit || own.IsExpiredAt((ulong)now) || OwnEntryPastHalfLife(current))
        {
            newOwnKey = _identity.CreateMembershipKey(RoomId, own.KeyId + 1, now, Options.BundleLifetimeMs, _random);
            roster[index] = RosterMemberOf(newOwnKey.Bundle);
        }

        return Seal(plan, roster, new EpochCount { Epoch = current.Epoch, Count = (ulong)current.MessagesSent }, newOwnKey);
    }

    /// <summary>
    /// What an honest committer takes from the requested changes (PROTOCOL.md §8.2 step 1): removes of members with their
    /// proof checked (LEFT: the member's own leave; EXPIRED: its bundle expired; ABSENT: our own view, <see cref="SeesAbsent"/>;
    /// REJOINED: it returns with the same identity key in this commit; REMOVED: our user's decision, or — asked by the relay —
    /// only when this commit admits a new entry for the same id: a relay cannot get a member removed alone), plus an EXPIRED remove of every other entry expired now; adds of valid, unexpired, unused bundles
    /// for this room whose id is not (still) a member, with a valid invite in an INVITE room unless they rejoin.
    /// </summary>
    private CommitPlan Plan(CommitKind kind, ulong newEpoch, byte[] previousTranscriptHash, CipherSuite suite, RoomPolicy policy, RoomPolicy? setPolicy,
        IReadOnlyList<RosterMember> oldRoster, IEnumerable<Add> adds, IEnumerable<Remove> removes, bool asked = false)
    {
        var now = (ulong)Math.Max(0, _clock.UtcNowMs);
        var oldById = oldRoster.ToDictionary(m => m.ClientId, StringComparer.Ordinal);
        var skippedAdds = new List<string>();
        var skippedRemoves = new List<string>();
        var kept = new SortedDictionary<string, Remove>(StringComparer.Ordinal);
        foreach (var remove in removes)
        {
            if (oldById.TryGetValue(remove.ClientId, out var old) && (!IsSelf(remove.ClientId) || kind == CommitKind.External)
                && !kept.ContainsKey(remove.ClientId) && RemoveProofHolds(remove, old, now))
            {
                kept[remove.ClientId] = remove.Clone();
            }
            else
            {
                skippedRemoves.Add(remove.ClientId);
            }
        }

        foreach (var expired in oldRoster.Where(m => m.IsExpiredAt(now) && !IsSelf(m.ClientId) && !kept.ContainsKey(m.ClientId)))
        {
            kept[expired.ClientId] = new Remove { ClientId = expired.ClientId, Reason = RemoveReason.Expired };
        }

        var added = new SortedDictionary<string, AddedMember>(StringComparer.Ordinal);
        var usedInvites = new List<ByteString>();
        foreach (var add in adds)
        {
            var accepted = AdmitsAdd(kind, add, policy, oldById, kept, now, usedInvites);
            if (accepted is null || added.ContainsKey(accepted.Member.ClientId))
            {
                skippedAdds.Add(accepted?.Member.ClientId ?? ClientIdOf(add.Bundle));
                continue;
            }

            added[accepted.Member.ClientId] = accepted;
            if (Invites.Parse(accepted.Invite) is { } invite)
            {
                usedInvites.Add(invite.InviteId);
            }
        }

        // A REJOINED remove, and a REMOVED the relay asked for, stand only with their re-add.
        foreach (var rejoin in kept.Values.Where(r => (r.Reason == RemoveReason.Rejoined || (asked && r.Reason == RemoveReason.Removed))
            && !added.ContainsKey(r.ClientId)).ToList())
        {
            kept.Remove(rejoin.ClientId);
            skippedRemoves.Add(rejoin.ClientId);
        }

        var after = setPolicy?.Clone() ?? policy.Clone();
        return new CommitPlan(kind, newEpoch, previousTranscriptHash, suite, after, setPolicy is not null, [.. kept.Values], [.. added.Values],
            skippedAdds, skippedRemoves);
    }

    private bool RemoveProofHolds(Remove remove, RosterMember old, ulong now) => remove.Reason switch
    {
        RemoveReason.Left => Leaves.Verify(remove.Leave, RoomId, old),
        RemoveReason.Expired => old.IsExpiredAt(now),
        RemoveReason.Rejoined => true, // checked against its re-add
        RemoveReason.Removed => remove.Leave is null,
        RemoveReason.Absent => remove.Leave is null && SeesAbsent(old.ClientId),
        _ => false,
    };

    private AddedMember? AdmitsAdd(CommitKind kind, Add add, RoomPolicy policy, Dictionary<string, RosterMember> oldById,
        SortedDictionary<string, Remove> removes, ulong now, List<ByteString> usedInvites)
    {
        if (add.Bundle is null || RosterMemberOrNull(add.Bundle, now) is not { } member
            || (IsSelf(member.ClientId) && kind != CommitKind.External) || _admissions.BundleUsed(member))
        {
            return null;
        }

        var rejoin = false;
        if (oldById.TryGetValue(member.ClientId, out var old))
        {
            if (!removes.TryGetValue(member.ClientId, out var remove))
            {
                return null;
            }

            rejoin = remove.Reason == RemoveReason.Rejoined;
            if (rejoin && !member.SameIdentityKeyAs(old))
            {
                return null;
            }
        }

        if (add.Invite is null)
        {
            return policy.Admission == Admission.Invite && !rejoin ? null : new AddedMember(member, null);
        }

        var rejection = Invites.Verify(add.Invite, RoomId, member.ClientId, oldById, now, _admissions, out var invite);
        if (rejection != InviteRejection.None || usedInvites.Contains(invite!.InviteId))
        {
            // An invite that does not hold is left out; in an OPEN room the add stands without it.
            return policy.Admission == Admission.Invite && !rejoin ? null : new AddedMember(member, null);
        }

        return new AddedMember(member, add.Invite.Clone());
    }

    /// <summary>Signs the plan: fresh epoch secret, one wrap per entry, the signature and the confirmation tag; kept pending until echoed.</summary>
    private CommitCreation Seal(CommitPlan plan, List<RosterMember> roster, EpochCount? committerSent, MembershipKey? newOwnKey = null)
    {
        roster.Sort((a, b) => string.CompareOrdinal(a.ClientId, b.ClientId));
        var rosterHash = KeySchedule.RosterHash(roster);
        var epochSecret = _random.NextBytes(KeySchedule.SecretSize);
        var content = new CommitContent
        {
            RoomId = RoomId,
            Epoch = plan.Epoch,
            PreviousTranscriptHash = ByteString.CopyFrom(plan.PreviousTranscriptHash),
            CommitterId = LocalClientId,
            Kind = plan.Kind,
            Suite = plan.Suite,
            Policy = plan.Policy,
            CreatedAtMs = (ulong)Math.Max(0, _clock.UtcNowMs),
            CommitterSent = committerSent,
        };
        content.Operations.AddRange(plan.Removes.Select(r => new Operation { Remove = r }));
        content.Operations.AddRange(plan.Adds.Select(a => new Operation { Add = new Add { Bundle = a.Member.Bundle, Invite = a.Invite } }));
        if (plan.ChangesPolicy)
        {
            content.Operations.Add(new Operation { SetPolicy = new SetPolicy { Policy = plan.Policy } });
        }

        content.Roster.AddRange(roster.Select(m => m.Bundle));
        foreach (var member in roster)
        {
            using var ephemeral = _random.NextX25519();
            content.Wraps.Add(KeySchedule.SealWrap(ephemeral, epochSecret, RoomId, plan.Epoch, plan.PreviousTranscriptHash, rosterHash, plan.Suite,
                LocalClientId, _identity.PublicIdentityKey, member));
        }

        var contentBytes = content.ToByteArray();
        var confirmed = KeySchedule.ConfirmedTranscriptHash(plan.PreviousTranscriptHash, contentBytes);
        var commit = new SignedCommit
        {
            Content = ByteString.CopyFrom(contentBytes),
            Signature = ByteString.CopyFrom(_identity.IdentityKey.Sign(Labels.CommitSignature, contentBytes)),
            ConfirmationTag = ByteString.CopyFrom(KeySchedule.ConfirmationTag(epochSecret, RoomId, plan.Epoch, confirmed)),
        };

        if (Relay.ServerFrames.CommitSize(RoomId, LocalClientId, plan.Epoch, plan.Suite, commit) > MaxFrameBytes)
        {
            CryptographicOperations.ZeroMemory(epochSecret);
            newOwnKey?.Dispose();
            return new CommitNotCreated(CommitRefusal.CommitTooLarge);
        }

        if (newOwnKey is not null)
        {
            _membershipKeys[newOwnKey.KeyId] = newOwnKey;
        }

        _pending = new PendingOwnCommit(commit, plan.Epoch, epochSecret, newOwnKey, Hashing.Sha256(contentBytes));
        return new CommitCreated(commit, plan.Epoch, plan.SkippedAdds, plan.SkippedRemoves, Repeated: false);
    }

    private RosterMember RosterMemberOf(SignedBundle bundle)
    {
        Bundles.Verify(bundle, RoomId, null, out var member);
        return member!;
    }

    /// <summary>A bundle a committer may add: valid for this room, unexpired now, with a usable membership key.</summary>
    private RosterMember? RosterMemberOrNull(SignedBundle bundle, ulong now)
    {
        var id = ClientIdOf(bundle);
        return Bundles.VerifyFor(bundle, id, RoomId, (long)Math.Min(now, long.MaxValue), out var member) == BundleRejection.None ? member : null;
    }

    private static string ClientIdOf(SignedBundle? bundle) =>
        bundle is not null && WireParsing.TryParse(BundleContent.Parser, bundle.Content.Span, out var content) ? content.ClientId : "(malformed bundle)";

    /// <summary>A commit as the committer decided it, before its roster is built and it is signed.</summary>
    private sealed record CommitPlan(
        CommitKind Kind,
        ulong Epoch,
        byte[] PreviousTranscriptHash,
        CipherSuite Suite,
        RoomPolicy Policy,
        bool ChangesPolicy,
        IReadOnlyList<Remove> Removes,
        IReadOnlyList<AddedMember> Adds,
        IReadOnlyList<string> SkippedAdds,
        IReadOnlyList<string> SkippedRemoves)
    {
        public bool IsEmpty => Removes.Count == 0 && Adds.Count == 0 && !ChangesPolicy;

        /// <summary>(old \ removed) ∪ added, unsorted.</summary>
        public List<RosterMember> NewRoster(IReadOnlyList<RosterMember> oldRoster)
        {
            var removed = Removes.Select(r => r.ClientId).ToHashSet(StringComparer.Ordinal);
            return [.. oldRoster.Where(m => !removed.Contains(m.ClientId)), .. Adds.Select(a => a.Member)];
        }
    }
}
