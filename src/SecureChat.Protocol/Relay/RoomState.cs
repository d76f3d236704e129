using System.Globalization;
using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;

namespace SecureChat.Protocol.Relay;

/// <summary>
/// One chat room as the relay runs it (PROTOCOL.md §4): the sequencer of the group-key protocol, as a plain
/// deterministic class. Commands come in (join, leave, commit, publish, commit deadline, disconnect, passivation
/// due); each returns a <see cref="RoomDecision{TConnection}"/>: frames for connections, refusals, timers, and the
/// durable <see cref="RoomEvent"/>s, which <see cref="Apply"/> replays. It keeps the roster as the last accepted
/// commit states it, the epoch and suite, the transcript hash, the commit log members resume from and who is away since
/// when (a disconnect is not a leave); and, not durable, the connection of each member in
/// order of arrival, pending joins and leaves, the open commit request, each member's failed commit requests and its
/// recent rekeys. It asks one member at a time to commit, failing over when none arrives in time; accepts the first
/// commit of each epoch that <see cref="RelayRules"/> accepts, and a member's rekeys up to its per-minute limit; and
/// fans ciphertext out. It holds no key that opens a message.
/// </summary>
/// <typeparam name="TConnection">How the host addresses a client connection (an actor reference, a test client).</typeparam>
public sealed class RoomState<TConnection>
    where TConnection : notnull
{
    private const long RekeyWindowMs = 60_000;

    /// <summary>An ABSENT remove no committer made by its request's deadline is asked for again after this long.</summary>
    public const long AbsenceRetryMs = 3_600_000;

    /// <summary>
    /// Rounds of failed commit requests a joiner waits through before the room gives up on admitting it (NOT_ADMITTED); a
    /// round ends when every candidate committer has failed (PROTOCOL.md §4.3).
    /// </summary>
    public const int MaxCommitRounds = 3;

    /// <summary>The skipped number ranges a room keeps for counting history gaps exactly (one per start of its log).</summary>
    public const int MaxSkipsKept = 1024;

    // The backoff between rounds of failed commit requests doubles at most this many times (16 commit timeouts).
    private const int MaxBackoffDoublings = 4;

    // Long timers are re-armed in steps (Akka's scheduler takes at most about 24 days).
    private static readonly TimeSpan MaxAbsenceTimerDelay = TimeSpan.FromDays(1);

    private readonly RoomSettings _settings;
    private readonly EqualityComparer<TConnection> _same = EqualityComparer<TConnection>.Default;

    // Durable: changed only by Apply.
    private readonly SortedDictionary<string, RosterMember> _roster = new(StringComparer.Ordinal);
    private AdmissionRecord _admissions = new();
    private CipherSuite _suite;
    private RoomPolicy? _policy;
    private ByteString _transcriptHash = ByteString.CopyFrom(KeySchedule.InitialTranscriptHash);
    private readonly LinkedList<LoggedCommit> _commitLog = new();
    private readonly Dictionary<string, ulong> _awaySinceMs = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, SignedLeave> _leaves = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, SignedInvite> _invites = new(StringComparer.Ordinal);

    // Durable, the message log (PROTOCOL.md §4.4.1): changed only by Apply.
    private readonly MessageLogEntries _messages = new();
    private readonly Dictionary<string, ulong> _positions = new(StringComparer.Ordinal);
    private readonly List<SkippedSeqs> _skipped = [];
    private ulong _lastSeq;
    private bool _logEverOpened;
    private ulong? _everyoneHas; // the lowest position of a roster member, cached until a position or the roster changes

    // Volatile, the message log: whether this run opened it (LogOpened written), the last number known durable, the
    // senders waiting for STORED in number order, and the members catching up after a resume.
    private bool _logOpen;
    private ulong _durableSeq;
    private readonly Queue<AwaitingStore> _awaitingStore = new();
    private readonly Dictionary<string, CatchUp> _catchingUp = new(StringComparer.Ordinal);
    private byte[]? _storedPrefix;

    // Volatile: rebuilt from the members' connections when a room starts again.
    private readonly Dictionary<string, Member> _connected = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PendingJoin> _pendingAdds = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _pendingRemoves = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SignedLeave> _joinerLeaves = new(StringComparer.Ordinal); // of pending joiners that left: kept if a commit admits them anyway
    private readonly CommitterFailures _failures = new();

    // The candidates that failed the pending change in the current round (PROTOCOL.md §4.3), the rounds that ended with every
    // candidate failed since the last commit that changed the roster, and what the room waits for before it asks again: the
    // backoff after a round (CommitRetryDue), or, after the last round left only removes, something new (a join, a member back).
    private readonly HashSet<string> _failedThisRound = new(StringComparer.Ordinal);
    private int _failedRounds;
    private bool _retryArmed;
    private bool _stalled;
    private readonly Dictionary<string, Queue<long>> _recentRekeysMs = new(StringComparer.Ordinal);

    // Absence: members asked to be removed as ABSENT; when one declined by its deadline may be asked again; members with no
    // stored away time (connected when the room last stopped) counted as away from the room's start; the armed timer.
    private readonly SortedSet<string> _absentRemoves = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _absenceRetryAtMs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ulong> _presumedAwaySinceMs = new(StringComparer.Ordinal);
    private long? _absenceDueAtMs;
    private long _arrivals;
    private OpenRequest? _request;

    // Restored from storage: set when Apply or Restore ran before Start. The members of the restored roster who have
    // not joined again yet each learn it in their JOINED (PROTOCOL.md §4, "recovered").
    private bool _started;
    private bool _restored;
    private HashSet<string>? _returning;

    // Roster members that are connected, in roster order: what a publish fans out to. Rebuilt only when
    // the roster or the connections change, so a publish costs no lookups and no allocation per member.
    private RoomRecipient<TConnection>[]? _recipients;

    // What every RELAYED frame of this room starts with (version, type, room id), encoded on the first publish.
    private byte[]? _relayedPrefix;

    private Outbox _out = new();

    public RoomState(string roomId, ulong startEpoch, RoomSettings settings)
    {
        ArgumentNullException.ThrowIfNull(roomId);
        ArgumentNullException.ThrowIfNull(settings);
        RoomId = roomId;
        Epoch = startEpoch;
        _settings = settings;
    }

    public string RoomId { get; }

    public ulong Epoch { get; private set; }

    public CipherSuite Suite => _suite;

    /// <summary>The policy in force (null before the room's creating commit).</summary>
    public RoomPolicy? Policy => _policy;

    /// <summary>The roster the last accepted commit stated, sorted by id.</summary>
    public IReadOnlyCollection<RosterMember> Roster => _roster.Values;

    /// <summary>The transcript hash the last accepted commit leads to (32 zero bytes before a creation).</summary>
    public ByteString TranscriptHash => _transcriptHash;

    /// <summary>The commit log: the last accepted commits, oldest first, as relayed (PROTOCOL.md §4.2).</summary>
    public IReadOnlyCollection<LoggedCommit> CommitLog => _commitLog;

    /// <summary>The absence limit in force: the policy's, or the default before the room's creation.</summary>
    public ulong AbsenceLimitMs => _policy is { AbsenceLimitMs: > 0 } policy ? policy.AbsenceLimitMs : (ulong)RoomPolicies.DefaultAbsenceLimitMs;

    /// <summary>The signed leaves the room keeps (members that left and are not removed yet), by leaver id.</summary>
    public IReadOnlyDictionary<string, SignedLeave> Leaves => _leaves;

    /// <summary>The invites the room keeps for invitees not admitted yet, by invitee id.</summary>
    public IReadOnlyDictionary<string, SignedInvite> Invites => _invites;

    /// <summary>Whether this room was restored from storage (its events or a snapshot) before it started.</summary>
    public bool Recovered => _restored;

    /// <summary>The message log, oldest first (empty without <see cref="RoomSettings.MessageLog"/>).</summary>
    public IEnumerable<LoggedMessage> Messages => _messages.All;

    /// <summary>The envelope bytes the message log holds: what a snapshot of this room carries beyond its roster.</summary>
    public long MessageLogBytes => _messages.Bytes;

    /// <summary>The last message number given out (0: none).</summary>
    public ulong LastSeq => _lastSeq;

    /// <summary>The members' acknowledged positions, by id.</summary>
    public IReadOnlyDictionary<string, ulong> Positions => _positions;

    /// <summary>
    /// A room starts, after its stored state (if any) was restored through <see cref="Restore"/> and <see cref="Apply"/>:
    /// with nobody connected it is due for passivation after the grace period.
    /// </summary>
    public RoomDecision<TConnection> Start()
    {
        _started = true;
        if (_restored)
        {
            _returning = new HashSet<string>(_roster.Keys, StringComparer.Ordinal);
            var now = (ulong)NowMs();
            foreach (var id in _roster.Keys.Where(id => !_awaySinceMs.ContainsKey(id)))
            {
                _presumedAwaySinceMs[id] = now; // connected when the room stopped: away from now on
            }

            _pendingRemoves.UnionWith(_leaves.Keys); // members that left are removed by the next commit, as before the restart
            Note(Invariant($"restored from storage at epoch {Epoch} with {_roster.Count} members") +
                 (_messages.Count > 0 ? Invariant($" and {_messages.Count} logged messages") : string.Empty));
        }

        _durableSeq = _lastSeq; // all of it came from storage
        TruncateLog();
        SchedulePassivationIfEmpty();
        return Done();
    }

    /// <summary>
    /// A client asks to join from <paramref name="connection"/>: with a fresh bundle it is admitted by the next commit; with
    /// its roster entry it resumes (PROTOCOL.md §4.2).
    /// </summary>
    /// <param name="supportedSuites">The suites the joiner can run (empty: both); a room of another suite is refused UNSUPPORTED_SUITE.</param>
    /// <param name="knownEpoch">A resume: the last epoch the client applied; the commits after it are resent from the log.</param>
    /// <param name="invite">An invite naming the joiner that it brings itself (JOIN.invite); the room also keeps invites members sent.</param>
    /// <param name="lastSeq">A resume: the highest message number the client has (0: the position it acknowledged).</param>
    public RoomDecision<TConnection> Join(string clientId, SignedBundle bundle, CipherSuite preferredSuite, TConnection connection,
        IReadOnlyCollection<CipherSuite>? supportedSuites = null, ulong knownEpoch = 0, SignedInvite? invite = null, ulong lastSeq = 0)
    {
        if (_connected.TryGetValue(clientId, out var existing) && _same.Equals(existing.Connection, connection))
        {
            Refuse(connection, ErrorCode.UnexpectedMessage, "already joined this room", notInRoom: false);
            return Done();
        }

        if (RelayRules.CheckJoinBundle(bundle, clientId, RoomId, _settings.Clock.UtcNowMs, out var verified, out var reason) != BundleRejection.None)
        {
            Refuse(connection, ErrorCode.BadBundle, reason, notInRoom: true);
            return Done();
        }

        if (_roster.TryGetValue(clientId, out var entry) && entry.Bundle.Equals(bundle))
        {
            if (_leaves.ContainsKey(clientId))
            {
                Refuse(connection, ErrorCode.BadBundle, "you left this room with a signed leave: join again with a fresh bundle", notInRoom: true);
                return Done();
            }

            return Resume(clientId, connection, existing, knownEpoch, lastSeq);
        }

        if (_admissions.BundleUsed(verified!) && knownEpoch > 0)
        {
            return FormerEntryBack(clientId, connection, knownEpoch, lastSeq);
        }

        if (_admissions.BundleUsed(verified!))
        {
            Refuse(connection, ErrorCode.BadBundle, "bundle was already admitted in this room (a bundle serves one admission)", notInRoom: true);
            return Done();
        }

        if (_roster.Count > 0 && supportedSuites is { Count: > 0 } && !supportedSuites.Contains(_suite))
        {
            Refuse(connection, ErrorCode.UnsupportedSuite, Invariant($"the room's cipher suite is {_suite}, which this client cannot run"), notInRoom: true);
            return Done();
        }

        if (!MayJoin(clientId, verified!, invite, connection))
        {
            return Done();
        }

        if (existing is not null)
        {
            // The same client from a new connection (a reconnect the relay has not noticed yet): the old one leaves.
            Note($"{clientId} joined again from a new connection; the old one leaves");
            Depart(clientId, existing.Connection, leaving: false);
        }

        DropCatchUp(clientId);

        if (_connected.Count >= _settings.MaxMembers)
        {
            Refuse(connection, ErrorCode.RoomFull, Invariant($"room has the maximum of {_settings.MaxMembers} members"), notInRoom: true);
            return Done();
        }

        _out.Effects.Add(CancelPassivationTimer.Instance);
        _out.Effects.Add(new WatchConnection<TConnection>(connection));
        _connected[clientId] = new Member(connection, ++_arrivals);
        _recipients = null;
        _pendingAdds[clientId] = new PendingJoin(verified!, preferredSuite);
        _stalled = false; // something new to commit
        if (_roster.ContainsKey(clientId))
        {
            _pendingRemoves.Add(clientId); // remove and re-add: a new key for a returning member
        }

        var recovered = _returning?.Remove(clientId) ?? false;
        if (_request is not null || _retryArmed || ExternalCommitter() != clientId)
        {
            var state = _invites.TryGetValue(clientId, out var kept) ? new PublicRoomState { Invite = kept } : null;
            Send(connection, ServerFrames.Joined(RoomId, Epoch, _roster.Count, _roster.Count == 0 ? JoinMode.Create : JoinMode.WaitForCommit, state,
                recovered, LogSeq()));
        }
        else
        {
            RequestExternalCommit(clientId, recovered);
        }

        RequestCommitIfNeeded();
        return Done();
    }

    /// <summary>
    /// A member back with its roster entry (PROTOCOL.md §4.2, §4.4.1): the commits after <paramref name="knownEpoch"/> from the
    /// log and, with a message log, the messages after its position, in the order they were relayed, in chunks the member
    /// acknowledges (<see cref="ContinueCatchUp"/>); then JOINED RESUMED, and it is a member again on this connection, with
    /// no commit. When the commit log does not reach back that far, JOINED REJOIN_NEEDED and nothing else: it joins again
    /// with a fresh bundle.
    /// </summary>
    private RoomDecision<TConnection> Resume(string clientId, TConnection connection, Member? existing, ulong knownEpoch, ulong lastSeq)
    {
        var recovered = _returning?.Remove(clientId) ?? false;
        var position = ResumePosition(clientId, lastSeq);
        if (!CommitsReachBack(knownEpoch))
        {
            Note(Invariant($"{clientId} cannot resume from epoch {knownEpoch} (the log holds {LogRange()}); it joins again"));
            Send(connection, ServerFrames.Joined(RoomId, Epoch, _roster.Count, JoinMode.RejoinNeeded, recovered: recovered, lastSeq: LogSeq(),
                missed: UnreadableAfter(position)));
            return Done();
        }

        if (existing is not null)
        {
            Depart(clientId, existing.Connection, leaving: false);
        }

        DropCatchUp(clientId);
        _out.Effects.Add(CancelPassivationTimer.Instance);
        _out.Effects.Add(new WatchConnection<TConnection>(connection));
        _pendingAdds.Remove(clientId);
        _pendingRemoves.Remove(clientId);
        _absentRemoves.Remove(clientId);
        _absenceRetryAtMs.Remove(clientId);
        _presumedAwaySinceMs.Remove(clientId);
        if (_awaySinceMs.ContainsKey(clientId))
        {
            Emit(new MemberBack(Epoch, clientId));
        }

        ContinueCatchUp(clientId, new CatchUp(connection, knownEpoch, position, recovered));
        return Done();
    }

    /// <summary>
    /// Sends a resuming member the next chunk of what it missed: logged commits after the last epoch it was sent and logged
    /// messages after the last number, merged in the order the room relayed them (a commit after the message that preceded
    /// it), its own messages as STORED. When more remain than one chunk holds (<see cref="MessageLogLimits"/>), JOINED RESUMED
    /// with catching_up ends the chunk and the member's ACK asks for the next; after the last, JOINED RESUMED with the
    /// messages the log no longer held (the history gap), and the member receives live traffic from then on.
    /// </summary>
    private void ContinueCatchUp(string clientId, CatchUp catchUp)
    {
        var limits = _settings.MessageLog;
        if (catchUp.SeqSent + 1 < FirstKeptSeq())
        {
            // Messages after its position left the log by its bounds: counted, never sent.
            catchUp.Missed += MessagesBetween(catchUp.SeqSent, FirstKeptSeq());
            catchUp.SeqSent = FirstKeptSeq() - 1;
        }

        var index = limits is null ? _messages.Count : _messages.IndexAfter(catchUp.SeqSent);
        var commit = _commitLog.First;
        while (commit is not null && commit.Value.Epoch <= catchUp.EpochSent)
        {
            commit = commit.Next;
        }

        var sent = 0;
        long bytes = 0;
        while (commit is not null || index < _messages.Count)
        {
            if (limits is not null && (sent >= limits.CatchUpChunkMessages || bytes >= limits.CatchUpChunkBytes))
            {
                _catchingUp[clientId] = catchUp;
                Send(catchUp.Connection, ServerFrames.Joined(RoomId, Epoch, _roster.Count, JoinMode.Resumed, recovered: catchUp.Recovered,
                    lastSeq: catchUp.SeqSent, catchingUp: true));
                return;
            }

            if (commit is not null && (index >= _messages.Count || commit.Value.AfterSeq < _messages[index].Seq))
            {
                Send(catchUp.Connection, commit.Value.Envelope);
                catchUp.EpochSent = commit.Value.Epoch;
                catchUp.Commits++;
                bytes += commit.Value.Envelope.Length;
                commit = commit.Next;
            }
            else
            {
                var message = _messages[index++];
                if (string.Equals(message.SenderId, clientId, StringComparison.Ordinal))
                {
                    _storedPrefix ??= ServerFrames.StoredPrefix(RoomId);
                    Send(catchUp.Connection, ServerFrames.Stored(_storedPrefix, message.Epoch, message.Generation, message.Seq));
                }
                else
                {
                    Send(catchUp.Connection, ServerFrames.WithRoomSeq(message.Envelope, message.Seq));
                    catchUp.Messages++;
                }

                catchUp.SeqSent = message.Seq;
                bytes += message.Envelope.Length;
            }

            sent++;
        }

        _catchingUp.Remove(clientId);
        _connected[clientId] = new Member(catchUp.Connection, ++_arrivals);
        _recipients = null;
        Note(Invariant($"{clientId} resumed its membership from epoch {catchUp.FromEpoch} ({catchUp.Commits} commits and {catchUp.Messages} messages resent") +
             (catchUp.Missed > 0 ? Invariant($", {catchUp.Missed} messages no longer in the log)") : ")"));
        Send(catchUp.Connection, ServerFrames.Joined(RoomId, Epoch, _roster.Count, JoinMode.Resumed, recovered: catchUp.Recovered, lastSeq: LogSeq(),
            missed: catchUp.Missed));
        _stalled = false; // a member back may commit what the others could not
        RequestCommitIfNeeded();
    }

    /// <summary>A member catching up leaves it (a new join, a leave, its connection's end): it is away again, as before its resume.</summary>
    private void DropCatchUp(string clientId)
    {
        if (_catchingUp.Remove(clientId, out var catchUp))
        {
            _out.Effects.Add(new UnwatchConnection<TConnection>(catchUp.Connection));
            Emit(new MemberAway(Epoch, clientId, (ulong)NowMs()));
        }
    }

    /// <summary>Where a resume starts: the client's word, else the position it acknowledged; never beyond the last number.</summary>
    private ulong ResumePosition(string clientId, ulong lastSeq) =>
        Math.Min(lastSeq > 0 ? lastSeq : _positions.GetValueOrDefault(clientId), _lastSeq);

    /// <summary>
    /// A client back with a roster entry the room admitted once but holds no more (it was removed, or replaced, while away):
    /// the commits after <paramref name="knownEpoch"/> from the log, which show it why, then JOINED REJOIN_NEEDED with the
    /// messages after its position it can no longer read. It is not in the room on this connection; it joins again with a
    /// fresh bundle.
    /// </summary>
    private RoomDecision<TConnection> FormerEntryBack(string clientId, TConnection connection, ulong knownEpoch, ulong lastSeq)
    {
        var resent = SendCommitsAfter(knownEpoch, connection);
        Note(resent
            ? Invariant($"{clientId} is back with a former roster entry; the commits after epoch {knownEpoch} were resent")
            : Invariant($"{clientId} is back with a former roster entry from epoch {knownEpoch}, beyond the log"));
        Send(connection, ServerFrames.Joined(RoomId, Epoch, _roster.Count, JoinMode.RejoinNeeded, recovered: _returning?.Remove(clientId) ?? false,
            lastSeq: LogSeq(), missed: lastSeq == 0 ? 0 : UnreadableAfter(Math.Min(lastSeq, _lastSeq)))); // an entry gone keeps no position
        return Done();
    }

    /// <summary>Whether the commit log holds every commit after <paramref name="knownEpoch"/> (none after the current epoch).</summary>
    private bool CommitsReachBack(ulong knownEpoch) =>
        knownEpoch <= Epoch && (knownEpoch == Epoch || (_commitLog.First is { } first && first.Value.Epoch <= knownEpoch + 1));

    /// <summary>Sends every logged commit after <paramref name="knownEpoch"/>, in order; false (nothing sent) when the log does not hold them all.</summary>
    private bool SendCommitsAfter(ulong knownEpoch, TConnection connection)
    {
        if (!CommitsReachBack(knownEpoch))
        {
            return false;
        }

        foreach (var logged in _commitLog.Where(c => c.Epoch > knownEpoch))
        {
            Send(connection, logged.Envelope);
        }

        return true;
    }

    private string LogRange() => _commitLog.Count == 0 ? "no commits" : Invariant($"epochs {_commitLog.First!.Value.Epoch}-{_commitLog.Last!.Value.Epoch}");

    /// <summary>
    /// A client leaves (from the connection it joined with; anything else is ignored). A roster member's
    /// <paramref name="leave"/> that verifies against its roster entry is kept (durably) until a commit removes the
    /// entry, and goes to the committer with the remove (reason LEFT); without one that verifies the member stays in the
    /// roster, away, like a member that disconnected: the server has no proof an honest committer would accept
    /// (logged; a LEAVE is never answered).
    /// </summary>
    public RoomDecision<TConnection> Leave(string clientId, TConnection connection, SignedLeave? leave = null)
    {
        if (_catchingUp.TryGetValue(clientId, out var catchingUp) && _same.Equals(catchingUp.Connection, connection))
        {
            // Back in the room for the leave's sake: a member that leaves mid catch-up leaves like any member.
            _catchingUp.Remove(clientId);
            _connected[clientId] = new Member(connection, ++_arrivals);
            _recipients = null;
        }

        if (IsConnected(clientId, connection))
        {
            if (_roster.TryGetValue(clientId, out var entry) && !_leaves.ContainsKey(clientId))
            {
                if (Identity.Leaves.Verify(leave, RoomId, entry))
                {
                    Emit(new LeaveKept(Epoch, clientId, leave!));
                }
                else
                {
                    // No ERROR: the client may already be joining again on this connection, and would take one as its JOIN's refusal.
                    Note(leave is null
                        ? $"{clientId} left without a signed leave; it stays a member, away, until a member removes it or its absence passes the limit"
                        : $"{clientId} left with a signed leave that does not verify against its roster entry; it stays a member, away, until a member removes it or its absence passes the limit");
                }
            }
            else if (_pendingAdds.TryGetValue(clientId, out var joining) && Identity.Leaves.Verify(leave, RoomId, joining.Bundle))
            {
                _joinerLeaves[clientId] = leave!; // should a commit already on its way admit it, its leave removes it again (LEFT)
            }

            Depart(clientId, connection, leaving: true);
            RequestCommitIfNeeded();
            SchedulePassivationIfEmpty();
        }

        return Done();
    }

    /// <summary>
    /// INVITE from a member (PROTOCOL.md §4.5): the room checks what it can with public keys — the sender is a connected
    /// roster member that is not leaving, the invite is its own (inviter = sender), for this room, signed by the
    /// sender's roster IK, within its lifetime now, unused — keeps it (durably; a newer invite for the same invitee
    /// replaces it) and echoes it to the inviter. Anything else is refused BAD_INVITE and kept nowhere.
    /// </summary>
    public RoomDecision<TConnection> Invite(string clientId, SignedInvite? invite, TConnection connection)
    {
        if (!IsConnected(clientId, connection) || !_roster.ContainsKey(clientId) || _pendingRemoves.Contains(clientId))
        {
            Refuse(connection, ErrorCode.NotAMember, "only a member of the room's roster can invite", notInRoom: false);
            return Done();
        }

        var content = Identity.Invites.Parse(invite);
        var rejection = content is null ? InviteRejection.Malformed
            : !string.Equals(content.InviterId, clientId, StringComparison.Ordinal) ? InviteRejection.InviterNotMember
            : Identity.Invites.Verify(invite, RoomId, content.InviteeId, _roster, (ulong)NowMs(), _admissions, out _);
        if (rejection != InviteRejection.None)
        {
            Refuse(connection, ErrorCode.BadInvite, Describe(rejection), notInRoom: false);
            return Done();
        }

        if (!_invites.ContainsKey(content!.InviteeId) && _invites.Count >= _settings.MaxMembers)
        {
            Refuse(connection, ErrorCode.BadInvite, Invariant($"the room keeps at most {_settings.MaxMembers} invites at a time"), notInRoom: false);
            return Done();
        }

        Emit(new InviteKept(Epoch, invite!));
        Note($"{clientId} invited {content.InviteeId}");
        Send(connection, ServerFrames.Invite(RoomId, invite!));
        return Done();
    }

    /// <summary>
    /// A connection ended. Not a leave (PROTOCOL.md §4.5): its members stay in the roster, away from now on, and may resume;
    /// a pending joiner on it is dropped.
    /// </summary>
    public RoomDecision<TConnection> Disconnect(TConnection connection)
    {
        var departed = _connected.Where(pair => _same.Equals(pair.Value.Connection, connection)).Select(pair => pair.Key).ToList();
        foreach (var clientId in departed)
        {
            Depart(clientId, connection, leaving: false);
        }

        foreach (var clientId in _catchingUp.Where(pair => _same.Equals(pair.Value.Connection, connection)).Select(pair => pair.Key).ToList())
        {
            DropCatchUp(clientId);
        }

        RequestCommitIfNeeded();
        SchedulePassivationIfEmpty();
        return Done();
    }

    /// <summary>A COMMIT: the first one for the next epoch that the relay rules accept wins and goes to old ∪ new roster.</summary>
    public RoomDecision<TConnection> SubmitCommit(string clientId, SignedCommit commit, TConnection connection)
    {
        ArgumentNullException.ThrowIfNull(commit);
        if (!IsConnected(clientId, connection))
        {
            Refuse(connection, ErrorCode.NotAMember, "not a member of this room", notInRoom: true);
            return Done();
        }

        var nowMs = _settings.Clock.UtcNowMs;
        var verdict = RelayRules.CheckCommit(View(), clientId, commit);
        if (verdict.Accepted is { Rekey: true } && RekeyLimitReached(clientId, nowMs))
        {
            verdict = new RelayVerdict(RelayCommitRejection.TooManyRekeys,
                Invariant($"too many rekeys: at most {_settings.RekeysPerMemberPerMinute} per member per minute"), verdict.Epoch, null);
        }

        if (verdict.Accepted is not { } accepted)
        {
            // The epoch lets the client drop its pending commit.
            Refuse(connection, ErrorCode.CommitRejected, verdict.Reason, notInRoom: false, verdict.Epoch, verdict.Rejection);
            return Done();
        }

        if (accepted.Rekey)
        {
            CountRekey(clientId, nowMs);
        }

        var previousRoster = _roster.Keys.ToList();
        accepted = accepted with { AfterSeq = _lastSeq };
        Emit(accepted);
        AfterAccepted(accepted);
        Note(Invariant($"epoch {Epoch} committed by {clientId} ({_roster.Count} members, ") +
             (accepted.Rekey ? "rekey)" : Invariant($"+{accepted.Added.Count} -{accepted.Removed.Count})")));

        foreach (var id in previousRoster.Union(_roster.Keys, StringComparer.Ordinal))
        {
            if (_connected.TryGetValue(id, out var member))
            {
                Send(member.Connection, verdict.Relayed);
            }
        }

        RequestCommitIfNeeded();
        return Done();
    }

    /// <summary>
    /// An APPLICATION envelope from a roster member, for the current epoch or the one before: to every other connected
    /// member, then RELAYED{epoch, <paramref name="sequence"/>} back to the sender. A refusal names the message's epoch and
    /// sequence, so the sender knows which message was not relayed.
    /// </summary>
    /// <param name="sequence">The envelope's sequence: the sender's generation in <paramref name="epoch"/>.</param>
    public RoomDecision<TConnection> Publish(string clientId, ulong epoch, ulong sequence, ByteString envelope, TConnection connection)
    {
        if (!IsConnected(clientId, connection) || !_roster.ContainsKey(clientId) || _pendingRemoves.Contains(clientId))
        {
            Refuse(connection, ErrorCode.NotAMember, "not in the room's current roster", notInRoom: false, epoch, sequence: sequence);
            return Done();
        }

        // The current epoch, or the one before while a commit is still reaching everyone.
        if (epoch != Epoch && epoch + 1 != Epoch)
        {
            Refuse(connection, ErrorCode.StaleEpoch, Invariant($"epoch {epoch} is not the room's epoch {Epoch}"), notInRoom: false, epoch, sequence: sequence);
            return Done();
        }

        _relayedPrefix ??= ServerFrames.RelayedPrefix(RoomId);
        if (_settings.MessageLog is not { } limits)
        {
            return new RoomDecision<TConnection>([], [],
                new RoomFanout<TConnection>(envelope, Recipients(), clientId, connection, ServerFrames.Relayed(_relayedPrefix, epoch, sequence)));
        }

        if (_lastSeq - _durableSeq >= (ulong)limits.MaxUndurable)
        {
            Refuse(connection, ErrorCode.RateLimited, Invariant($"the room's log is {limits.MaxUndurable} messages behind; send again shortly"),
                notInRoom: false, epoch, sequence: sequence);
            return Done();
        }

        if (_messages.Find(clientId, epoch, sequence) is { } logged && logged.Envelope.Equals(envelope))
        {
            // The sender's resend of a message the log holds (its link went before STORED came, PROTOCOL.md §4.4.1): the
            // members have it or get it from the log, so it is not relayed again; the sender hears STORED once it is durable.
            if (logged.Seq <= _durableSeq)
            {
                _storedPrefix ??= ServerFrames.StoredPrefix(RoomId);
                Send(connection, ServerFrames.Stored(_storedPrefix, epoch, sequence, logged.Seq));
            }
            else
            {
                _awaitingStore.Enqueue(new AwaitingStore(logged.Seq, clientId, connection, epoch, sequence));
            }

            return Done();
        }

        OpenLog();
        var seq = ++_lastSeq;
        Log(new MessageLogged(Epoch, new LoggedMessage(seq, clientId, epoch, sequence, (ulong)NowMs(), envelope)));
        _awaitingStore.Enqueue(new AwaitingStore(seq, clientId, connection, epoch, sequence));
        TruncateLog();
        var fanout = new RoomFanout<TConnection>(ServerFrames.WithRoomSeq(envelope, seq), Recipients(), clientId, connection,
            ServerFrames.Relayed(_relayedPrefix, epoch, sequence, seq));
        var decision = new RoomDecision<TConnection>(_out.Events, _out.Effects, fanout, _out.Logged);
        _out = new Outbox();
        return decision;
    }

    /// <summary>
    /// The first publish of this run of the room: numbering continues past every number an earlier run may have given out
    /// without making it durable (at most <see cref="MessageLogLimits.MaxUndurable"/>), by an event journaled before the relay.
    /// </summary>
    private void OpenLog()
    {
        if (_logOpen)
        {
            return;
        }

        var next = _logEverOpened ? _lastSeq + (ulong)_settings.MessageLog!.MaxUndurable + 1 : _lastSeq + 1;
        Emit(new LogOpened(Epoch, new SkippedSeqs(_lastSeq, next)));
        _logOpen = true;
        _durableSeq = _lastSeq; // journaled before anything of this decision is carried out
    }

    /// <summary>
    /// ACK: the member has every message through <paramref name="seq"/>. Kept (durably, in the next log batch) as its position;
    /// a member catching up gets its next chunk. An ACK beyond the last number, or not ahead of the kept one, changes nothing.
    /// </summary>
    public RoomDecision<TConnection> Acknowledge(string clientId, ulong seq, TConnection connection)
    {
        if (_settings.MessageLog is null || seq > _lastSeq)
        {
            return Done();
        }

        var catchingUp = _catchingUp.TryGetValue(clientId, out var catchUp) && _same.Equals(catchUp.Connection, connection);
        if (!catchingUp && !IsConnected(clientId, connection))
        {
            return Done();
        }

        if (_roster.ContainsKey(clientId) && seq > _positions.GetValueOrDefault(clientId))
        {
            Log(new PositionAcknowledged(Epoch, clientId, seq));
            TruncateLog();
        }

        if (catchingUp)
        {
            ContinueCatchUp(clientId, catchUp!);
        }

        return Done();
    }

    /// <summary>
    /// The host made the message log durable through <paramref name="throughSeq"/> (a batch was written): each sender of a
    /// message up to it that is still connected on the connection it sent from is told STORED (PROTOCOL.md §4.4.1).
    /// </summary>
    public RoomDecision<TConnection> Stored(ulong throughSeq)
    {
        _durableSeq = Math.Max(_durableSeq, throughSeq);
        while (_awaitingStore.TryPeek(out var waiting) && waiting.Seq <= throughSeq)
        {
            _awaitingStore.Dequeue();
            if (IsConnected(waiting.SenderId, waiting.Connection))
            {
                _storedPrefix ??= ServerFrames.StoredPrefix(RoomId);
                Send(waiting.Connection, ServerFrames.Stored(_storedPrefix, waiting.Epoch, waiting.Generation, waiting.Seq));
            }
        }

        return Done();
    }

    /// <summary>The asked committer let its deadline pass: the next member is asked.</summary>
    public RoomDecision<TConnection> CommitDeadline(CommitDeadlineDue due)
    {
        ArgumentNullException.ThrowIfNull(due);
        if (_request is null || _request.NewEpoch != due.NewEpoch || _request.CommitterId != due.CommitterId || Epoch >= due.NewEpoch)
        {
            return Done();
        }

        return MoveOn(Invariant($"no commit for epoch {due.NewEpoch} from {due.CommitterId} in time; asking the next member"));
    }

    /// <summary>
    /// The asked member says it cannot make the commit it was asked for (ERROR CANNOT_COMMIT with the request's new epoch: too
    /// large for the frame limit, the roster full, …): the request failed, as if its deadline had passed, and the next
    /// candidate is asked at once. Anything else (not the open request, not the asked member on its connection) is late and
    /// changes nothing; it is never answered.
    /// </summary>
    public RoomDecision<TConnection> DeclineCommit(string clientId, ulong newEpoch, TConnection connection)
    {
        if (_request is null || _request.CommitterId != clientId || _request.NewEpoch != newEpoch || !IsConnected(clientId, connection))
        {
            return Done();
        }

        return MoveOn(Invariant($"{clientId} cannot make the commit for epoch {newEpoch}; asking the next member"));
    }

    /// <summary>The open request failed while its committer is still here (deadline, decline): ABSENT removes it left out wait, the next candidate is asked.</summary>
    private RoomDecision<TConnection> MoveOn(string note)
    {
        Note(note);
        RequestFailed();
        DeferAbsentRemoves();
        RequestCommitIfNeeded();
        return Done();
    }

    /// <summary>The backoff after a round of failed requests has passed: the candidates are asked again.</summary>
    public RoomDecision<TConnection> CommitRetryDue()
    {
        if (_retryArmed)
        {
            _retryArmed = false;
            RequestCommitIfNeeded();
        }

        return Done();
    }

    /// <summary>
    /// The absence timer is due: every roster member away for longer than the absence limit (server clock) becomes a pending
    /// remove with reason ABSENT, which the next COMMIT_REQUEST asks a connected member for. The committer removes it only if
    /// its own view agrees (PROTOCOL.md §8.2).
    /// </summary>
    public RoomDecision<TConnection> AbsenceCheckDue()
    {
        _absenceDueAtMs = null;
        var now = NowMs();
        var absent = _roster.Keys.Where(id => AbsenceDueAtMs(id) is { } due && due <= now && !_pendingRemoves.Contains(id)).ToList();
        foreach (var id in absent)
        {
            Note(Invariant($"{id} has been away for more than {AbsenceLimitMs} ms; asking for its removal (ABSENT)"));
            _absentRemoves.Add(id);
            _pendingRemoves.Add(id);
            _stalled = false;
        }

        RequestCommitIfNeeded();
        return Done();
    }

    /// <summary>When <paramref name="clientId"/> is due for an ABSENT remove (null: connected, or never seen away).</summary>
    private long? AbsenceDueAtMs(string clientId)
    {
        if (_connected.ContainsKey(clientId) || _catchingUp.ContainsKey(clientId))
        {
            return null;
        }

        ulong since;
        if (!_awaySinceMs.TryGetValue(clientId, out since) && !_presumedAwaySinceMs.TryGetValue(clientId, out since))
        {
            return null;
        }

        var due = (long)Math.Min(long.MaxValue, since + AbsenceLimitMs);
        return _absenceRetryAtMs.TryGetValue(clientId, out var retry) ? Math.Max(due, retry) : due;
    }

    /// <summary>The asked committer let ABSENT removes pass (its own view may disagree): they are asked for again after <see cref="AbsenceRetryMs"/>.</summary>
    private void DeferAbsentRemoves()
    {
        if (_absentRemoves.Count == 0)
        {
            return;
        }

        var retryAt = NowMs() + AbsenceRetryMs;
        foreach (var id in _absentRemoves)
        {
            _pendingRemoves.Remove(id);
            _absenceRetryAtMs[id] = retryAt;
        }

        Note($"ABSENT removes of {string.Join(", ", _absentRemoves)} not committed; asked again in an hour");
        _absentRemoves.Clear();
    }

    /// <summary>Arms the absence timer for the earliest due member while anyone is connected to commit; cancels it otherwise.</summary>
    private void ScheduleAbsenceCheck()
    {
        long? next = null;
        if (_connected.Count > 0 && _roster.Count > 0)
        {
            foreach (var id in _roster.Keys)
            {
                if (!_pendingRemoves.Contains(id) && AbsenceDueAtMs(id) is { } due && (next is null || due < next))
                {
                    next = due;
                }
            }
        }

        if (next == _absenceDueAtMs)
        {
            return;
        }

        _absenceDueAtMs = next;
        if (next is not { } at)
        {
            _out.Effects.Add(CancelAbsenceTimer.Instance);
            return;
        }

        var delay = TimeSpan.FromMilliseconds(Math.Max(0, at - NowMs()));
        _out.Effects.Add(new StartAbsenceTimer(delay < MaxAbsenceTimerDelay ? delay : MaxAbsenceTimerDelay));
    }

    /// <summary>The empty-room grace period has passed: a room still empty asks to be passivated.</summary>
    public RoomDecision<TConnection> PassivationDue()
    {
        if (_connected.Count == 0 && _catchingUp.Count == 0)
        {
            _out.Effects.Add(new PassivateRoom(Epoch));
        }

        return Done();
    }

    /// <summary>
    /// The host could not store the last change (its journal failed or refused the write): every connected member is
    /// told it is no longer in the room and may join again, and the room forgets its connections. The host must not
    /// go on from this state, which is ahead of its storage: it starts the room again from what it stored.
    /// </summary>
    public RoomDecision<TConnection> StorageFailed()
    {
        foreach (var (_, member) in _connected.OrderBy(pair => pair.Value.Arrival))
        {
            Refuse(member.Connection, ErrorCode.Internal, "the room could not store a change; it restarts from its stored state, join again", notInRoom: true);
            _out.Effects.Add(new UnwatchConnection<TConnection>(member.Connection));
        }

        foreach (var (_, catchUp) in _catchingUp)
        {
            Refuse(catchUp.Connection, ErrorCode.Internal, "the room could not store a change; it restarts from its stored state, join again", notInRoom: true);
            _out.Effects.Add(new UnwatchConnection<TConnection>(catchUp.Connection));
        }

        _catchingUp.Clear();
        _awaitingStore.Clear();
        _connected.Clear();
        _pendingAdds.Clear();
        _pendingRemoves.Clear();
        _joinerLeaves.Clear();
        _absentRemoves.Clear();
        _failures.Clear();
        ForgetRounds();
        _request = null;
        _recipients = null;
        _out.Effects.Add(CancelCommitDeadline.Instance);
        return Done();
    }

    public RoomSnapshot Snapshot() => new(
        RoomId,
        Epoch,
        [.. _roster.Keys],
        [.. _connected.OrderBy(p => p.Value.Arrival).Select(p => p.Key)],
        _request?.CommitterId,
        [.. _pendingAdds.Keys.Order(StringComparer.Ordinal)],
        [.. _pendingRemoves],
        _restored);

    /// <summary>The durable state as one record: what a persistent room stores as a snapshot.</summary>
    public RoomDurableState Durable() => new(Epoch, _suite, [.. _roster.Values], _transcriptHash)
    {
        Policy = _policy?.Clone(),
        Admissions = _admissions.Snapshot(),
        CommitLog = [.. _commitLog],
        Away = [.. _awaySinceMs.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new AwayMember(p.Key, p.Value))],
        Leaves = [.. _leaves.Values],
        Invites = [.. _invites.Values],
        Messages = [.. _messages.All],
        LastSeq = _lastSeq,
        LogOpened = _logEverOpened,
        Skipped = [.. _skipped],
        Positions = [.. _positions.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new MemberPosition(p.Key, p.Value))],
    };

    /// <summary>Restores the durable state from a snapshot; only before <see cref="Start"/>, like a replay of events.</summary>
    public void Restore(RoomDurableState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (_started)
        {
            throw new InvalidOperationException("a room restores its stored state before it starts");
        }

        SetDurable(state.Epoch, state.Suite, state.Policy, state.Roster, state.TranscriptHash);
        _admissions = AdmissionRecord.From(state.Admissions);
        _commitLog.Clear();
        foreach (var logged in state.CommitLog)
        {
            _commitLog.AddLast(logged);
        }

        _awaySinceMs.Clear();
        foreach (var away in state.Away.Where(a => _roster.ContainsKey(a.ClientId)))
        {
            _awaySinceMs[away.ClientId] = away.SinceMs;
        }

        foreach (var leave in state.Leaves)
        {
            KeepLeave(leave);
        }

        foreach (var invite in state.Invites)
        {
            KeepInvite(invite);
        }

        _messages.Clear();
        foreach (var message in state.Messages)
        {
            _messages.Add(message);
        }

        _lastSeq = state.LastSeq;
        _logEverOpened = state.LogOpened;
        _skipped.Clear();
        _skipped.AddRange(state.Skipped);
        _positions.Clear();
        foreach (var position in state.Positions.Where(p => _roster.ContainsKey(p.ClientId)))
        {
            _positions[position.ClientId] = position.Seq;
        }

        _everyoneHas = null;

        _restored = true;
    }

    /// <summary>
    /// Applies a durable change: the epoch, suite, policy, roster, transcript hash, admission record, commit log and who is
    /// away, nothing else. Commands call it for each event they emit, so replaying a room's events rebuilds the same durable state.
    /// </summary>
    public void Apply(RoomEvent change)
    {
        switch (change)
        {
            case EpochAccepted accepted:
                RecordAdmissions(accepted);
                SetDurable(accepted.Epoch, accepted.Suite, accepted.Policy ?? _policy, accepted.Roster, accepted.TranscriptHash);
                LogCommit(accepted);
                foreach (var gone in _awaySinceMs.Keys.Where(id => !_roster.ContainsKey(id)).ToList())
                {
                    _awaySinceMs.Remove(gone);
                }

                DropSettledLeaves();
                DropSettledInvites(accepted.CreatedAtMs);
                SettlePositions(accepted);
                break;
            case MessageLogBatch batch:
                // One journal event for a group-commit batch: its entries in the order the room applied them live.
                foreach (var entry in batch.Entries)
                {
                    Apply(entry is MessageLogged or PositionAcknowledged or LogTruncated
                        ? entry
                        : throw new ArgumentException($"{entry?.GetType().Name} in a message-log batch", nameof(change)));
                }

                break;
            case MessageLogged logged:
                _messages.Add(logged.Message);
                _lastSeq = Math.Max(_lastSeq, logged.Message.Seq);
                break;
            case LogOpened opened:
                if (opened.Skip.NextSeq > opened.Skip.AfterSeq + 1)
                {
                    _skipped.Add(opened.Skip);
                    if (_skipped.Count > MaxSkipsKept)
                    {
                        _skipped.RemoveAt(0);
                    }
                }

                _lastSeq = Math.Max(_lastSeq, opened.Skip.NextSeq - 1);
                _logEverOpened = true;
                break;
            case LogTruncated truncated:
                while (_messages.First is { } first && first.Seq <= truncated.ThroughSeq)
                {
                    _messages.RemoveFirst();
                }

                break;
            case PositionAcknowledged acknowledged:
                if (_roster.ContainsKey(acknowledged.ClientId))
                {
                    _positions[acknowledged.ClientId] = Math.Max(_positions.GetValueOrDefault(acknowledged.ClientId), acknowledged.Seq);
                    _everyoneHas = null;
                }

                break;
            case LeaveKept kept:
                KeepLeave(kept.Leave);
                break;
            case InviteKept invited:
                KeepInvite(invited.Invite);
                break;
            case RosterReset reset:
                SetDurable(reset.Epoch, CipherSuite.Unspecified, null, [], ByteString.CopyFrom(KeySchedule.InitialTranscriptHash));
                _positions.Clear();
                _commitLog.Clear();
                _awaySinceMs.Clear();
                _leaves.Clear();
                _invites.Clear();
                break;
            case MemberAway away:
                _awaySinceMs[away.ClientId] = away.SinceMs;
                break;
            case MemberBack back:
                _awaySinceMs.Remove(back.ClientId);
                break;
            default:
                throw new ArgumentException($"unknown room event {change?.GetType().Name}", nameof(change));
        }

        _restored |= !_started;
    }

    /// <summary>
    /// Appends the accepted commit to the log, which stays a run of consecutive epochs: at most
    /// <see cref="RoomSettings.CommitLogLength"/> commits, none older than the absence limit before this one (by the commits'
    /// created_at_ms, so a replay of the events prunes alike). An event without its envelope starts the log afresh after it.
    /// </summary>
    private void LogCommit(EpochAccepted accepted)
    {
        if (accepted.Relayed.IsEmpty || (_commitLog.Last is { } last && last.Value.Epoch + 1 != accepted.Epoch))
        {
            _commitLog.Clear();
        }

        if (accepted.Relayed.IsEmpty)
        {
            return;
        }

        _commitLog.AddLast(new LoggedCommit(accepted.Epoch, accepted.CreatedAtMs, accepted.Relayed) { AfterSeq = accepted.AfterSeq });
        var oldestKept = accepted.CreatedAtMs > AbsenceLimitMs ? accepted.CreatedAtMs - AbsenceLimitMs : 0;
        while (_commitLog.Count > Math.Max(1, _settings.CommitLogLength) || (_commitLog.Count > 1 && _commitLog.First!.Value.CreatedAtMs < oldestKept))
        {
            _commitLog.RemoveFirst();
        }
    }

    /// <summary>What the commit admitted (new entries, spent invites), kept until expiry, pruned at the commit's time.</summary>
    private void RecordAdmissions(EpochAccepted accepted)
    {
        foreach (var member in accepted.Roster.Where(m => !_roster.TryGetValue(m.ClientId, out var old) || !old.Bundle.Equals(m.Bundle)))
        {
            _admissions.Admit(member);
        }

        foreach (var invite in accepted.InvitesUsed)
        {
            _admissions.UseInvite(invite);
        }

        _admissions.Prune(accepted.CreatedAtMs);
    }

    /// <summary>Keeps a leave for its leaver's current roster entry (one it no longer holds is settled).</summary>
    private void KeepLeave(SignedLeave leave)
    {
        if (Identity.Leaves.Parse(leave) is { } content && LeavesEntry(content))
        {
            _leaves[content.ClientId] = leave;
        }
    }

    /// <summary>A commit removed or replaced the leavers' entries: their leaves are settled.</summary>
    private void DropSettledLeaves()
    {
        foreach (var (id, leave) in _leaves.ToList())
        {
            if (Identity.Leaves.Parse(leave) is not { } content || !LeavesEntry(content))
            {
                _leaves.Remove(id);
            }
        }
    }

    private void KeepInvite(SignedInvite invite)
    {
        if (Identity.Invites.Parse(invite) is { } content)
        {
            _invites[content.InviteeId] = invite;
        }
    }

    /// <summary>
    /// After a commit: invites it spent, invites expired at its time and invites whose inviter is no longer in the roster
    /// (members would refuse them) are dropped. Decided from the event alone, so a replay drops the same ones.
    /// </summary>
    private void DropSettledInvites(ulong atMs)
    {
        foreach (var (invitee, invite) in _invites.ToList())
        {
            var content = Identity.Invites.Parse(invite);
            if (content is null || content.ExpiresAtMs <= atMs || !_roster.ContainsKey(content.InviterId) || _admissions.InviteUsed(content.InviteId))
            {
                _invites.Remove(invitee);
            }
        }
    }

    /// <summary>
    /// In an INVITE room a joiner needs an invite (its own JOIN.invite, or one a member sent) that the room can verify, unless
    /// it returns to the roster with the same identity key (REJOINED). Refuses BAD_INVITE otherwise; a valid JOIN.invite is kept.
    /// </summary>
    private bool MayJoin(string clientId, RosterMember joiner, SignedInvite? invite, TConnection connection)
    {
        if (_roster.Count == 0 || _policy?.Admission != Admission.Invite
            || (_roster.TryGetValue(clientId, out var old) && old.SameIdentityKeyAs(joiner)))
        {
            return true;
        }

        var now = (ulong)NowMs();
        if (invite is not null)
        {
            var rejection = Identity.Invites.Verify(invite, RoomId, clientId, _roster, now, _admissions, out _);
            if (rejection != InviteRejection.None)
            {
                Refuse(connection, ErrorCode.BadInvite, "the invite you brought: " + Describe(rejection), notInRoom: true);
                return false;
            }

            Emit(new InviteKept(Epoch, invite));
            return true;
        }

        if (_invites.TryGetValue(clientId, out var kept) && Identity.Invites.Verify(kept, RoomId, clientId, _roster, now, _admissions, out _) == InviteRejection.None)
        {
            return true;
        }

        Refuse(connection, ErrorCode.BadInvite, "not invited: this room admits only ids a member invited (ask a member to /invite you)", notInRoom: true);
        return false;
    }


    /// <summary>The BAD_INVITE reason for each rejection.</summary>
    private static string Describe(InviteRejection rejection) => rejection switch
    {
        InviteRejection.Malformed => "invite does not parse, or its id or signature has the wrong length",
        InviteRejection.WrongTarget => "invite is for another room or another invitee",
        InviteRejection.InviterNotMember => "invite's inviter is not the sender, or not in the room's roster",
        InviteRejection.BadSignature => "invite signature does not verify with the inviter's identity key",
        InviteRejection.BadLifetime => "invite lifetime is negative or longer than 30 days",
        InviteRejection.NotValidAt => "invite is not valid now (not yet, or expired)",
        InviteRejection.Used => "invite was already used in this room",
        _ => rejection.ToString(),
    };

    private bool LeavesEntry(LeaveContent content) =>
        _roster.TryGetValue(content.ClientId, out var entry) && content.BundleHash.Span.SequenceEqual(Bundles.Hash(entry.Bundle));

    private void SetDurable(ulong epoch, CipherSuite suite, RoomPolicy? policy, IEnumerable<RosterMember> roster, ByteString transcriptHash)
    {
        Epoch = epoch;
        _suite = suite;
        _policy = policy;
        _transcriptHash = transcriptHash;
        _roster.Clear();
        foreach (var member in roster)
        {
            _roster[member.ClientId] = member;
        }

        _recipients = null;
        _everyoneHas = null;
    }

    private void Emit(RoomEvent change)
    {
        _out.Events.Add(change);
        Apply(change);
    }

    /// <summary>A message-log event: applied now, journaled in the host's next batch without holding up the rest.</summary>
    private void Log(RoomEvent change)
    {
        _out.Logged.Add(change);
        Apply(change);
    }

    /// <summary>
    /// Positions follow the roster: a member a commit admits starts at the number the commit came after (it cannot read
    /// anything older), one it removes has none.
    /// </summary>
    private void SettlePositions(EpochAccepted accepted)
    {
        foreach (var id in _positions.Keys.Where(id => !_roster.ContainsKey(id)).ToList())
        {
            _positions.Remove(id);
        }

        foreach (var id in accepted.Added)
        {
            _positions[id] = accepted.AfterSeq;
        }

        _everyoneHas = null;
    }

    /// <summary>
    /// Drops from the front of the message log what its bounds no longer allow (count, bytes, age by the server's clock) and
    /// what every roster member has acknowledged, by a <see cref="LogTruncated"/> event.
    /// </summary>
    private void TruncateLog()
    {
        if (_settings.MessageLog is not { } limits || _messages.Count == 0)
        {
            return;
        }

        var oldestKept = NowMs() - (long)Math.Min(limits.MaxAge.TotalMilliseconds, long.MaxValue / 2);
        var everyoneHas = _everyoneHas ??= _roster.Count == 0 ? 0 : _roster.Keys.Min(id => _positions.GetValueOrDefault(id));
        var count = _messages.Count;
        var bytes = _messages.Bytes;

        // Over a bound, down to a hundredth below it: one truncation per hundredth of the log, not one per message.
        var overBound = count > limits.MaxMessages || bytes > limits.MaxBytes;
        var keepMessages = overBound ? limits.MaxMessages - (limits.MaxMessages / 100) : limits.MaxMessages;
        var keepBytes = overBound ? limits.MaxBytes - (limits.MaxBytes / 100) : limits.MaxBytes;
        ulong through = 0;
        for (var i = 0; i < _messages.Count; i++)
        {
            var message = _messages[i];
            if (count <= keepMessages && bytes <= keepBytes && (long)message.AtMs >= oldestKept && message.Seq > everyoneHas)
            {
                break;
            }

            through = message.Seq;
            count--;
            bytes -= message.Envelope.Length;
        }

        if (through > 0)
        {
            Log(new LogTruncated(Epoch, through));
        }
    }

    /// <summary>The room's last message number, as JOINED states it (0 without a message log).</summary>
    private ulong LogSeq() => _settings.MessageLog is null ? 0 : _lastSeq;

    /// <summary>The number of the oldest message the log holds, or the next one when it holds none.</summary>
    private ulong FirstKeptSeq() => _messages.First?.Seq ?? _lastSeq + 1;

    /// <summary>How many numbers in (<paramref name="after"/>, <paramref name="before"/>) were given to messages (skipped ones were not).</summary>
    private ulong MessagesBetween(ulong after, ulong before)
    {
        if (before <= after + 1)
        {
            return 0;
        }

        var count = before - after - 1;
        foreach (var skip in _skipped)
        {
            var from = Math.Max(after, skip.AfterSeq);
            var to = Math.Min(before, skip.NextSeq);
            if (to > from + 1)
            {
                count -= to - from - 1;
            }
        }

        return count;
    }

    /// <summary>REJOIN_NEEDED: the messages after <paramref name="position"/> the member will not read (its session cannot open them).</summary>
    private ulong UnreadableAfter(ulong position) => _settings.MessageLog is null ? 0 : MessagesBetween(position, _lastSeq + 1);

    /// <summary>The volatile consequences of an accepted commit: pending joins and leaves it settled, the committers' records, and the open request.</summary>
    private void AfterAccepted(EpochAccepted accepted)
    {
        // The committer answers; a member the commit admits (a joiner, or one back with a new key) is a fresh candidate.
        foreach (var id in accepted.Added.Concat(accepted.Removed).Append(accepted.CommitterId))
        {
            _failures.Forget(id);
        }

        foreach (var removed in accepted.Removed)
        {
            _pendingRemoves.Remove(removed);
            _absentRemoves.Remove(removed);
            _absenceRetryAtMs.Remove(removed);
            _presumedAwaySinceMs.Remove(removed);
        }

        foreach (var added in accepted.Added)
        {
            if (_pendingAdds.TryGetValue(added, out var pending) && _connected.ContainsKey(added) && _roster[added].SameBundleAs(pending.Bundle))
            {
                _pendingAdds.Remove(added);
                _pendingRemoves.Remove(added); // a remove-and-re-add is done by the same commit
            }
            else if (_pendingAdds.ContainsKey(added))
            {
                _pendingRemoves.Add(added); // admitted with the key of a connection since replaced: the newer key replaces it
            }
            else if (!_connected.ContainsKey(added))
            {
                if (_joinerLeaves.Remove(added, out var leave) && Identity.Leaves.Verify(leave, RoomId, _roster[added]))
                {
                    Emit(new LeaveKept(Epoch, added, leave)); // it left while the commit was on its way: removed again, LEFT
                    _pendingRemoves.Add(added);
                }
                else
                {
                    _presumedAwaySinceMs[added] = (ulong)NowMs(); // admitted after its connection left: a member, away from now on
                }
            }
        }

        _joinerLeaves.Clear(); // the commit that could have admitted them is this one

        if (_request is not null)
        {
            _out.Effects.Add(CancelCommitDeadline.Instance);
            _request = null;
        }

        if (!accepted.Rekey)
        {
            // The roster moved: what is still pending is a new change, and every candidate may be asked at once. (A rekey changes
            // nothing pending, so it neither resets the rounds nor ends a backoff.)
            ForgetRounds();
        }
    }

    /// <summary>The open request failed (its deadline passed, its committer declined or went away): counted against the committer and the joiners it named.</summary>
    private void RequestFailed()
    {
        var failed = _request!;
        _request = null;
        _out.Effects.Add(CancelCommitDeadline.Instance);
        _failures.Failed(failed.CommitterId);
        _failedThisRound.Add(failed.CommitterId);
        foreach (var add in failed.Adds)
        {
            if (_pendingAdds.TryGetValue(add.ClientId, out var join))
            {
                join.FailedInRound = true;
            }
        }
    }

    /// <summary>
    /// Every candidate has failed the pending change in this round. Each joiner a failed request of the round named has waited
    /// one round more; one that has waited <see cref="MaxCommitRounds"/> is told NOT_ADMITTED and is no longer in the room.
    /// Then the room waits before the next round (the commit timeout, doubled each round), or, when only removes are left
    /// after the last round, until something new comes: no member is asked for the same change forever.
    /// </summary>
    private void EndRound(int candidates)
    {
        _failedThisRound.Clear();
        _failedRounds++;
        var givenUp = new List<string>();
        foreach (var (id, join) in _pendingAdds)
        {
            if (join.FailedInRound)
            {
                join.FailedInRound = false;
                join.RoundsFailed++;
                if (join.RoundsFailed >= MaxCommitRounds)
                {
                    givenUp.Add(id);
                }
            }
        }

        foreach (var id in givenUp)
        {
            Note(Invariant($"no member could admit {id}: every candidate failed the commit {MaxCommitRounds} times; it is told NOT_ADMITTED"));
            var connection = _connected[id].Connection;
            Refuse(connection, ErrorCode.NotAdmitted,
                Invariant($"no member could make the commit that admits you ({candidates} asked, {MaxCommitRounds} times); this server allows {_settings.MaxMembers} members and {_settings.MaxFrameBytes}-byte frames"),
                notInRoom: true);
            Depart(id, connection, leaving: false);
        }

        SchedulePassivationIfEmpty();
        if (_pendingAdds.Count == 0 && _failedRounds >= MaxCommitRounds)
        {
            Note(Invariant($"no member could commit the pending removes in {_failedRounds} rounds; the room asks again when a member joins or comes back"));
            _stalled = true;
            return;
        }

        _retryArmed = true;
        var backoff = _settings.CommitTimeout * Math.Pow(2, Math.Min(_failedRounds - 1, MaxBackoffDoublings));
        Note(Invariant($"every candidate failed the commit for epoch {Epoch + 1} (round {_failedRounds}); asking again in {backoff.TotalSeconds:0.#} s"));
        _out.Effects.Add(new StartCommitRetry(backoff));
    }

    private void ForgetRounds()
    {
        _failedThisRound.Clear();
        _failedRounds = 0;
        _stalled = false;
        if (_retryArmed)
        {
            _retryArmed = false;
            _out.Effects.Add(CancelCommitRetry.Instance);
        }

        foreach (var join in _pendingAdds.Values)
        {
            join.FailedInRound = false;
            join.RoundsFailed = 0;
        }
    }

    /// <param name="leaving">A LEAVE: a roster member becomes a pending remove. Otherwise (a disconnect) it stays a member, away.</param>
    private void Depart(string clientId, TConnection connection, bool leaving)
    {
        _connected.Remove(clientId);
        _recipients = null;
        _out.Effects.Add(new UnwatchConnection<TConnection>(connection));
        var joining = _pendingAdds.Remove(clientId);
        if (_roster.ContainsKey(clientId))
        {
            if (leaving && _leaves.ContainsKey(clientId))
            {
                _pendingRemoves.Add(clientId); // LEFT, with its proof
            }
            else if (joining && !_leaves.ContainsKey(clientId) && !_absentRemoves.Contains(clientId))
            {
                _pendingRemoves.Remove(clientId); // its replacement went with it: the old entry stays, away
            }

            Emit(new MemberAway(Epoch, clientId, (ulong)NowMs()));
        }

        if (_request is not null && _request.CommitterId == clientId)
        {
            RequestFailed();
        }
    }

    /// <summary>
    /// Asks one member to commit the pending joins and leaves, unless a request is already open, the room waits for its
    /// backoff after a failed round, or it gave the pending removes up until something new comes.
    /// </summary>
    private void RequestCommitIfNeeded()
    {
        if (_request is not null || _retryArmed || _stalled)
        {
            return;
        }

        if (Abandoned() && LastCommit() is not null)
        {
            var joiners = _pendingAdds.Keys.Where(_connected.ContainsKey).ToList();
            if (!EndRoundIfEveryoneFailed(joiners) && Choose(joiners) is { } joiner)
            {
                RequestExternalCommit(joiner, recovered: false);
            }

            return;
        }

        ResetRosterIfAbandoned();
        if (_pendingAdds.Count == 0 && _pendingRemoves.Count == 0)
        {
            ForgetRounds(); // nothing left to commit (its joiners went, its ABSENT removes wait): what failed it says nothing of what comes next
            return;
        }

        var creating = _roster.Count == 0;
        var candidates = (creating
            ? _pendingAdds.Keys.Where(_connected.ContainsKey)
            : _roster.Keys.Where(id => _connected.ContainsKey(id) && !_pendingRemoves.Contains(id))).ToList();
        if (EndRoundIfEveryoneFailed(candidates) || Choose(candidates) is not { } committer)
        {
            return;
        }

        var newEpoch = Epoch + 1;
        var request = new CommitRequest
        {
            NewEpoch = newEpoch,
            DeadlineMs = (uint)Math.Min(uint.MaxValue, _settings.CommitTimeout.TotalMilliseconds),
        };
        IReadOnlyList<RosterMember> asked;
        if (creating)
        {
            var creator = _pendingAdds[committer];
            asked = [creator.Bundle];
            request.Suite = creator.PreferredSuite is CipherSuite.Unspecified || !Enum.IsDefined(creator.PreferredSuite)
                ? CipherSuites.Preferred
                : creator.PreferredSuite;
        }
        else
        {
            asked = [.. _pendingAdds.OrderBy(p => _connected[p.Key].Arrival).Select(p => p.Value.Bundle)];
            request.Removes.AddRange(_pendingRemoves.Select(RemoveFor));
            request.Suite = _suite;
        }

        request.Adds.AddRange(asked.Select(m => new Add { Bundle = m.Bundle, Invite = _invites.GetValueOrDefault(m.ClientId) }));
        _request = new OpenRequest(newEpoch, committer, asked);
        Send(_connected[committer].Connection, ServerFrames.CommitRequest(RoomId, request));
        _out.Effects.Add(new StartCommitDeadline(new CommitDeadlineDue(newEpoch, committer), _settings.CommitTimeout));
    }

    /// <summary>
    /// Nobody can admit a waiting joiner: the roster has members, but none is connected (or only ones rejoining with new keys).
    /// </summary>
    private bool Abandoned() =>
        _roster.Count > 0 && _pendingAdds.Count > 0 && _roster.Keys.All(id => !_connected.ContainsKey(id) || _pendingRemoves.Contains(id));

    /// <summary>The logged commit that made the current epoch, if the log holds it: what an external committer starts from.</summary>
    private SignedCommit? LastCommit() =>
        _commitLog.Last is { } last && last.Value.Epoch == Epoch && WireParsing.TryParse(Envelope.Parser, last.Value.Envelope.Span, out var envelope)
            && envelope.Commit is { } commit
            ? commit
            : null;

    /// <summary>
    /// The joiner to ask for an external commit (PROTOCOL.md §4.2, §8.9) when the room is <see cref="Abandoned"/> and its log
    /// holds the last commit: of the connected waiting joiners, the one with the fewest failed requests, the longest waiting
    /// among equals (as committers are chosen).
    /// </summary>
    private string? ExternalCommitter() =>
        Abandoned() && LastCommit() is not null ? Choose(_pendingAdds.Keys.Where(_connected.ContainsKey)) : null;

    /// <summary>
    /// The candidate to ask (PROTOCOL.md §4.3): one that has not failed the pending change in this round first, so a failed
    /// request always moves on to another candidate; then the fewest failed requests; then the longest present.
    /// </summary>
    private string? Choose(IEnumerable<string> candidates) =>
        candidates.OrderBy(_failedThisRound.Contains).ThenBy(_failures.Of).ThenBy(id => _connected[id].Arrival).FirstOrDefault();

    /// <summary>When every one of the <paramref name="candidates"/> has failed in this round, ends it (<see cref="EndRound"/>) and says so.</summary>
    private bool EndRoundIfEveryoneFailed(List<string> candidates)
    {
        if (candidates.Count == 0 || !candidates.All(_failedThisRound.Contains))
        {
            return false;
        }

        EndRound(candidates.Count);
        return true;
    }

    /// <summary>
    /// Asks <paramref name="joiner"/> to admit itself: JOINED mode EXTERNAL with the room's public state (the last commit, the
    /// kept leaves, its invite), and the commit deadline, as for any request. Only it may commit EXTERNAL for the next epoch.
    /// </summary>
    private void RequestExternalCommit(string joiner, bool recovered)
    {
        var newEpoch = Epoch + 1;
        var state = new PublicRoomState { LastCommit = LastCommit() };
        state.Leaves.AddRange(_leaves.Values);
        if (_invites.TryGetValue(joiner, out var invite))
        {
            state.Invite = invite;
        }

        _request = new OpenRequest(newEpoch, joiner, [_pendingAdds[joiner].Bundle], External: true);
        Note(Invariant($"no member is connected to admit {joiner}; it is asked for an external commit of epoch {newEpoch}"));
        Send(_connected[joiner].Connection, ServerFrames.Joined(RoomId, Epoch, _roster.Count, JoinMode.External, state, recovered));
        _out.Effects.Add(new StartCommitDeadline(new CommitDeadlineDue(newEpoch, joiner), _settings.CommitTimeout));
    }

    /// <summary>
    /// The fallback for a room whose log does not hold its last commit (a journal from before the commit log): when it is
    /// <see cref="Abandoned"/>, the roster is dropped and the joiner creates the room afresh at the next epoch number (never a
    /// used one). Every other room admits the joiner by an external commit instead (<see cref="RequestExternalCommit"/>).
    /// </summary>
    private void ResetRosterIfAbandoned()
    {
        if (Abandoned() && LastCommit() is null)
        {
            Note(Invariant($"nobody can admit a joiner and the log does not hold the last commit; the next joiner re-creates the room after epoch {Epoch}"));
            Emit(new RosterReset(Epoch));
            _pendingRemoves.Clear();
            _absentRemoves.Clear();
            _absenceRetryAtMs.Clear();
            _presumedAwaySinceMs.Clear();
            _failures.Clear();
            ForgetRounds();
        }
    }

    /// <summary>
    /// A member back with a new key and its identity key REJOINED; one that left with a signed leave LEFT, with the leave;
    /// one away too long ABSENT; anyone else REMOVED: it is replaced by a joiner of the same id with another identity
    /// key, admitted by the same commit (honest committers take a REMOVED the server asks for only with that re-add).
    /// </summary>
    private Remove RemoveFor(string clientId)
    {
        if (_pendingAdds.TryGetValue(clientId, out var returning) && _roster.TryGetValue(clientId, out var old)
            && returning.Bundle.IdentityKey.AsSpan().SequenceEqual(old.IdentityKey))
        {
            return new Remove { ClientId = clientId, Reason = RemoveReason.Rejoined };
        }

        if (_leaves.TryGetValue(clientId, out var leave))
        {
            return new Remove { ClientId = clientId, Reason = RemoveReason.Left, Leave = leave };
        }

        return new Remove { ClientId = clientId, Reason = _absentRemoves.Contains(clientId) ? RemoveReason.Absent : RemoveReason.Removed };
    }

    private void SchedulePassivationIfEmpty()
    {
        if (_connected.Count == 0 && _catchingUp.Count == 0)
        {
            _out.Effects.Add(new StartPassivationTimer(_settings.EmptyRoomGracePeriod));
        }
    }

    private RelayView View() => new(RoomId, Epoch, _suite, _roster,
        _pendingAdds.ToDictionary(p => p.Key, p => p.Value.Bundle, StringComparer.Ordinal), _pendingRemoves, _settings.MaxMembers)
    {
        RequestedAdds = _request?.Adds ?? [],
        ExternalCommitter = _request is { External: true } external ? external.CommitterId : null,
        KeptLeaves = _leaves,
        NowMs = NowMs(),
        TranscriptHash = _transcriptHash,
        Policy = _policy,
        Admissions = _admissions,
        MaxFrameBytes = _settings.MaxFrameBytes,
    };

    /// <summary>
    /// Whether <paramref name="clientId"/> had its limit of rekeys accepted in the last minute (a sliding window, kept by
    /// client id, so leaving and joining again does not reset it).
    /// </summary>
    private bool RekeyLimitReached(string clientId, long nowMs) =>
        _recentRekeysMs.TryGetValue(clientId, out var times) && RecentRekeys(times, nowMs) >= _settings.RekeysPerMemberPerMinute;

    private void CountRekey(string clientId, long nowMs)
    {
        if (!_recentRekeysMs.TryGetValue(clientId, out var times))
        {
            times = new Queue<long>();
            _recentRekeysMs[clientId] = times;
        }

        times.Enqueue(nowMs);
        if (_recentRekeysMs.Count > _roster.Count)
        {
            // Ids that left keep their window until it is empty; then they are forgotten, so the record stays roster-sized.
            foreach (var id in _recentRekeysMs.Where(p => RecentRekeys(p.Value, nowMs) == 0).Select(p => p.Key).ToList())
            {
                _recentRekeysMs.Remove(id);
            }
        }
    }

    private static int RecentRekeys(Queue<long> times, long nowMs)
    {
        while (times.Count > 0 && nowMs - times.Peek() >= RekeyWindowMs)
        {
            times.Dequeue();
        }

        return times.Count;
    }

    private RoomRecipient<TConnection>[] Recipients() =>
        _recipients ??= [.. _roster.Keys.Where(_connected.ContainsKey).Select(id => new RoomRecipient<TConnection>(id, _connected[id].Connection))];

    private bool IsConnected(string clientId, TConnection connection) =>
        _connected.TryGetValue(clientId, out var member) && _same.Equals(member.Connection, connection);

    private void Send(TConnection to, ByteString frame) => _out.Effects.Add(new SendFrame<TConnection>(to, frame));

    private void Refuse(TConnection to, ErrorCode code, string reason, bool notInRoom, ulong epoch = 0,
        RelayCommitRejection rejection = RelayCommitRejection.None, ulong sequence = 0) =>
        _out.Effects.Add(new RefuseRequest<TConnection>(to, code, reason, notInRoom, epoch, rejection, sequence));

    private void Note(string text) => _out.Effects.Add(new RoomNote(text));

    private long NowMs() => Math.Max(0, _settings.Clock.UtcNowMs);

    /// <summary>Hands over what the command decided (the absence timer re-armed to match) and starts a fresh outbox for the next one.</summary>
    private RoomDecision<TConnection> Done()
    {
        ScheduleAbsenceCheck();

        if (_out.Events.Count == 0 && _out.Effects.Count == 0 && _out.Logged.Count == 0)
        {
            return RoomDecision<TConnection>.Nothing;
        }

        var decision = new RoomDecision<TConnection>(_out.Events, _out.Effects, null, _out.Logged);
        _out = new Outbox();
        return decision;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private sealed class Outbox
    {
        public List<RoomEvent> Events { get; } = [];

        public List<RoomEffect> Effects { get; } = [];

        public List<RoomEvent> Logged { get; } = [];
    }

    /// <summary>A relayed message whose sender waits for STORED.</summary>
    private sealed record AwaitingStore(ulong Seq, string SenderId, TConnection Connection, ulong Epoch, ulong Generation);

    /// <summary>A resuming member's catch-up: what it was sent so far (last epoch, last number), what it missed, for the log line.</summary>
    private sealed class CatchUp(TConnection connection, ulong fromEpoch, ulong position, bool recovered)
    {
        public TConnection Connection { get; } = connection;

        public ulong FromEpoch { get; } = fromEpoch;

        public bool Recovered { get; } = recovered;

        public ulong EpochSent { get; set; } = fromEpoch;

        public ulong SeqSent { get; set; } = position;

        public ulong Missed { get; set; }

        public int Commits { get; set; }

        public int Messages { get; set; }
    }

    private sealed record Member(TConnection Connection, long Arrival);

    private sealed record PendingJoin(RosterMember Bundle, CipherSuite PreferredSuite)
    {
        /// <summary>A request naming this joiner failed in the current round.</summary>
        public bool FailedInRound { get; set; }

        /// <summary>Rounds of failed requests for its admission it has waited through.</summary>
        public int RoundsFailed { get; set; }
    }

    /// <param name="External">The request is a JOINED EXTERNAL to a joiner: it alone may commit EXTERNAL for <paramref name="NewEpoch"/>.</param>
    private sealed record OpenRequest(ulong NewEpoch, string CommitterId, IReadOnlyList<RosterMember> Adds, bool External = false);

    /// <summary>
    /// Failed commit requests per member (the deadline passed, or it left while asked), kept across epochs so a member
    /// that never commits is not asked first again and again: cleared when a commit of that member is accepted, and
    /// when a commit admits or removes it (a member admitted again is a fresh candidate).
    /// </summary>
    private sealed class CommitterFailures
    {
        private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);

        public int Of(string clientId) => _counts.GetValueOrDefault(clientId);

        public void Failed(string clientId) => _counts[clientId] = Of(clientId) + 1;

        public void Forget(string clientId) => _counts.Remove(clientId);

        public void Clear() => _counts.Clear();
    }
}
