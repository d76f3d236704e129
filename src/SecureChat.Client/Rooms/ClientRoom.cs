using SecureChat.Client.Session;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;
using Joined = SecureChat.Core.Wire.Joined;
using JoinedEvent = SecureChat.Client.Session.Joined;

namespace SecureChat.Client.Rooms;

/// <summary>
/// One room of one user: drives that room's <see cref="GroupSession"/> (which does every check and all the
/// crypto) through the join, the epoch changes and the messages, as PROTOCOL.md §18 describes. Plain,
/// synchronous and deterministic: inputs are method calls (the link, a frame from the server, the user's
/// commands, a tick), and each returns the <see cref="RoomEffects"/> to carry out. The client actor, the test
/// harnesses and the benchmark all drive rooms through this class; they differ only in their transport.
/// </summary>
/// <remarks>
/// <para>Phases: see <see cref="RoomPhase"/>. Sends before the keys are ready are queued and messages for
/// epochs not reached yet are held; both are bounded (<see cref="ClientSessionSettings"/>).</para>
/// <para>Each queued text remembers the roster it was typed for (the last roster the room had keys for). When it
/// could go but the roster has gained members since, it is held and the user told who joined; it goes only after
/// <see cref="SendQueued"/>, or is dropped by <see cref="DropQueued"/>. Removals alone do not hold it. Text typed
/// before the room was ever admitted was typed for no known roster and goes to the roster that admits us (whose
/// members are reported just before).</para>
/// <para>Commits: a COMMIT_REQUEST is answered with the engine's commit, which takes effect only when the relay
/// echoes it. A second request for the epoch of our pending commit gets nothing: the first copy is already on
/// this connection ahead of anything we could send (and a new connection is a new session), so a copy would
/// only arrive after the epoch was decided and come back as COMMIT_REJECTED. A request for another epoch
/// while ours is pending means the server moved on: the pending commit is dropped and a new one built.</para>
/// <para>Resuming: a lost link keeps a session that is a member (its membership key included); the next link sends JOIN
/// with its roster entry and the last epoch it applied, applies the commits the server resends, and is back when JOINED
/// RESUMED arrives (PROTOCOL.md §4.2.1) — no commit. REJOIN_NEEDED, or a refused resume, joins afresh.</para>
/// <para>Rejoining: a missed commit (EpochGap), a fork (TranscriptMismatch), a signed commit we cannot use (our
/// wrap does not open, WrapFailed, or it does not confirm the secret, ConfirmationFailed), removal by a commit, or the
/// server saying NOT_A_MEMBER while we hold keys leave the room's keys unusable: the room sends LEAVE, opens a new
/// session and sends JOIN again; queued sends wait for the new keys.</para>
/// <para>Rekeying: after every send and every tick the room commits a rekey when the engine asks for one
/// (<see cref="GroupSession.NeedsRekey"/>); once the relay refuses one (it limits rekeys per member), the room waits
/// <see cref="ClientSessionSettings.RekeyRetryDelay"/> before it rekeys by itself again.</para>
/// <para>Acknowledgements: every message sent is kept (by its epoch and generation) until the relay answers RELAYED for
/// it. An ERROR refusing it, no RELAYED within <see cref="ClientSessionSettings.AckTimeout"/>, the link dropping first, or
/// the user leaving first reports it as <see cref="MessageNotDelivered"/>. Nothing is resent: when only the
/// acknowledgement was lost, a resend would deliver the message twice.</para>
/// <para>With a server that keeps a message log (WELCOME message_log, PROTOCOL.md §4.4.1) a sent message waits for STORED
/// (<see cref="MessageStored"/>: durable in the room's log), RELAYED is only the step before; a link lost keeps what was
/// not STORED, and after the resume (JOINED RESUMED) sends it again byte for byte (members drop a copy they already
/// have by the replay rule). The room follows its position in the log (<see cref="Position"/>: the highest room_seq
/// received), acknowledges it to the server in batches (ACK), resumes from it, and reports a history gap the server
/// names (<see cref="HistoryGap"/>).</para>
/// </remarks>
public sealed class ClientRoom : IDisposable
{
    private readonly Func<GroupSession> _openSession;
    private readonly IClock _clock;
    private readonly ClientSessionSettings _settings;
    private readonly IRoomObserver? _observer;
    private readonly RoomEffects _effects = new();
    private readonly LinkedList<QueuedText> _queuedSends = new();
    private readonly Queue<Envelope> _held = new();

    /// <summary>Messages received before the room acknowledges its position to the server (ACK) by itself.</summary>
    public const int PositionAckEvery = 64;

    // Sent messages waiting for RELAYED (STORED with a message log), oldest first (so oldest deadline first), and by (epoch, generation).
    private readonly LinkedList<UnackedMessage> _unacked = new();
    private readonly Dictionary<(ulong Epoch, ulong Generation), LinkedListNode<UnackedMessage>> _unackedById = [];

    // The driver's acknowledgement check is set (AckCheckIn was asked for and AcksOverdue has not been called since).
    private bool _ackCheckSet;

    private GroupSession? _session;

    // The ids of the last roster the room had keys for (kept across reconnects and rejoins); null before the first.
    private IReadOnlySet<string>? _knownRoster;

    // Who had joined since the head of the queue was typed, as last reported (QueuedSendsHeld).
    private IReadOnlyList<string> _heldReported = [];
    private bool _queueFullWarned;
    private bool _blockedWarned;
    private bool _everKeyed;
    private long _autoRekeyNotBeforeMs;

    // A resume is out (JOIN with our roster entry): the epoch it started from, the commits applied since, and whether
    // one of them left us without keys (so the room joins afresh once JOINED ends the resume).
    private bool _resuming;
    private ulong _resumedFrom;
    private int _caughtUp;
    private bool _rejoinAfterResume;

    // The server keeps a message log (its WELCOME said so); the room's position in it, the one last acknowledged, and
    // messages received since.
    private bool _serverKeepsMessages;
    private ServerLimits? _serverLimits;
    private ulong _acknowledgedPosition;
    private int _receivedSinceAck;

    /// <param name="openSession">A new engine session for this room (a new membership key); called on every (re)join.</param>
    /// <param name="clock">Stamps received messages and times the rekey retry.</param>
    /// <param name="observer">Sees the engine's outcomes (test harnesses); null for none.</param>
    public ClientRoom(string roomId, Func<GroupSession> openSession, IClock clock, ClientSessionSettings? settings = null, IRoomObserver? observer = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(roomId);
        ArgumentNullException.ThrowIfNull(openSession);
        ArgumentNullException.ThrowIfNull(clock);
        RoomId = roomId;
        _openSession = openSession;
        _clock = clock;
        _settings = settings ?? new ClientSessionSettings();
        _observer = observer;
    }

