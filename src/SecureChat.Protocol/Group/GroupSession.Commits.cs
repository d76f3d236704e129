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
    /// Builds the commit the relay asked for (COMMIT_REQUEST). A joining session whose request adds its own
    /// join bundle creates the room. The commit takes effect only when the relay echoes it back.
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
            GroupStatus.Active => BuildCommit(request.NewEpoch, request.Adds, request.Removes, rekey: false),
            _ => new CommitNotCreated(CommitRefusal.NotAMember),
        };
    }

    /// <summary>A commit with a fresh epoch secret and no roster change (post-compromise healing).</summary>
    public CommitCreation CreateRekeyCommit()
    {
        if (Status != GroupStatus.Active)
        {
            return new CommitNotCreated(Status == GroupStatus.Joining ? CommitRefusal.EpochMismatch : CommitRefusal.NotAMember);
        }

        if (_pending is { } pending)
        {
            return pending.Epoch == Epoch + 1
                ? new CommitCreated(pending.Commit, pending.Epoch, [], [], Repeated: true)
                : new CommitNotCreated(CommitRefusal.PendingCommitExists);
        }

        return BuildCommit(Epoch + 1, [], [], rekey: true);
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

    private CommitCreation CreateRoom(CommitRequest request)
    {
        if (request.NewEpoch == 0)
        {
            return new CommitNotCreated(CommitRefusal.EpochMismatch);
        }

        if (!request.Adds.Any(b => b.Equals(JoinBundle)))
        {
            return new CommitNotCreated(CommitRefusal.NotCreator);
        }

        var suite = request.Suite == CipherSuite.Unspecified ? CipherSuites.Preferred : request.Suite;
        if (!CipherSuites.IsSupported(suite))
        {
            return new CommitNotCreated(CommitRefusal.UnsupportedSuite);
        }

        return Build(request.NewEpoch, KeySchedule.InitialTranscriptHash, suite, [], request.Adds, [], rekey: false);
    }

    private CommitCreation BuildCommit(ulong newEpoch, IEnumerable<SignedBundle> adds, IEnumerable<string> removes, bool rekey)
    {
        var current = _current!;
        if (current.Epoch == ulong.MaxValue || newEpoch != current.Epoch + 1)
        {
            return new CommitNotCreated(CommitRefusal.EpochMismatch);
        }

        return Build(newEpoch, current.TranscriptHash, current.Suite, current.Roster, adds, removes, rekey);
    }

    private CommitCreation Build(ulong newEpoch, byte[] previousTranscriptHash, CipherSuite suite, IReadOnlyList<RosterMember> oldRoster,
        IEnumerable<SignedBundle> adds, IEnumerable<string> removes, bool rekey)
    {
        var now = _clock.UtcNowMs;
        var creating = oldRoster.Count == 0;
        var skippedAdds = new List<string>();
        var skippedRemoves = new List<string>();

        var oldIds = oldRoster.Select(m => m.ClientId).ToHashSet(StringComparer.Ordinal);
        var removed = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var id in removes)
        {
            if (oldIds.Contains(id) && !IsSelf(id))
            {
                removed.Add(id);
            }
            else
            {
                skippedRemoves.Add(id);
            }
        }

        var added = new List<RosterMember>();
        foreach (var bundle in adds)
        {
            var rejection = Bundles.Verify(bundle, now, out var member);
            if (rejection != BundleRejection.None || !Bundles.IsUsableMembershipKey(member!.MembershipKey)
                || (oldIds.Contains(member!.ClientId) && !removed.Contains(member.ClientId))
                || added.Any(a => string.Equals(a.ClientId, member.ClientId, StringComparison.Ordinal))
                || (!creating && IsSelf(member.ClientId)))
            {
                skippedAdds.Add(member?.ClientId ?? "(malformed bundle)");
                continue;
            }

            added.Add(member);
        }

        if (!rekey && added.Count == 0 && removed.Count == 0)
        {
            return new CommitNotCreated(CommitRefusal.NothingToCommit);
        }

        var roster = oldRoster.Where(m => !removed.Contains(m.ClientId)).Concat(added).ToList();
        if (roster.Count > Options.MaxMembers)
        {
            return new CommitNotCreated(CommitRefusal.RosterFull);
        }

        MembershipKey? newOwnKey = null;
        if (!creating && Options.RefreshOwnKeyOnCommit)
        {
            var index = roster.FindIndex(m => IsSelf(m.ClientId));
            var nextKeyId = roster[index].KeyId + 1;
            newOwnKey = _identity.CreateMembershipKey(nextKeyId, now, Options.BundleLifetimeMs, _random);
            Bundles.Verify(newOwnKey.Bundle, null, out var refreshed);
            roster[index] = refreshed!;
        }

        roster.Sort((a, b) => string.CompareOrdinal(a.ClientId, b.ClientId));
        var rosterHash = KeySchedule.RosterHash(roster);
        var epochSecret = _random.NextBytes(KeySchedule.SecretSize);

        var content = new CommitContent
        {
            RoomId = RoomId,
            Epoch = newEpoch,
            PreviousTranscriptHash = ByteString.CopyFrom(previousTranscriptHash),
            CommitterId = LocalClientId,
            Rekey = rekey,
            Suite = suite,
            CreatedAtMs = (ulong)now,
        };
        content.Added.AddRange(added.Select(m => m.Bundle));
        content.Removed.AddRange(removed);
        content.Roster.AddRange(roster.Select(m => m.Bundle));
        foreach (var member in roster)
        {
            using var ephemeral = _random.NextX25519();
            content.Wraps.Add(KeySchedule.SealWrap(ephemeral, epochSecret, RoomId, newEpoch, previousTranscriptHash, rosterHash, suite,
                LocalClientId, _identity.PublicIdentityKey, member));
        }

        var contentBytes = content.ToByteArray();
        var commit = new SignedCommit
        {
            Content = ByteString.CopyFrom(contentBytes),
            Signature = ByteString.CopyFrom(_identity.IdentityKey.Sign(Labels.CommitSignature, contentBytes)),
        };

        if (commit.CalculateSize() > Options.MaxCommitBytes)
        {
            CryptographicOperations.ZeroMemory(epochSecret);
            newOwnKey?.Dispose();
            return new CommitNotCreated(CommitRefusal.CommitTooLarge);
        }

        if (newOwnKey is not null)
        {
            _membershipKeys[newOwnKey.KeyId] = newOwnKey;
        }

        _pending = new PendingOwnCommit(commit, newEpoch, epochSecret, newOwnKey, Hashing.Sha256(contentBytes));
        return new CommitCreated(commit, newEpoch, skippedAdds, skippedRemoves, Repeated: false);
    }

    /// <summary>
    /// Applies a commit relayed by the server (including the echo of our own). Accepted only if signed by a
    /// member of our current roster, for exactly the next epoch, on our transcript, with a roster that differs
    /// from ours exactly by its stated operations. A joining session accepts the first commit that admits it.
    /// </summary>
    public CommitOutcome ProcessCommit(SignedCommit commit)
    {
        ArgumentNullException.ThrowIfNull(commit);
        Tick();
        if (!WireParsing.TryParse(CommitContent.Parser, commit.Content.Span, out var content))
        {
            return new CommitRejected(CommitRejection.Malformed, 0);
        }

        var epoch = content.Epoch;
        if (!string.Equals(content.RoomId, RoomId, StringComparison.Ordinal))
        {
            return new CommitRejected(CommitRejection.WrongRoom, epoch);
        }

        if (content.PreviousTranscriptHash.Length != KeySchedule.HashSize || commit.Signature.Length != IdentityKeyPair.SignatureSize
            || epoch == 0 || content.CreatedAtMs > long.MaxValue)
        {
            return new CommitRejected(CommitRejection.Malformed, epoch);
        }

        return Status switch
        {
            GroupStatus.Active => ProcessAsMember(commit, content),
            GroupStatus.Joining => ProcessAsJoiner(commit, content),
            _ => epoch <= _removedAtEpoch ? new CommitStale(epoch, _removedAtEpoch) : new CommitRejected(CommitRejection.NotAMember, epoch),
        };
    }

    private CommitOutcome ProcessAsMember(SignedCommit commit, CommitContent content)
    {
        var current = _current!;
        var epoch = content.Epoch;
        if (epoch <= current.Epoch)
        {
            return epoch == current.Epoch && Hashing.FixedTimeEquals(ContentHash(commit.Content), _lastAppliedContentHash)
                ? new CommitAlreadyApplied(epoch)
                : new CommitStale(epoch, current.Epoch);
        }

        if (epoch != current.Epoch + 1)
        {
            return new CommitRejected(CommitRejection.EpochGap, epoch);
        }

        if (!Hashing.FixedTimeEquals(content.PreviousTranscriptHash.Span, current.TranscriptHash))
        {
            return new CommitRejected(CommitRejection.TranscriptMismatch, epoch);
        }

        if (!current.Members.TryGetValue(content.CommitterId, out var committer))
        {
            return new CommitRejected(CommitRejection.NotSignedByMember, epoch);
        }

        if (!Signatures.Verify(committer.IdentityKey, Labels.CommitSignature, commit.Content.Span, commit.Signature.Span))
        {
            return new CommitRejected(CommitRejection.BadSignature, epoch);
        }

        if (content.Suite != current.Suite)
        {
            return new CommitRejected(CommitRejection.UnsupportedSuite, epoch);
        }

        if (IsSelf(committer.ClientId) && !(_pending is { } pending && pending.Epoch == epoch
            && Hashing.FixedTimeEquals(ContentHash(commit.Content), pending.ContentHash)))
        {
            // Signed with our identity key, but not by this session: the key is in someone else's hands.
            return new CommitRejected(CommitRejection.OwnIdentityMismatch, epoch);
        }

        var check = CheckRosterChange(content, current.Roster, committer);
        if (check.Rejection is { } rejection)
        {
            return new CommitRejected(rejection, epoch);
        }

        return Apply(commit, content, check.Roster!, check.Added!, committer);
    }

    private CommitOutcome ProcessAsJoiner(SignedCommit commit, CommitContent content)
    {
        var epoch = content.Epoch;
        var isOwnCreation = _pending is { } pending && pending.Epoch == epoch
            && Hashing.FixedTimeEquals(ContentHash(commit.Content), pending.ContentHash);

        // Only a commit that lists our join bundle can be for us; anything else is someone else's business.
        var ownEntryIndex = -1;
        for (var i = 0; i < content.Roster.Count; i++)
        {
            if (content.Roster[i].Equals(JoinBundle))
            {
                ownEntryIndex = i;
            }
        }

        if (ownEntryIndex < 0 || !content.Added.Any(b => b.Equals(JoinBundle)))
        {
            return new CommitNotForUs(epoch);
        }

        if (!CipherSuites.IsSupported(content.Suite))
        {
            return new CommitRejected(CommitRejection.UnsupportedSuite, epoch);
        }

        var check = CheckStandaloneRoster(content);
        if (check.Rejection is { } rejection)
        {
            return new CommitRejected(rejection, epoch);
        }

        var roster = check.Roster!;
        var committer = roster.FirstOrDefault(m => string.Equals(m.ClientId, content.CommitterId, StringComparison.Ordinal));
        var isCreation = content.PreviousTranscriptHash.Span.IndexOfAnyExcept((byte)0) < 0;
        if (committer is null || (check.Added!.Contains(committer) && !isCreation))
        {
            // A joiner cannot know the old roster: the committer must be in the new one, and may add itself only
            // when it creates the room (previous transcript hash all zero).
            return new CommitRejected(CommitRejection.NotSignedByMember, epoch);
        }

        if (!Signatures.Verify(committer.IdentityKey, Labels.CommitSignature, commit.Content.Span, commit.Signature.Span))
        {
            return new CommitRejected(CommitRejection.BadSignature, epoch);
        }

        if (IsSelf(committer.ClientId) && !isOwnCreation)
        {
            // A commit "by us" that we did not make: someone holds our identity key, or it is a stale creation.
            return new CommitRejected(CommitRejection.OwnIdentityMismatch, epoch);
        }

        return Apply(commit, content, roster, check.Added!, committer);
    }

    private sealed record RosterCheck(CommitRejection? Rejection, List<RosterMember>? Roster, List<RosterMember>? Added)
    {
        public static RosterCheck Fail(CommitRejection rejection) => new(rejection, null, null);
    }

    /// <summary>What members and joiners both check (§8.4 steps 5, 7, 8): the commit's own roster, operations and wraps.</summary>
    private RosterCheck CheckStandaloneRoster(CommitContent content, IReadOnlyDictionary<string, RosterMember>? known = null)
    {
        var knownBySignature = known?.Values.ToDictionary(m => m.Bundle.Signature);
        var violation = RosterRules.CheckShape(content, Options.MaxMembers, knownBySignature, out var roster, out var added);
        if (violation != RosterViolation.None)
        {
            return RosterCheck.Fail(ToRejection(violation));
        }

        var own = roster.Find(m => IsSelf(m.ClientId));
        if (own is not null && !own.IdentityKey.AsSpan().SequenceEqual(_identity.PublicIdentityKey))
        {
            return RosterCheck.Fail(CommitRejection.OwnIdentityMismatch);
        }

        return new RosterCheck(null, roster, added);
    }

    /// <summary>The member rule (§8.4 step 6): new roster = (old \ removed) ∪ added, the committer's entry optionally refreshed.</summary>
    private RosterCheck CheckRosterChange(CommitContent content, IReadOnlyList<RosterMember> oldRoster, RosterMember committer)
    {
        var oldById = oldRoster.ToDictionary(m => m.ClientId, StringComparer.Ordinal);
        var check = CheckStandaloneRoster(content, oldById);
        if (check.Rejection is not null)
        {
            return check;
        }

        var violation = RosterRules.CheckChange(content, check.Roster!, check.Added!, oldById, committer.ClientId);
        return violation == RosterViolation.None ? check : RosterCheck.Fail(ToRejection(violation));
    }

    private static CommitRejection ToRejection(RosterViolation violation) => violation switch
    {
        RosterViolation.RekeyChangesRoster or RosterViolation.NoOperation => CommitRejection.Malformed,
        RosterViolation.EmptyRoster or RosterViolation.TooManyMembers or RosterViolation.NotSorted => CommitRejection.MalformedRoster,
        RosterViolation.InvalidBundle or RosterViolation.AddedExpired => CommitRejection.InvalidBundle,
        RosterViolation.WrapCount or RosterViolation.WrapOrder or RosterViolation.WrapShape => CommitRejection.MalformedWraps,
        _ => CommitRejection.RosterMismatch,
    };

    private CommitOutcome Apply(SignedCommit commit, CommitContent content, List<RosterMember> roster, List<RosterMember> added, RosterMember committer)
    {
        var epoch = content.Epoch;
        var contentHash = ContentHash(commit.Content);
        var ownCommit = _pending is { } pending && pending.Epoch == epoch && Hashing.FixedTimeEquals(contentHash, pending.ContentHash);
        var superseded = _pending is not null && !ownCommit;
        var rosterHash = KeySchedule.RosterHash(roster);
        var me = roster.FirstOrDefault(m => IsSelf(m.ClientId));

        byte[]? epochSecret = null;
        if (me is not null)
        {
            if (ownCommit)
            {
                epochSecret = (byte[])_pending!.EpochSecret.Clone();
            }
            else
            {
                var index = roster.IndexOf(me);
                if (!_membershipKeys.TryGetValue(me.KeyId, out var key) || !key.KeyPair.PublicKey.AsSpan().SequenceEqual(me.MembershipKey))
                {
                    return new CommitRejected(CommitRejection.WrapFailed, epoch);
                }

                epochSecret = KeySchedule.OpenWrap(key.KeyPair, content.Wraps[index], RoomId, epoch, content.PreviousTranscriptHash.Span,
                    rosterHash, content.Suite, committer.ClientId, committer.IdentityKey, me);
                if (epochSecret is null || epochSecret.Length != KeySchedule.SecretSize)
                {
                    return new CommitRejected(CommitRejection.WrapFailed, epoch);
                }
            }
        }

        // Accepted from here on: nothing below can fail.
        var now = _clock.UtcNowMs;
        var wasJoining = Status == GroupStatus.Joining;
        var removedIds = content.Removed.ToList();
        var transcriptHash = KeySchedule.TranscriptHash(content.PreviousTranscriptHash.Span, commit.Content.Span);

        if (_current is { } previous)
        {
            previous.StopSending();
            previous.RetiredAtMs = now;
            _retired.Add(previous);
            while (_retired.Count > Options.MaxRetainedEpochs)
            {
                _retired[0].Dispose();
                _retired.RemoveAt(0);
            }
        }

        if (_pending is { NewOwnKey: { } newKey } && ownCommit)
        {
            _pending = _pending with { NewOwnKey = null };
            _membershipKeys[newKey.KeyId] = newKey;
        }

        DiscardPending();
        _lastAppliedContentHash = contentHash;

        var firstSeen = new List<RosterMember>();
        var keyChanges = new List<IdentityKeyChange>();
        foreach (var member in roster.Where(m => !IsSelf(m.ClientId)))
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
            _current = EpochState.Derive(RoomId, epoch, content.Suite, epochSecret!, transcriptHash, roster, LocalClientId, now);
            epochCode = _current.EpochCode;
            if (wasJoining)
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

        return new CommitAccepted(epoch, epochCode, committer.ClientId, content.Rekey, added, removedIds, keyChanges, firstSeen,
            JoinedGroup: wasJoining && me is not null, RemovedFromGroup: me is null, OwnCommit: ownCommit, OwnCommitSuperseded: superseded);
    }
}
