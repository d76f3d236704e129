using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Identity;

namespace SecureChat.Protocol.Group;

public sealed partial class GroupSession
{
    /// <summary>
    /// Applies a commit relayed by the server (including the echo of our own), in the order of PROTOCOL.md §8.4: parse,
    /// room, <b>signature</b> (so an unsigned or wrongly signed frame causes nothing), epoch, transcript, policy and roster
    /// rules, our wrap, and the confirmation tag. A joining session accepts the first commit that admits it (§8.5).
    /// </summary>
    public CommitOutcome ProcessCommit(SignedCommit commit)
    {
        ArgumentNullException.ThrowIfNull(commit);
        ExpireEpochs();
        return WithReports(Process(commit));
    }

    private CommitOutcome Process(SignedCommit commit)
    {
        if (CheckFields(commit, out var content) is { } malformed)
        {
            return malformed;
        }

        return Status switch
        {
            GroupStatus.Active => ProcessAsMember(commit, content!),
            GroupStatus.Joining => ProcessAsJoiner(commit, content!),
            _ => content!.Epoch <= _removedAtEpoch ? new CommitStale(content.Epoch, _removedAtEpoch) : new CommitRejected(CommitRejection.NotAMember, content.Epoch),
        };
    }

    /// <summary>Step 1 (PROTOCOL.md §8.4): the content parses, names this room, and its fixed-size fields have their sizes.</summary>
    private CommitRejected? CheckFields(SignedCommit commit, out CommitContent? content)
    {
        if (!WireParsing.TryParse(CommitContent.Parser, commit.Content.Span, out content))
        {
            return new CommitRejected(CommitRejection.Malformed, 0);
        }

        var epoch = content.Epoch;
        if (!string.Equals(content.RoomId, RoomId, StringComparison.Ordinal))
        {
            return new CommitRejected(CommitRejection.WrongRoom, epoch);
        }

        if (content.PreviousTranscriptHash.Length != KeySchedule.HashSize || commit.Signature.Length != IdentityKeyPair.SignatureSize
            || commit.ConfirmationTag.Length != KeySchedule.ConfirmationTagSize || epoch == 0 || content.CreatedAtMs > long.MaxValue)
        {
            return new CommitRejected(CommitRejection.Malformed, epoch);
        }

        return null;
    }

    private CommitOutcome ProcessAsMember(SignedCommit commit, CommitContent content)
    {
        var current = _current!;
        var epoch = content.Epoch;
        if (epoch == current.Epoch && Hashing.FixedTimeEquals(ContentHash(commit.Content), _lastAppliedContentHash)
            && Hashing.FixedTimeEquals(commit.ConfirmationTag.Span, _lastAppliedTag))
        {
            return new CommitAlreadyApplied(epoch);
        }

        // The signature first: nothing below may react to a frame its committer did not sign.
        var signer = content.Kind == CommitKind.External ? ExternalSigner(content) : current.Members.GetValueOrDefault(content.CommitterId);
        if (signer is null)
        {
            return new CommitRejected(CommitRejection.NotSignedByMember, epoch);
        }

        if (!Signatures.Verify(signer.IdentityKey, Labels.CommitSignature, commit.Content.Span, commit.Signature.Span))
        {
            return new CommitRejected(CommitRejection.BadSignature, epoch);
        }

        if (epoch <= current.Epoch)
        {
            return new CommitStale(epoch, current.Epoch);
        }

        if (epoch != current.Epoch + 1)
        {
            return new CommitRejected(CommitRejection.EpochGap, epoch);
        }

        if (!Hashing.FixedTimeEquals(content.PreviousTranscriptHash.Span, current.TranscriptHash))
        {
            return new CommitRejected(CommitRejection.TranscriptMismatch, epoch);
        }

        var own = IsOwnPending(commit, epoch);
        if (IsSelf(content.CommitterId) && !own)
        {
            // Signed with our identity key, but not by this session: the key is in someone else's hands.
            return new CommitRejected(CommitRejection.OwnIdentityMismatch, epoch);
        }

        if (content.Suite != current.Suite)
        {
            return new CommitRejected(CommitRejection.UnsupportedSuite, epoch);
        }

        var known = current.Roster.ToDictionary(m => m.Bundle.Signature);
        var violation = RosterRules.CheckShape(content, MaxMembers, known, out var shape);
        var invitesUsed = (IReadOnlyList<InviteContent>)[];
        if (violation == RosterViolation.None)
        {
            var basis = new CommitBasis(current.Members, current.Policy, _admissions);
            violation = RosterRules.CheckChange(content, shape!, basis, out invitesUsed);
        }

        if (violation != RosterViolation.None)
        {
            return Rejected(violation, epoch);
        }

        return OpenAndApply(commit, content, shape!, signer, own, invitesUsed, joining: false);
    }