    public string RoomId { get; }

    public RoomPhase Phase { get; private set; } = RoomPhase.Offline;

    /// <summary>
    /// When false, sessions the room replaces or drops are not disposed: whoever opened them keeps them
    /// (test harnesses attack with an outsider's whole state). True for a real client: keys are erased at once.
    /// </summary>
    public bool OwnsSessions { get; init; } = true;

    /// <summary>The suite asked for in JOIN (the creator's choice for a new room): the fastest this machine runs.</summary>
    public CipherSuite PreferredSuite { get; init; } = CipherSuites.Preferred;

    /// <summary>The current engine session; null while offline or after leaving.</summary>
    public GroupSession? Session => _session;

    /// <summary>True in <see cref="RoomPhase.Ready"/> and <see cref="RoomPhase.Committing"/>: the current epoch's keys are usable.</summary>
    public bool IsKeyed => Phase is RoomPhase.Ready or RoomPhase.Committing;

    public ulong Epoch => _session?.Epoch ?? 0;

    public IReadOnlyList<RosterMember> Roster => _session?.Roster ?? [];

    /// <summary>What members compare; null until the room has keys.</summary>
    public string? EpochCode => IsKeyed ? _session?.EpochCode : null;

    public int QueuedSends => _queuedSends.Count;

    /// <summary>Messages sent and not yet acknowledged by the relay (RELAYED, or STORED with a message log), nor reported as not delivered.</summary>
    public int Unacknowledged => _unacked.Count;

    /// <summary>
    /// The highest room_seq this room has received (messages, RELAYED, STORED, the end of a catch-up): what a resume asks the
    /// server to replay after (JOIN.last_seq). Kept with the room's state by a client that stores it (<see cref="RestorePosition"/>).
    /// </summary>
    public ulong Position { get; private set; }

    /// <summary>
    /// Messages sent and not STORED yet, oldest first, with their envelopes: what a client that stores its state keeps, to be
    /// sent again after the next resume (<see cref="RestoreUnstored"/>).
    /// </summary>
    public IReadOnlyList<UnstoredMessage> Unstored => [.. _unacked.Select(m => new UnstoredMessage(m.Epoch, m.Generation, m.Envelope, m.Text))];

    /// <summary>A stored position (<see cref="Position"/>) back after a restart; only ever moves it forward.</summary>
    public void RestorePosition(ulong position) => Position = Math.Max(Position, position);

    /// <summary>Stored unstored messages back after a restart (<see cref="Unstored"/>): sent again after the next resume.</summary>
    public void RestoreUnstored(IEnumerable<UnstoredMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        foreach (var message in messages.Where(m => !_unackedById.ContainsKey((m.Epoch, m.Generation))))
        {
            _unackedById[(message.Epoch, message.Generation)] =
                _unacked.AddLast(new UnackedMessage(message.Epoch, message.Generation, Preview(message.Text), long.MaxValue, message.Envelope, message.Text));
        }
    }

    /// <summary>Texts typed and not sent yet (no keys, offline, held), oldest first, with the roster each was typed for (null: none known).</summary>
    public IReadOnlyList<(string Text, IReadOnlySet<string>? TypedFor)> Queued => [.. _queuedSends.Select(q => (q.Text, q.TypedFor))];

    /// <summary>The ids of the last roster the room had keys for (null before the first): kept with the room's state.</summary>
    public IReadOnlySet<string>? KnownRoster => _knownRoster;

    /// <summary>
    /// A stored session back after a restart (<see cref="GroupSession.ImportState"/>), before the first link: a member session
    /// resumes on <see cref="LinkReady"/> like one kept across a lost link. Only while offline and before any other input.
    /// </summary>
    public void RestoreSession(GroupSession session, IReadOnlySet<string>? knownRoster)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (Phase != RoomPhase.Offline || _session is not null)
        {
            throw new InvalidOperationException("a session is restored only into a new room, before its first link");
        }

        _session = session;
        _everKeyed = session.Status == GroupStatus.Active;
        _knownRoster = knownRoster ?? session.Roster.Select(m => m.ClientId).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Stored queued texts back after a restart (<see cref="Queued"/>): sent, in order, once the room has keys.</summary>
    public void RestoreQueued(IEnumerable<(string Text, IReadOnlySet<string>? TypedFor)> queued)
    {
        ArgumentNullException.ThrowIfNull(queued);
        foreach (var (text, typedFor) in queued)
        {
            _queuedSends.AddLast(new QueuedText(text, typedFor));
        }
    }

    /// <summary>Messages for an epoch not reached yet, oldest first; retried after each accepted commit.</summary>
    public IReadOnlyCollection<Envelope> Held => _held;

    public TimeSpan AdmissionTimeout => _settings.AdmissionTimeout;

    /// <summary>
    /// A (new) connection is up and greeted: a session that was a member resumes (JOIN with its roster entry and the last
    /// epoch it applied, PROTOCOL.md §4.2); otherwise the room joins with a new session.
    /// </summary>
    /// <param name="serverKeepsMessages">The server's WELCOME said message_log: STORED comes, and a resume replays messages.</param>
    /// <param name="limits">The room size and frame limit the server's WELCOME announced: the commits made on this connection fit them.</param>
    public RoomEffects LinkReady(bool serverKeepsMessages = false, ServerLimits? limits = null)
    {
        Begin();
        _serverKeepsMessages = serverKeepsMessages;
        _serverLimits = limits;
        AdoptServerLimits();
        if (Phase == RoomPhase.Offline)
        {
            if (_session is { Status: GroupStatus.Active })
            {
                StartResume();
            }
            else
            {
                StartJoin();
            }
        }

        return _effects;
    }

    /// <summary>
    /// The connection is down: a disconnect is not a leave, so a session that is a member is kept (with its membership key)
    /// to resume on the next connection; any other session is dropped. Sends wait for the room to be back, and messages the
    /// relay has not acknowledged are reported as not delivered (their acknowledgements can no longer come).
    /// </summary>
    public RoomEffects LinkLost()
    {
        Begin();
        if (Phase is not (RoomPhase.Offline or RoomPhase.Left))
        {
            GoOffline();
        }

        if (_serverKeepsMessages && _session is { Status: GroupStatus.Active })
        {
            // Kept for the resume: what the room's log holds comes back as STORED, the rest is sent again.
            foreach (var message in _unacked)
            {
                message.DeadlineMs = long.MaxValue;
            }
        }
        else
        {
            ReportAllUnacknowledged(NotDeliveredReason.LinkLost);
        }

        return _effects;
    }

    /// <summary>
    /// The session stopped reconnecting: as <see cref="LinkLost"/>, but nothing is kept for a resume that may never come —
    /// every message the relay has not acknowledged is reported as not delivered, for <paramref name="reason"/>. Messages not
    /// sent yet stay queued (a later reconnect sends them).
    /// </summary>
    public RoomEffects LinkStopped(NotDeliveredReason reason)
    {
        Begin();
        if (Phase is not (RoomPhase.Offline or RoomPhase.Left))
        {
            GoOffline();
        }

        ReportAllUnacknowledged(reason);
        return _effects;
    }

    /// <summary>
    /// The acknowledgement check asked for by <see cref="RoomEffects.AckCheckIn"/> is due: each message sent longer than
    /// <see cref="ClientSessionSettings.AckTimeout"/> ago without RELAYED is reported as not delivered.
    /// </summary>
    public RoomEffects AcksOverdue()
    {
        Begin();
        _ackCheckSet = false;
        var now = _clock.UtcNowMs;
        while (_unacked.First is { } oldest && oldest.Value.DeadlineMs <= now)
        {
            ReportNotDelivered(oldest, NotDeliveredReason.NoAcknowledgement);
        }

        ScheduleAckCheck();
        return _effects;
    }

    /// <summary>A frame from the server for this room.</summary>
    public RoomEffects Frame(Envelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        Begin();
        switch (Phase)
        {
            case RoomPhase.Offline or RoomPhase.Left:
                // A frame of a connection that is gone, or for a room we left: nothing to do with it.
                break;
            case RoomPhase.Joining when envelope.Type == MessageType.Joined && _resuming:
                OnResumeAnswered(envelope.Joined);
                break;
            case RoomPhase.Joining when envelope.Type == MessageType.Joined:
                OnJoined(envelope.Joined);
                break;
            case RoomPhase.Joining when envelope.Type == MessageType.Error && _resuming && envelope.Error.Code != ErrorCode.CommitRejected:
                // The server would not take our roster entry (expired, or a server that keeps no log): join afresh.
                _resuming = false;
                _effects.Report(new Rejoining(RoomId, RejoinReason.ResumeNotPossible, envelope.Error.Reason));
                Rejoin();
                break;
            case RoomPhase.Joining when envelope.Type == MessageType.Error && !_resuming:
                OnJoinRefused(envelope.Error);
                break;
            default:
                // Before JOINED only a misbehaving relay sends more; the engine checks those frames as it checks any.
                OnRoomFrame(envelope);
                break;
        }

        return _effects;
    }

    /// <summary>A message from the user: encrypted and sent when the keys allow, else queued (bounded).</summary>
    public RoomEffects Send(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Begin();
        if (Phase == RoomPhase.Left)
        {
            _effects.Report(new NotInRoom(RoomId));
        }
        else if (!IsKeyed)
        {
            Queue(text);
        }
        else if (_queuedSends.Count > 0)
        {
            // Keep the order: older queued sends go first. If they are held, say so again: this text waits behind them.
            Queue(text);
            _heldReported = [];
            FlushQueuedSends();
        }
        else if (!TrySeal(text))
        {
            Queue(text);
        }

        RekeyIfDue();
        return _effects;
    }

    /// <summary>The user sends the texts held because the room gained members since they were typed (to the roster as it is now).</summary>
    public RoomEffects SendQueued()
    {
        Begin();
        var now = _knownRoster;
        return ResolveHeld(node => node.Value = node.Value with { TypedFor = now }, count => new QueuedSendsReleased(RoomId, count));
    }

    /// <summary>The user drops the texts held because the room gained members since they were typed; later ones still go.</summary>
    public RoomEffects DropQueued()
    {
        Begin();
        return ResolveHeld(_queuedSends.Remove, count => new QueuedSendsDropped(RoomId, count));
    }

    /// <summary>The user accepted a changed identity key (in the shared trust store): sends held for it may go.</summary>
    public RoomEffects TrustChanged()
    {
        Begin();
        FlushQueuedSends();
        return _effects;
    }

    /// <summary>Commits a rekey now (post-compromise healing); nothing unless the room has keys. A pending commit of ours is not sent again.</summary>
    public RoomEffects Rekey()
    {
        Begin();
        if (IsKeyed)
        {
            CommitRekey();
        }

        return _effects;
    }

    /// <summary>Periodic: erases old epochs' keys whose retention passed, reports messages the server withheld, and rekeys when the engine asks for it.</summary>
    public RoomEffects Tick()
    {
        Begin();
        if (_session is { } session)
        {
            ReportWithheld(session.Tick());
        }

        if (IsKeyed && Position > _acknowledgedPosition)
        {
            AcknowledgePosition();
        }

        RekeyIfDue();
        return _effects;
    }

    /// <summary>The admission timer started by <see cref="AdmissionTimer.Start"/> expired.</summary>
    public RoomEffects AdmissionOverdue()
    {
        Begin();
        if (Phase == RoomPhase.AwaitingAdmission)
        {
            _effects.Report(new StillWaitingForAdmission(RoomId, _settings.AdmissionTimeout));
        }

        return _effects;
    }

    /// <summary>
    /// /invite ID: a signed invite of <paramref name="inviteeId"/> (the engine's, 30 days) to the server, which keeps it for the
    /// invitee's admission and echoes it (<see cref="InviteSent"/>). Members check it again when a commit adds the invitee.
    /// </summary>
    public RoomEffects Invite(string inviteeId)
    {
        ArgumentNullException.ThrowIfNull(inviteeId);
        Begin();
        if (MembershipCommandRefused(inviteeId) is null)
        {
            _effects.Send(new Envelope
            {
                Version = WireLimits.ProtocolVersion,
                Type = MessageType.Invite,
                SenderId = _session!.LocalClientId,
                RoomId = RoomId,
                Invite = _session.CreateInvite(inviteeId),
            });
        }

        return _effects;
    }

    /// <summary>/remove ID: a commit of ours removing <paramref name="clientId"/> (REMOVED); the server relays it and cannot veto it.</summary>
    public RoomEffects Remove(string clientId)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        Begin();
        if (MembershipCommandRefused(clientId) is null)
        {
            if (_session!.Roster.All(m => m.ClientId != clientId))
            {
                _effects.Report(new MembershipChangeNotMade(RoomId, $"{clientId} is not a member"));
            }
            else
            {
                SendMembershipCommit(_session.CreateRemoveCommit([clientId]), new MembershipCommitSent(RoomId, clientId, null));
            }
        }