    private CommitOutcome ProcessAsJoiner(SignedCommit commit, CommitContent content)
    {
        var epoch = content.Epoch;
        var own = IsOwnPending(commit, epoch);

        // Only a commit that adds our join bundle can be for us; anything else is someone else's business.
        if (!own && !content.Operations.Any(o => o.OpCase == Operation.OpOneofCase.Add && JoinBundle.Equals(o.Add.Bundle)))
        {
            return new CommitNotForUs(epoch);
        }

        if (CheckAsJoiner(commit, content, own, out var signer, out var shape) is { } rejected)
        {
            return rejected;
        }

        var invitesUsed = shape!.Added.Select(a => Invites.Parse(a.Invite)).OfType<InviteContent>().ToList();
        return OpenAndApply(commit, content, shape, signer!, own, invitesUsed, joining: true);
    }

    /// <summary>
    /// What a joiner, who knows no roster, can check of a commit (PROTOCOL.md §8.5): the signature with the committer's IK from
    /// the commit itself (for MEMBER its entry in the new roster, for CREATE and EXTERNAL its added bundle), that a commit
    /// "by us" is <paramref name="own"/>, the suite, and what the commit says about itself (<see cref="RosterRules.CheckShape"/>).
    /// </summary>
    private CommitRejected? CheckAsJoiner(SignedCommit commit, CommitContent content, bool own, out RosterMember? signer, out CommitShape? shape)
    {
        var epoch = content.Epoch;
        shape = null;
        signer = content.Kind == CommitKind.Member ? RosterEntrySigner(content) : ExternalSigner(content);
        if (signer is null)
        {
            return new CommitRejected(CommitRejection.NotSignedByMember, epoch);
        }

        if (!Signatures.Verify(signer.IdentityKey, Labels.CommitSignature, commit.Content.Span, commit.Signature.Span))
        {
            return new CommitRejected(CommitRejection.BadSignature, epoch);
        }

        if (IsSelf(content.CommitterId) && !own)
        {
            // A commit "by us" that we did not make: someone holds our identity key, or it is a stale creation.
            return new CommitRejected(CommitRejection.OwnIdentityMismatch, epoch);
        }

        if (!CipherSuites.IsSupported(content.Suite))
        {
            return new CommitRejected(CommitRejection.UnsupportedSuite, epoch);
        }

        var violation = RosterRules.CheckShape(content, MaxMembers, null, out shape);
        return violation == RosterViolation.None ? null : Rejected(violation, epoch);
    }

    /// <summary>Our wrap (or our own stored secret), then the confirmation tag; then the commit is applied.</summary>
    private CommitOutcome OpenAndApply(SignedCommit commit, CommitContent content, CommitShape shape, RosterMember signer, bool own,
        IReadOnlyList<InviteContent> invitesUsed, bool joining)
    {
        var epoch = content.Epoch;
        var me = shape.Roster.FirstOrDefault(m => IsSelf(m.ClientId));
        if (me is not null && !me.IdentityKey.AsSpan().SequenceEqual(_identity.PublicIdentityKey))
        {
            return new CommitRejected(CommitRejection.OwnIdentityMismatch, epoch);
        }

        if (joining && me is null)
        {
            return new CommitNotForUs(epoch);
        }

        var confirmed = KeySchedule.ConfirmedTranscriptHash(content.PreviousTranscriptHash.Span, commit.Content.Span);
        byte[]? epochSecret = null;
        if (me is not null)
        {
            epochSecret = own ? (byte[])_pending!.EpochSecret.Clone() : OpenOwnWrap(content, shape, signer, me);
            if (epochSecret is null)
            {
                return new CommitRejected(CommitRejection.WrapFailed, epoch);
            }

            if (!KeySchedule.VerifyConfirmationTag(epochSecret, RoomId, epoch, confirmed, commit.ConfirmationTag.Span))
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(epochSecret);
                return new CommitRejected(CommitRejection.ConfirmationFailed, epoch);
            }
        }

        return Apply(commit, content, shape, signer, own, invitesUsed, joining, confirmed, epochSecret);
    }

    private byte[]? OpenOwnWrap(CommitContent content, CommitShape shape, RosterMember signer, RosterMember me)
    {
        if (!_membershipKeys.TryGetValue(me.KeyId, out var key) || !key.KeyPair.PublicKey.AsSpan().SequenceEqual(me.MembershipKey))
        {
            return null;
        }

        var index = IndexOf(shape.Roster, me);
        var secret = KeySchedule.OpenWrap(key.KeyPair, content.Wraps[index], RoomId, content.Epoch, content.PreviousTranscriptHash.Span,
            KeySchedule.RosterHash(shape.Roster), content.Suite, signer.ClientId, signer.IdentityKey, me);
        return secret is { Length: KeySchedule.SecretSize } ? secret : null;
    }

    private CommitAccepted Apply(SignedCommit commit, CommitContent content, CommitShape shape, RosterMember committer, bool ownCommit,
        IReadOnlyList<InviteContent> invitesUsed, bool joining, byte[] confirmed, byte[]? epochSecret)
    {
        // Accepted from here on: nothing below can fail.
        var epoch = content.Epoch;
        var now = _clock.UtcNowMs;
        var superseded = _pending is not null && !ownCommit;
        var me = shape.Roster.FirstOrDefault(m => IsSelf(m.ClientId));
        var transcriptHash = KeySchedule.TranscriptHash(confirmed, commit.ConfirmationTag.Span);
        var previous = _current;

        if (previous is not null)
        {
            previous.StopSending();
            previous.RetiredAtMs = now;
            _retired.Add(previous);
            if (content.CommitterSent is { } committerSent && !IsSelf(committer.ClientId))
            {
                // The commit that ends the epoch carries the committer's count for it (signed with the commit).
                RecordCount(committer.ClientId, committerSent, epoch);
            }

            while (_retired.Count > Options.MaxRetainedEpochs)
            {
                Erase(0);
            }
        }

        if (_pending is { NewOwnKey: { } newKey } && ownCommit)
        {
            _pending = _pending with { NewOwnKey = null };
            _membershipKeys[newKey.KeyId] = newKey;
        }

        DiscardPending();
        _lastAppliedContentHash = ContentHash(commit.Content);
        _lastAppliedTag = commit.ConfirmationTag.ToByteArray();
        RecordAdmissions(shape, previous, joining, invitesUsed, content.CreatedAtMs);
        RecordActivity(shape, committer, joining, now);

        var firstSeen = new List<RosterMember>();
        var keyChanges = new List<IdentityKeyChange>();
        foreach (var member in shape.Roster.Where(m => !IsSelf(m.ClientId)))
        {
            var pinned = _trust.PinnedKey(member.ClientId);
            switch (_trust.Observe(member.ClientId, member.IdentityKey))
            {
                case TrustDecision.FirstSeen:
                    firstSeen.Add(member);
                    break;
                case TrustDecision.Changed:
                    keyChanges.Add(new IdentityKeyChange(member.ClientId, pinned!, member.IdentityKey));
                    break;
            }
        }

        string epochCode;
        if (me is null)
        {
            Status = GroupStatus.Removed;
            _removedAtEpoch = epoch;
            _current = null;
            foreach (var key in _membershipKeys.Values)
            {
                key.Dispose();
            }

            _membershipKeys.Clear();
            epochCode = string.Empty;
        }
        else
        {
            _current = EpochState.Derive(RoomId, epoch, content.Suite, shape.Policy.Clone(), epochSecret!, transcriptHash, shape.Roster, LocalClientId, now);
            if (previous?.Send is not null || previous?.Members.ContainsKey(LocalClientId) == true)
            {
                _current.PreviousSent = new EpochCount { Epoch = previous.Epoch, Count = (ulong)previous.MessagesSent };

                // Only texts make a summary due (a summary-only epoch would chain summaries forever); our own commit
                // carried the count already, unless we sent more after making it.
                _current.SummaryDue = previous.MessagesSent > previous.SummariesSent
                    && !(ownCommit && content.CommitterSent?.Count == _current.PreviousSent.Count && content.CommitterSent.Epoch == previous.Epoch);
            }

            epochCode = _current.EpochCode;
            if (joining)
            {
                Status = GroupStatus.Active;
                _firstEpoch = epoch;
            }

            // Keep only the private key the new roster names for us.
            foreach (var stale in _membershipKeys.Where(k => k.Key != me.KeyId).ToList())
            {
                stale.Value.Dispose();
                _membershipKeys.Remove(stale.Key);
            }
        }

        var removals = shape.Removes.Select(r => new Removal(r.ClientId, r.Reason)).ToList();
        return new CommitAccepted(epoch, epochCode, committer.ClientId, shape.IsRekey, [.. shape.Added.Select(a => a.Member)],
            [.. shape.RemovedIds], keyChanges, firstSeen, JoinedGroup: joining && me is not null, RemovedFromGroup: me is null,
            OwnCommit: ownCommit, OwnCommitSuperseded: superseded)
        {
            Kind = shape.Kind,
            Removals = removals,
            Policy = shape.Policy.Clone(),
            PolicyChanged = shape.ChangesPolicy,
            OwnRemovalReason = me is null ? removals.FirstOrDefault(r => IsSelf(r.ClientId))?.Reason ?? RemoveReason.Removed : null,
        };
    }

    /// <summary>Every new roster entry (a joiner: every entry it sees first) and every invite spent, kept until expiry.</summary>
    private void RecordAdmissions(CommitShape shape, EpochState? previous, bool joining, IReadOnlyList<InviteContent> invitesUsed, ulong createdAtMs)
    {
        var entries = joining || previous is null ? shape.Roster : RosterRules.NewEntries(shape, previous.Members);
        foreach (var entry in entries)
        {
            _admissions.Admit(entry);
        }

        foreach (var invite in invitesUsed)
        {
            _admissions.UseInvite(invite);
        }

        _admissions.Prune(createdAtMs);
    }

    /// <summary>Our pending commit's content (its tag is checked like anyone's: an altered tag is ConfirmationFailed).</summary>
    private bool IsOwnPending(SignedCommit commit, ulong epoch) =>
        _pending is { } pending && pending.Epoch == epoch && Hashing.FixedTimeEquals(ContentHash(commit.Content), pending.ContentHash);

    /// <summary>EXTERNAL and CREATE are signed by the committer's own added bundle (verified as a bundle with the roster later).</summary>
    private RosterMember? ExternalSigner(CommitContent content)
    {
        foreach (var operation in content.Operations)
        {
            if (operation.OpCase == Operation.OpOneofCase.Add && operation.Add.Bundle is { } bundle
                && Bundles.Verify(bundle, RoomId, null, out var member) == BundleRejection.None
                && string.Equals(member!.ClientId, content.CommitterId, StringComparison.Ordinal))
            {
                return member;
            }
        }

        return null;
    }

    /// <summary>A joiner's view of a MEMBER commit: the committer's entry in the new roster.</summary>
    private RosterMember? RosterEntrySigner(CommitContent content)
    {
        foreach (var bundle in content.Roster)
        {
            if (Bundles.Verify(bundle, RoomId, null, out var member) == BundleRejection.None
                && string.Equals(member!.ClientId, content.CommitterId, StringComparison.Ordinal))
            {
                return member;
            }
        }

        return null;
    }

    private static int IndexOf(IReadOnlyList<RosterMember> roster, RosterMember member)
    {
        for (var i = 0; i < roster.Count; i++)
        {
            if (ReferenceEquals(roster[i], member))
            {
                return i;
            }
        }

        return -1;
    }

    private static CommitRejected Rejected(RosterViolation violation, ulong epoch) => new(ToRejection(violation), epoch) { Violation = violation };

    private static CommitRejection ToRejection(RosterViolation violation) => violation switch
    {
        RosterViolation.BadKind or RosterViolation.UnknownOperation or RosterViolation.OperationOrder or RosterViolation.BadRemove
            or RosterViolation.CreateShape or RosterViolation.ExternalShape or RosterViolation.RejoinNotReadded => CommitRejection.MalformedOperations,
        RosterViolation.BadPolicy or RosterViolation.PolicyChanged => CommitRejection.PolicyViolation,
        RosterViolation.EmptyRoster or RosterViolation.TooManyMembers or RosterViolation.NotSorted => CommitRejection.MalformedRoster,
        RosterViolation.InvalidBundle or RosterViolation.EntryExpired => CommitRejection.InvalidBundle,
        RosterViolation.CommitterNotInRoster => CommitRejection.NotSignedByMember,
        RosterViolation.WrapCount or RosterViolation.WrapOrder or RosterViolation.WrapShape => CommitRejection.MalformedWraps,
        RosterViolation.InvalidLeave or RosterViolation.NotExpired or RosterViolation.RejoinOtherIdentity => CommitRejection.InvalidRemove,
        RosterViolation.InviteMissing or RosterViolation.InviteInvalid or RosterViolation.InviteUsed => CommitRejection.NotInvited,
        RosterViolation.BundleReused => CommitRejection.BundleReused,
        _ => CommitRejection.RosterMismatch,
    };
}