        return _effects;
    }

    /// <summary>/policy open|invite: a commit of ours with a SetPolicy operation (the absence limit stays).</summary>
    public RoomEffects SetPolicy(Admission admission)
    {
        Begin();
        if (MembershipCommandRefused(clientId: null) is null)
        {
            var policy = _session!.Policy ?? RoomPolicies.Default;
            if (policy.Admission == admission)
            {
                _effects.Report(new MembershipChangeNotMade(RoomId, $"the room's policy already is {Describe(admission)}"));
            }
            else
            {
                policy.Admission = admission;
                SendMembershipCommit(_session.CreatePolicyCommit(policy), new MembershipCommitSent(RoomId, null, admission));
            }
        }

        return _effects;
    }

    /// <summary>The user leaves the room: LEAVE out (when connected), queued sends reported, the room closes.</summary>
    public RoomEffects Leave()
    {
        Begin();
        if (Phase != RoomPhase.Left)
        {
            LeaveRoom(sendLeave: Phase != RoomPhase.Offline);
        }

        return _effects;
    }

    public void Dispose() => RetireSession();

    private void Begin() => _effects.Clear();

    /// <summary>Why a membership command cannot go out now (reported), or null.</summary>
    private string? MembershipCommandRefused(string? clientId)
    {
        var why = !IsKeyed || _session is null ? "not a member of the room yet (no keys)"
            : Phase == RoomPhase.Committing ? "a commit of ours is still on its way; try again in a moment"
            : clientId is not null && !EnvelopeCodec.IsValidId(clientId) ? "not a valid client id"
            : clientId == _session.LocalClientId ? "that is you (use /leave)"
            : null;
        if (why is not null)
        {
            _effects.Report(new MembershipChangeNotMade(RoomId, why));
        }

        return why;
    }

    private void SendMembershipCommit(CommitCreation creation, MembershipCommitSent sent)
    {
        switch (Observe(creation))
        {
            case CommitCreated { Repeated: false } created:
                _effects.Send(_session!.CommitEnvelope(created.Commit));
                _effects.Report(sent);
                Phase = RoomPhase.Committing;
                break;
            case CommitNotCreated refused:
                _effects.Report(new CommitRequestRefused(RoomId, refused.Reason));
                break;
        }
    }

    private static string Describe(Admission admission) => admission == Admission.Invite ? "invite" : "open";

    /// <summary>Asks the driver for a check at the oldest unacknowledged message's deadline, unless one is set.</summary>
    private void ScheduleAckCheck()
    {
        if (_ackCheckSet || _unacked.First is not { } oldest || oldest.Value.DeadlineMs == long.MaxValue)
        {
            return; // nothing sent, or only messages kept for the next resume
        }

        _ackCheckSet = true;
        _effects.SetAckCheck(TimeSpan.FromMilliseconds(Math.Max(0, oldest.Value.DeadlineMs - _clock.UtcNowMs)));
    }

    private void AwaitAcknowledgement(Envelope sent, string text)
    {
        var node = _unacked.AddLast(new UnackedMessage(sent.Epoch, sent.Sequence, Preview(text),
            _clock.UtcNowMs + (long)_settings.AckTimeout.TotalMilliseconds, sent, text));

        // A (epoch, generation) is never sealed twice by one session, and a new session starts at a later epoch.
        _unackedById[(sent.Epoch, sent.Sequence)] = node;
        _effects.Report(new MessageSent(RoomId, sent.Epoch, sent.Sequence, text));
        ScheduleAckCheck();
    }

    /// <summary>
    /// RELAYED: the relay handed our message to the members connected then; with a message log it still waits for STORED.
    /// One for no message waiting is ignored.
    /// </summary>
    private void OnRelayed(Envelope relayed)
    {
        Advance(relayed.RoomSeq);
        if (!_unackedById.TryGetValue((relayed.Epoch, relayed.Sequence), out var node) || node.Value.Relayed)
        {
            return;
        }

        if (_serverKeepsMessages)
        {
            node.Value.Relayed = true;
        }
        else
        {
            _unackedById.Remove((relayed.Epoch, relayed.Sequence));
            _unacked.Remove(node);
        }

        _effects.Report(new MessageRelayed(RoomId, relayed.Epoch, relayed.Sequence));
    }

    /// <summary>STORED: our message is durable in the room's log (PROTOCOL.md §4.4.1); the last word on it. One for no message waiting is ignored.</summary>
    private void OnStored(Envelope stored)
    {
        Advance(stored.RoomSeq);
        if (_unackedById.Remove((stored.Epoch, stored.Sequence), out var node))
        {
            _unacked.Remove(node);
            _effects.Report(new MessageStored(RoomId, stored.Epoch, stored.Sequence, stored.RoomSeq));
        }
    }

    /// <summary>A frame numbered <paramref name="roomSeq"/> arrived: the position moves on.</summary>
    private void Advance(ulong roomSeq)
    {
        if (roomSeq > Position)
        {
            Position = roomSeq;
        }
    }

    /// <summary>A received message: every <see cref="PositionAckEvery"/> of them the position is acknowledged (ACK).</summary>
    private void CountReceived(ulong roomSeq)
    {
        if (roomSeq == 0)
        {
            return;
        }

        Advance(roomSeq);
        if (++_receivedSinceAck >= PositionAckEvery && !_resuming)
        {
            AcknowledgePosition();
        }
    }

    /// <summary>ACK with the room's position: reported first (<see cref="PositionAcknowledged"/>), so a client storing it can keep it before it goes.</summary>
    private void AcknowledgePosition()
    {
        _receivedSinceAck = 0;
        _acknowledgedPosition = Position;
        _effects.Report(new PositionAcknowledged(RoomId, Position));
        _effects.Send(new Envelope
        {
            Version = WireLimits.ProtocolVersion, Type = MessageType.Ack, SenderId = _session!.LocalClientId, RoomId = RoomId, RoomSeq = Position,
        });
    }

    /// <summary>After a resume: our messages the log does not hold (no STORED came in the catch-up) go again, byte for byte.</summary>
    private void ResendUnstored()
    {
        var deadline = _clock.UtcNowMs + (long)_settings.AckTimeout.TotalMilliseconds;
        foreach (var message in _unacked)
        {
            message.DeadlineMs = deadline;
            message.Relayed = false;
            _effects.Send(message.Envelope);
        }

        ScheduleAckCheck();
    }

    /// <summary>An ERROR naming one of our unacknowledged messages (its epoch and generation) refused it; true when it did.</summary>
    private bool RefusedOurMessage(Envelope error)
    {
        if (error.Error.Code is not (ErrorCode.NotAMember or ErrorCode.StaleEpoch)
            || !_unackedById.TryGetValue((error.Epoch, error.Sequence), out var node))
        {
            return false;
        }

        ReportNotDelivered(node, NotDeliveredReason.Refused, error.Error.Code, error.Error.Reason);
        return true;
    }

    private void ReportAllUnacknowledged(NotDeliveredReason reason)
    {
        while (_unacked.First is { } oldest)
        {
            ReportNotDelivered(oldest, reason);
        }
    }

    private void ReportNotDelivered(LinkedListNode<UnackedMessage> node, NotDeliveredReason reason, ErrorCode wireCode = ErrorCode.Unspecified,
        string? untrustedServerReason = null)
    {
        var message = node.Value;
        _unacked.Remove(node);
        _unackedById.Remove((message.Epoch, message.Generation));
        _effects.Report(new MessageNotDelivered(RoomId, message.Epoch, message.Generation, message.Preview, reason, wireCode, untrustedServerReason));
    }

    private static string Preview(string text) =>
        text.Length <= MessageNotDelivered.MaxPreviewLength ? text : text[..(MessageNotDelivered.MaxPreviewLength - 3)] + "...";

    private void OnRoomFrame(Envelope envelope)
    {
        switch (envelope.Type)
        {
            case MessageType.Application:
                Decrypt(envelope, fromHold: false);
                break;
            case MessageType.Commit:
                OnCommit(envelope.Commit);
                break;
            case MessageType.CommitRequest:
                OnCommitRequest(envelope.CommitRequest);
                break;
            case MessageType.Error:
                OnRoomError(envelope);
                break;
            case MessageType.Invite when Invites.Parse(envelope.Invite) is { } invite && invite.InviterId == _session?.LocalClientId:
                // The server's echo of our invite: it kept it (what it says is not trusted; members check the invite again).
                _effects.Report(new InviteSent(RoomId, invite.InviteeId));
                break;
            case MessageType.Relayed:
                OnRelayed(envelope);
                break;
            case MessageType.Stored:
                OnStored(envelope);
                break;
            case MessageType.Joined when envelope.Joined.Mode == JoinMode.External && _session?.Status == GroupStatus.Joining:
                CommitExternally(envelope.Joined.CurrentEpoch + 1, envelope.Joined.State ?? new PublicRoomState());
                break;
            default:
                // A repeated JOINED, or a frame type the server never sends for a room: nothing to do.
                break;
        }
    }

    private void StartResume()
    {
        var session = _session!;
        _resuming = true;
        _resumedFrom = session.Epoch;
        _caughtUp = 0;
        _rejoinAfterResume = false;
        _effects.Send(new Envelope
        {
            Version = WireLimits.ProtocolVersion,
            Type = MessageType.Join,
            SenderId = session.LocalClientId,
            RoomId = RoomId,
            Join = new Join
            {
                Bundle = session.CurrentBundle, PreferredSuite = PreferredSuite, SupportedSuites = { CipherSuites.Supported }, KnownEpoch = session.Epoch,
                LastSeq = Position,
            },
        });
        Phase = RoomPhase.Joining;
    }

    /// <summary>JOINED answering our resume: RESUMED after the commits we missed (already applied), or REJOIN_NEEDED.</summary>
    private void OnResumeAnswered(Joined joined)
    {
        var session = _session!;
        if (joined is { Mode: JoinMode.Resumed, CatchingUp: true } && !_rejoinAfterResume && session.Status == GroupStatus.Active)
        {
            // A chunk of the catch-up ended: acknowledging it asks for the next.
            Advance(joined.LastSeq);
            AcknowledgePosition();
            return;
        }

        _resuming = false;
        if (joined.Missed > 0)
        {
            _effects.Report(new HistoryGap(RoomId, joined.Missed, Position));
        }

        if (joined.Mode == JoinMode.Resumed && !_rejoinAfterResume && session.Status == GroupStatus.Active)
        {
            // Any commit of ours not among those resent was never accepted: it will not be echoed.
            AbandonPendingCommit(refusedEpoch: 0);
            Advance(joined.LastSeq);
            _effects.Report(new Resumed(RoomId, _resumedFrom, session.Epoch, _caughtUp));
            Phase = RoomPhase.Ready;
            if (_serverKeepsMessages)
            {
                AcknowledgePosition();
                ResendUnstored();
            }

            RetryHeld();
            FlushQueuedSends();
            RekeyIfDue();
            return;
        }

        if (!_rejoinAfterResume)
        {
            _effects.Report(new Rejoining(RoomId, RejoinReason.ResumeNotPossible, UntrustedServerReason: null));
        }

        Rejoin();
    }

    /// <summary>Our keys are unusable: join afresh now, or, while a resume is out, once its JOINED arrives (it answers that JOIN).</summary>
    private void RejoinWhenAnswered()
    {
        if (_resuming)
        {
            _rejoinAfterResume = true;
            return;
        }

        Rejoin();
    }

    private void StartJoin()
    {
        _resuming = false;

        // Messages kept across a lost link for the resume: a new session cannot send the old one's envelopes again.
        for (var node = _unacked.First; node is not null;)
        {
            var next = node.Next;
            if (node.Value.DeadlineMs == long.MaxValue)
            {
                ReportNotDelivered(node, NotDeliveredReason.LinkLost);
            }

            node = next;
        }

        RetireSession();
        var session = _openSession();
        _session = session;
        AdoptServerLimits();
        _held.Clear();
        _effects.Send(new Envelope
        {
            Version = WireLimits.ProtocolVersion,
            Type = MessageType.Join,
            SenderId = session.LocalClientId,
            RoomId = RoomId,
            Join = new Join { Bundle = session.JoinBundle, PreferredSuite = PreferredSuite, SupportedSuites = { CipherSuites.Supported } },
        });
        Phase = RoomPhase.Joining;
    }

    private void OnJoined(Joined joined)
    {
        Advance(joined.LastSeq); // a new member starts here: nothing before it is for its keys
        _effects.Report(new JoinedEvent(RoomId, joined.CurrentEpoch, (int)joined.MemberCount, joined.Recovered));
        _effects.SetTimer(AdmissionTimer.Start);
        Phase = RoomPhase.AwaitingAdmission;
        if (joined.Mode == JoinMode.External)
        {
            CommitExternally(joined.CurrentEpoch + 1, joined.State ?? new PublicRoomState());
        }
    }

    /// <summary>
    /// JOINED EXTERNAL (first, or again while we wait: the last member online went away, or the asked joiner before us failed):
    /// no member can admit us, so we admit ourselves by an external commit from the room's public state (PROTOCOL.md §8.9). It
    /// takes effect on its echo, like any commit of ours; a member's commit that admits us first supersedes it.
    /// </summary>
    /// <param name="newEpoch">The epoch the external commit is for: the room's current epoch (JOINED) + 1.</param>
    private void CommitExternally(ulong newEpoch, PublicRoomState state)
    {
        var session = _session!;
        switch (BuildCommit(s => s.CreateExternalCommit(state)))
        {
            case CommitCreated { Repeated: true }:
                // Already on this connection, ahead of anything we could send.
                break;
            case CommitCreated created:
                _effects.Send(session.CommitEnvelope(created.Commit));
                break;
            case CommitNotCreated refused:
                _effects.Report(new ExternalCommitFailed(RoomId, refused.Reason, UntrustedServerReason: null));
                DeclineCommit(newEpoch, refused.Reason);
                break;
        }
    }

    private void OnJoinRefused(Error error)
    {
        _effects.Report(new JoinRefused(RoomId, error.Code, error.Reason));
        LeaveRoom(sendLeave: false);
    }

    private void OnCommitRequest(CommitRequest request)
    {
        var session = _session!;
        switch (BuildCommit(s => s.CreateCommit(request)))
        {
            case CommitCreated { Repeated: true }:
                // Already sent on this connection (see the remarks on the class).
                break;
            case CommitCreated created:
                foreach (var skipped in created.SkippedAdds)
                {
                    _effects.Report(new JoinerNotAdmitted(RoomId, skipped));
                }

                _effects.Send(session.CommitEnvelope(created.Commit));
                if (Phase == RoomPhase.Ready)
                {
                    Phase = RoomPhase.Committing;
                }

                break;
            case CommitNotCreated { Reason: CommitRefusal.NothingToCommit }:
                DeclineCommit(request.NewEpoch, CommitRefusal.NothingToCommit);
                break;
            case CommitNotCreated refused:
                _effects.Report(new CommitRequestRefused(RoomId, refused.Reason));
                DeclineCommit(request.NewEpoch, refused.Reason);
                break;
        }
    }

    /// <summary>
    /// Tells the server we cannot make the commit it asked for (ERROR CANNOT_COMMIT, PROTOCOL.md §4.3), so that it asks the next
    /// member at once instead of waiting for the deadline.
    /// </summary>
    private void DeclineCommit(ulong newEpoch, CommitRefusal reason) => _effects.Send(new Envelope
    {
        Version = WireLimits.ProtocolVersion,
        Type = MessageType.Error,
        SenderId = _session!.LocalClientId,
        RoomId = RoomId,
        Epoch = newEpoch,
        Error = new Error { Code = ErrorCode.CannotCommit, Reason = reason.ToString() },
    });

    /// <summary>The server's announced limits (if any) bind the session's commits; each connection's WELCOME says them anew.</summary>
    private void AdoptServerLimits()
    {
        if (_serverLimits is { } limits && _session is { } session)
        {
            session.AdoptServerLimits(limits.MaxMembersPerRoom, limits.MaxFrameBytes);
        }
    }

    private void OnCommit(SignedCommit commit)
    {
        var session = _session!;
        var before = session.Roster; // immutable per epoch: still the old roster after the commit
        var outcome = session.ProcessCommit(commit);
        _observer?.CommitProcessed(outcome);
        ReportWithheld(outcome.Withheld);
        switch (outcome)
        {
            case CommitAccepted accepted:
                OnNewEpoch(accepted, before);
                break;
            case CommitRejected { Reason: CommitRejection.EpochGap or CommitRejection.TranscriptMismatch or CommitRejection.WrapFailed
                or CommitRejection.ConfirmationFailed } rejected:
                // Each leaves us without the new epoch's keys for good; such a commit was signed by a member (the signature
                // is checked first), so the room did move on without a key we can use.
                _effects.Report(new CommitRefused(RoomId, rejected.Reason, rejected.Epoch, Rejoining: true));
                RejoinWhenAnswered();
                break;
            case CommitRejected rejected:
                _effects.Report(new CommitRefused(RoomId, rejected.Reason, rejected.Epoch, Rejoining: false));
                break;
            default:
                // Already applied, stale (lost a race) or not addressed to us yet: nothing changes.
                break;
        }
    }

    private void OnNewEpoch(CommitAccepted accepted, IReadOnlyList<RosterMember> before)
    {
        var session = _session!;
        _effects.SetTimer(AdmissionTimer.Cancel);
        if (accepted.RemovedFromGroup)
        {
            _effects.Report(new Rejoining(RoomId, RejoinReason.RemovedFromRoom, UntrustedServerReason: null)
            {
                Removal = accepted.OwnRemovalReason,
                RemovedBy = accepted.CommitterId,
            });
            RejoinWhenAnswered();
            return;
        }

        var self = session.LocalClientId;
        if (accepted.JoinedGroup)
        {
            foreach (var member in session.Roster)
            {
                if (member.ClientId != self)
                {
                    _effects.Report(new MemberJoined(RoomId, member.ClientId, member.Fingerprint, AlreadyPresent: true));
                }
            }
        }
        else
        {
            foreach (var removed in accepted.Removed)
            {
                if (removed != self)
                {
                    var fingerprint = before.FirstOrDefault(m => m.ClientId == removed)?.Fingerprint ?? string.Empty;
                    _effects.Report(new MemberLeft(RoomId, removed, fingerprint)
                    {
                        Reason = accepted.Removals.FirstOrDefault(r => r.ClientId == removed)?.Reason,
                        RemovedBy = accepted.CommitterId,
                    });
                }
            }

            foreach (var added in accepted.Added)
            {
                if (added.ClientId != self)
                {
                    _effects.Report(new MemberJoined(RoomId, added.ClientId, added.Fingerprint));
                }
            }
        }

        foreach (var change in accepted.KeyChanges)
        {
            _effects.Report(new KeyChanged(RoomId, change.ClientId, change.PinnedFingerprint, change.NewFingerprint));
        }

        _everKeyed = true;
        _knownRoster = session.Roster.Select(m => m.ClientId).ToHashSet(StringComparer.Ordinal);
        _effects.Report(new KeyEstablished(RoomId, accepted.Epoch, accepted.EpochCode, session.Roster.Count));
        if (_resuming)
        {
            // A commit missed while away, resent before JOINED: the room is back once JOINED says so.
            _caughtUp++;
            return;
        }

        Phase = RoomPhase.Ready;
        RetryHeld();
        FlushQueuedSends();
        SendSummaryIfDue();
        RekeyIfDue();
    }

    /// <summary>We sent in the epoch that just ended and have nothing to say yet: our count goes out now (drop detection).</summary>
    private void SendSummaryIfDue()
    {
        if (_session!.CreateSummary() is { } summary)
        {
            _observer?.Encrypted(summary);
            _effects.Send(summary.Envelope);
        }
    }

    private void ReportWithheld(IReadOnlyList<MessagesWithheld> reports)
    {
        foreach (var report in reports)
        {
            _effects.Report(new ServerWithheldMessages(RoomId, report.SenderId, report.Epoch, report.Count, report.Generations));
        }
    }

    private void OnRoomError(Envelope envelope)
    {
        var error = envelope.Error;
        var refusedOurMessage = RefusedOurMessage(envelope);
        switch (error.Code)
        {
            case ErrorCode.CommitRejected when _session is { Status: GroupStatus.Joining, PendingCommit: { } external }
                                               && CommitContent.Parser.ParseFrom(external.Content).Kind == CommitKind.External:
                _effects.Report(new ExternalCommitFailed(RoomId, Refusal: null, error.Reason));
                AbandonPendingCommit(envelope.Epoch);
                break;
            case ErrorCode.CommitRejected or ErrorCode.NotCommitter:
                // Usually another member's commit won the epoch; the server asks again if changes remain.
                HoldRekeysIfRefused(envelope.Epoch);
                AbandonPendingCommit(envelope.Epoch);
                FlushQueuedSends();
                break;
            case ErrorCode.NotAdmitted when !IsKeyed:
                // Every member the server asked failed the commit that would admit us (too large, the room full, …).
                OnJoinRefused(error);
                break;
            case ErrorCode.NotAMember when IsKeyed:
                _effects.Report(new Rejoining(RoomId, RejoinReason.ServerSaysNotAMember, error.Reason));
                Rejoin();
                break;
            case ErrorCode.NotAMember or ErrorCode.StaleEpoch when refusedOurMessage:
                // Reported as the message that was not delivered.
                break;
            default:
                _effects.Report(new ServerError(RoomId, error.Code, error.Reason, error.Fatal));
                break;
        }
    }

    /// <summary>Drops our commit waiting for its echo (a refusal naming another epoch, 0 for any, leaves it alone); Committing ends with it.</summary>
    private void AbandonPendingCommit(ulong refusedEpoch)
    {
        if (_session?.PendingCommit is { } pending)
        {
            _session.AbandonPendingCommit(refusedEpoch != 0 ? refusedEpoch : CommitContent.Parser.ParseFrom(pending.Content).Epoch);
        }

        if (Phase == RoomPhase.Committing && _session?.PendingCommit is null)
        {
            Phase = RoomPhase.Ready;
        }
    }

    /// <summary>Our pending rekey (a commit without operations) for <paramref name="refusedEpoch"/> (0: any) was refused: no automatic rekey for a while.</summary>
    private void HoldRekeysIfRefused(ulong refusedEpoch)
    {
        if (_session?.PendingCommit is { } pending && CommitContent.Parser.ParseFrom(pending.Content) is { Operations.Count: 0 } content
            && (refusedEpoch == 0 || refusedEpoch == content.Epoch))
        {
            _autoRekeyNotBeforeMs = _clock.UtcNowMs + (long)_settings.RekeyRetryDelay.TotalMilliseconds;
        }
    }

    private void RekeyIfDue()
    {
        if (Phase == RoomPhase.Ready && _session!.NeedsRekey && _clock.UtcNowMs >= _autoRekeyNotBeforeMs)
        {
            CommitRekey();
        }
    }

    private void CommitRekey()
    {
        var session = _session!;
        if (Observe(session.CreateRekeyCommit()) is CommitCreated { Repeated: false } rekey)
        {
            _effects.Send(session.CommitEnvelope(rekey.Commit));
            Phase = RoomPhase.Committing;
        }
    }

    /// <summary>The engine's commit; built again once when our pending commit for another epoch is in the way (the server moved on: it will not be echoed).</summary>
    private CommitCreation BuildCommit(Func<GroupSession, CommitCreation> build)
    {
        var creation = Observe(build(_session!));
        if (creation is CommitNotCreated { Reason: CommitRefusal.PendingCommitExists })
        {
            AbandonPendingCommit(refusedEpoch: 0);
            creation = Observe(build(_session!));
        }

        return creation;
    }

    private CommitCreation Observe(CommitCreation creation)
    {
        _observer?.CommitBuilt(creation);
        return creation;
    }

    /// <summary>Encrypts and sends; false when the message must wait (no keys yet, or blocked by a key change).</summary>
    private bool TrySeal(string text)
    {
        var outcome = _session!.Encrypt(text);
        _observer?.Encrypted(outcome);
        switch (outcome)
        {
            case MessageSealed sealedMessage:
                _effects.Send(sealedMessage.Envelope);
                AwaitAcknowledgement(sealedMessage.Envelope, text);
                return true;
            case SendRefused { Reason: SendRefusal.BlockedByKeyChange } blocked:
                if (!_blockedWarned)
                {
                    _blockedWarned = true;
                    _effects.Report(new SendHeldForKeyChange(RoomId, blocked.BlockingMembers));
                }

                return false;
            case SendRefused { Reason: SendRefusal.NotJoined or SendRefusal.GenerationExhausted }:
                return false;
            case SendRefused refused:
                _effects.Report(new MessageNotSent(RoomId, refused.Reason));
                return true;
            default:
                return true;
        }
    }

    private void FlushQueuedSends()
    {
        while (_queuedSends.First is { } head && IsKeyed)
        {
            var joined = JoinedSince(head.Value);
            if (joined.Count > 0)
            {
                ReportHeld(joined);
                return;
            }

            if (!TrySeal(head.Value.Text))
            {
                return;
            }

            _queuedSends.RemoveFirst();
        }

        _heldReported = [];
        _blockedWarned = false;
        _queueFullWarned = false;
    }

    /// <summary>Applies the user's decision to every held text, then sends what may go.</summary>
    private RoomEffects ResolveHeld(Action<LinkedListNode<QueuedText>> resolve, Func<int, ClientEvent> resolved)
    {
        var count = 0;
        for (var node = _queuedSends.First; node is not null;)
        {
            var next = node.Next;
            if (JoinedSince(node.Value).Count > 0)
            {
                resolve(node);
                count++;
            }

            node = next;
        }

        if (count == 0)
        {
            _effects.Report(new NothingHeld(RoomId));
            return _effects;
        }

        _effects.Report(resolved(count));
        _heldReported = [];
        FlushQueuedSends();
        RekeyIfDue();
        return _effects;
    }

    /// <summary>Members of the roster the room knows now that were not in the one <paramref name="queued"/> was typed for.</summary>
    private List<string> JoinedSince(QueuedText queued)
    {
        if (queued.TypedFor is not { } typedFor || _knownRoster is not { } now || ReferenceEquals(typedFor, now))
        {
            return [];
        }

        var self = _session?.LocalClientId;
        return [.. now.Where(id => id != self && !typedFor.Contains(id)).Order(StringComparer.Ordinal)];
    }

    private void ReportHeld(List<string> joined)
    {
        if (joined.SequenceEqual(_heldReported))
        {
            return;
        }

        _heldReported = joined;
        _effects.Report(new QueuedSendsHeld(RoomId, joined, _queuedSends.Count(q => JoinedSince(q).Count > 0)));
    }

    private void Queue(string text)
    {
        if (_queuedSends.Count >= _settings.MaxQueuedSends)
        {
            if (!_queueFullWarned)
            {
                _queueFullWarned = true;
                _effects.Report(new SendQueueFull(RoomId, _queuedSends.Count));
            }

            return;
        }

        _queuedSends.AddLast(new QueuedText(text, _knownRoster));
    }

    private void Decrypt(Envelope envelope, bool fromHold)
    {
        var outcome = _session!.Decrypt(envelope);
        _observer?.Decrypted(outcome);
        Handle(outcome, envelope, fromHold);
        if (!fromHold)
        {
            // After the outcome is reported: a client that stores what it receives keeps the message before its position moves past it.
            CountReceived(envelope.RoomSeq);
        }
    }

    private void Handle(DecryptOutcome outcome, Envelope envelope, bool fromHold)
    {
        ReportWithheld(outcome.Withheld);
        switch (outcome)
        {
            case MessageDelivered delivered:
                _effects.Report(new MessageReceived(RoomId, delivered.SenderId, delivered.Text,
                    DateTimeOffset.FromUnixTimeMilliseconds(delivered.SentAtMs), DateTimeOffset.FromUnixTimeMilliseconds(_clock.UtcNowMs),
                    delivered.SenderKeyUnaccepted)
                {
                    ArrivedAfterWithheldReport = delivered.ReportedWithheldBefore,
                });
                break;
            case MessageHeld:
                Hold(envelope);
                break;
            case MessageRejected { Reason: DecryptRejection.EpochBeforeJoin }:
                // Sent before we were a member: we were never meant to read it.
                break;
            case MessageRejected { Reason: DecryptRejection.Replay } when fromHold:
                break;
            case MessageRejected { Reason: DecryptRejection.Replay or DecryptRejection.ExpiredEpoch } dropped:
                _effects.Report(new MessageDropped(RoomId, envelope.SenderId, dropped.Reason));
                break;
            case MessageRejected rejected:
                _effects.Report(new DecryptFailed(RoomId, envelope.SenderId, rejected.Reason));
                break;
        }
    }

    private void Hold(Envelope envelope)
    {
        if (_held.Count >= _settings.MaxHeldMessages)
        {
            _effects.Report(new HeldMessageDropped(RoomId, _held.Dequeue().SenderId));
        }

        _held.Enqueue(envelope);
    }

    private void RetryHeld()
    {
        if (_held.Count == 0)
        {
            return;
        }

        var retry = _held.ToArray();
        _held.Clear();
        foreach (var envelope in retry)
        {
            Decrypt(envelope, fromHold: true);
        }
    }

    private void Rejoin()
    {
        _effects.Send(LeaveEnvelope());
        StartJoin();
    }

    private void GoOffline()
    {
        _effects.SetTimer(AdmissionTimer.Cancel);
        _resuming = false;
        if (_session is not { Status: GroupStatus.Active })
        {
            RetireSession();
            _held.Clear();
        }

        if (_everKeyed)
        {
            _effects.Report(new RoomOffline(RoomId));
        }

        Phase = RoomPhase.Offline;
    }

    private void LeaveRoom(bool sendLeave)
    {
        if (sendLeave)
        {
            _effects.Send(LeaveEnvelope());
        }

        if (_queuedSends.Count > 0)
        {
            _effects.Report(new QueuedSendsDropped(RoomId, _queuedSends.Count));
            _queuedSends.Clear();
        }

        // Their acknowledgements may still be on the way, but the room takes no more input.
        ReportAllUnacknowledged(NotDeliveredReason.RoomLeft);

        _effects.SetTimer(AdmissionTimer.Cancel);
        _effects.Report(new Left(RoomId));
        _effects.Close();
        RetireSession();
        _held.Clear();
        Phase = RoomPhase.Left;
    }

    private Envelope LeaveEnvelope() => new()
    {
        Version = WireLimits.ProtocolVersion,
        Type = MessageType.Leave,
        SenderId = _session!.LocalClientId,
        RoomId = RoomId,
        Leave = _session.CreateLeave(),
    };

    private void RetireSession()
    {
        if (OwnsSessions)
        {
            _session?.Dispose();
        }

        _session = null;
    }

    /// <summary>A text waiting to be sent, and the ids of the roster it was typed for (null: none known yet).</summary>
    private sealed record QueuedText(string Text, IReadOnlySet<string>? TypedFor);

    /// <summary>
    /// A sent message waiting for RELAYED (STORED with a message log): its epoch and generation, the start of its text, when it
    /// is overdue, and the envelope as sent (to send again after a resume).
    /// </summary>
    private sealed class UnackedMessage(ulong epoch, ulong generation, string preview, long deadlineMs, Envelope envelope, string text)
    {
        public ulong Epoch { get; } = epoch;

        public ulong Generation { get; } = generation;

        public string Preview { get; } = preview;

        public long DeadlineMs { get; set; } = deadlineMs;

        public Envelope Envelope { get; } = envelope;

        public string Text { get; } = text;

        /// <summary>RELAYED came (reported once); with a message log it still waits for STORED.</summary>
        public bool Relayed { get; set; }
    }
}
