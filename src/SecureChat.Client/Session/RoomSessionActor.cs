using Akka.Actor;
using Akka.Event;
using SecureChat.Client.Rooms;
using SecureChat.Client.Store;
using SecureChat.Core.Wire;
using Envelope = SecureChat.Core.Wire.Envelope;

namespace SecureChat.Client.Session;

/// <summary>
/// One room of one user, as an actor: a thin driver of <see cref="ClientRoom"/>, which holds every rule of
/// the room (the join, commits, holding and queueing, rejoining). Its states mirror the room's
/// <see cref="RoomPhase"/> — <see cref="Offline"/> → <see cref="Joining"/> → <see cref="AwaitingAdmission"/> →
/// <see cref="Ready"/> ⇄ <see cref="Committing"/> — and only route: frames and commands go into the room,
/// the room's effects go out (frames to the parent session, events to the owner, the admission and acknowledgement timers).
/// </summary>
/// <remarks>
/// With a <see cref="RoomContext.Store"/>, the room's state is written there (<see cref="RoomRecords"/>) and no frame leaves
/// before the state that produced it is on the disk: a message is not sent before the chain step that sealed it is kept (a
/// restart would otherwise seal another text under the same generation, which members drop as a replay), an ACK never runs
/// ahead of the stored position (a crash would otherwise lose what the server then forgets), and no event reaches the user
/// before then either (a message shown as sent or received is one the store keeps). Writes coalesce: a persist is
/// asked for by a message to itself, so a burst of inputs already in the mailbox shares one write; at most one write is in
/// flight, frames produced meanwhile wait for the next. An input that changed nothing stored costs no write.
/// </remarks>
public sealed class RoomSessionActor : ReceiveActor, IWithTimers, IDisposable
{
    private readonly RoomContext _context;
    private readonly ClientRoom _room;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IActorRef _parent = Context.Parent;
    private RoomPhase _state = RoomPhase.Offline;

    // Persistence (with a store): the last decrypted lines, the last record written, frames waiting for the next write and
    // for the write in flight.
    private readonly LinkedList<HistoryEntry> _history = new();
    private readonly RoomRecord? _restored;
    // Frames (Envelope) and events (ClientEvent) in the order the room produced them.
    private List<object> _waitingForWrite = [];
    private List<object> _waitingForWriteInFlight = [];
    private RoomRecord? _lastRecord;
    private bool _persistAsked;
    private bool _dirty;
    private bool _writeInFlight;
    private bool _writeFailedReported;
    private bool _closed;

    public RoomSessionActor(string roomId, RoomContext context, RoomRecord? restored = null)
    {
        _context = context;
        _room = new ClientRoom(roomId, () => context.NewGroupSession(roomId), context.Clock, context.Settings);
        _restored = restored;
        Offline();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string roomId, RoomContext context, RoomRecord? restored = null) =>
        Akka.Actor.Props.Create(() => new RoomSessionActor(roomId, context, restored));

    protected override void PreStart()
    {
        Timers.StartPeriodicTimer(nameof(RoomTick), RoomTick.Instance, _context.Settings.RoomTickInterval);
        if (_context.Store is null)
        {
            return;
        }

        if (_restored is { } record)
        {
            var problem = RoomRecords.Restore(_room, record, _context.ImportGroupSession);
            if (_context.KeepHistory)
            {
                foreach (var line in RoomRecords.History(record))
                {
                    _history.AddLast(line);
                }
            }

            _context.Owner.Tell(new RoomRestored(_room.RoomId, [.. _history.Skip(Math.Max(0, _history.Count - RecentOnRestore))],
                _room.QueuedSends, _room.Unacknowledged)
            {
                KeysNotRestored = problem, Epoch = _room.Epoch, EpochCode = _room.Session?.EpochCode,
            });
        }

        // A new room is recorded at once (it is rejoined after a restart); a restored one is written back as it is now.
        AskPersist();
    }

    /// <summary>The stored lines a restored room shows on start.</summary>
    public const int RecentOnRestore = 10;

    /// <summary>Erases the room's keys (also when the actor stops).</summary>
    public void Dispose() => _room.Dispose();

    /// <summary>The room's last state goes to the store (written by the store's owner when it closes), then its keys are erased.</summary>
    protected override void PostStop()
    {
        if (_context.Store is { } store && !_closed)
        {
            try
            {
                store.PutRoom(RoomRecords.Capture(_room, _history));
            }
            catch (ObjectDisposedException)
            {
                // The session is going down with its store already closed: the last write stands.
            }

            // Events waiting for a write: their state is in the record just put (the store writes it when it closes). Kept
            // back, a message received would be past the stored position unseen: never shown, never replayed.
            foreach (var e in _waitingForWriteInFlight.Concat(_waitingForWrite).OfType<ClientEvent>())
            {
                _context.Owner.Tell(e);
            }
        }

        RoomRecords.Erase(_lastRecord);
        _room.Dispose();
    }

    /// <summary>No connection: frames of the old one are dropped; sends are queued by the room.</summary>
    private void Offline()
    {
        Receive<RoomProtocol.LinkReady>(ready => Apply(_room.LinkReady(ready.ServerKeepsMessages, ready.Limits)));
        Receive<RoomProtocol.LinkLost>(_ => { });
        Receive<RoomProtocol.LinkStopped>(stopped => Apply(_room.LinkStopped(stopped.Reason)));
        Receive<RoomProtocol.Inbound>(inbound => _log.Debug("offline: dropping {0}", inbound.Envelope.Type));
        ReceiveCommon();
    }

    /// <summary>JOIN is out: JOINED or a refusal comes next.</summary>
    private void Joining() => ReceiveOnline();

    /// <summary>The server took the join; waiting for the commit that admits us, with the admission timer running.</summary>
    private void AwaitingAdmission()
    {
        Receive<AdmissionOverdue>(_ => Apply(_room.AdmissionOverdue()));
        ReceiveOnline();
    }

    /// <summary>Keys for the current epoch: messages flow both ways.</summary>
    private void Ready() => ReceiveOnline();

    /// <summary>Our commit is out; the relay's echo (or a competing commit, or a refusal) ends this state.</summary>
    private void Committing() => ReceiveOnline();

    /// <summary>Handlers shared by every state with a connection.</summary>
    private void ReceiveOnline()
    {
        Receive<RoomProtocol.Inbound>(inbound => Apply(_room.Frame(inbound.Envelope)));
        Receive<RoomProtocol.LinkLost>(_ =>
        {
            // Frames still waiting for a write were for the link that is gone; the room sends again what matters after the resume.
            _waitingForWrite.RemoveAll(item => item is Envelope);
            _waitingForWriteInFlight.RemoveAll(item => item is Envelope);
            Apply(_room.LinkLost());
        });
        Receive<RoomProtocol.LinkStopped>(stopped =>
        {
            _waitingForWrite.RemoveAll(item => item is Envelope);
            _waitingForWriteInFlight.RemoveAll(item => item is Envelope);
            Apply(_room.LinkStopped(stopped.Reason));
        });
        Receive<RoomProtocol.LinkReady>(_ => { });
        ReceiveCommon();
    }

    /// <summary>Handlers every state shares: the room decides what a command means in its phase.</summary>
    private void ReceiveCommon()
    {
        Receive<ClientCommands.Send>(send => Apply(_room.Send(send.Text)));
        Receive<ClientCommands.SendQueued>(_ => Apply(_room.SendQueued()));
        Receive<ClientCommands.DropQueued>(_ => Apply(_room.DropQueued()));
        Receive<ClientCommands.Invite>(invite => Apply(_room.Invite(invite.InviteeId)));
        Receive<ClientCommands.Remove>(remove => Apply(_room.Remove(remove.ClientId)));
        Receive<ClientCommands.SetPolicy>(policy => Apply(_room.SetPolicy(policy.Admission)));
        Receive<ClientCommands.Rekey>(_ => Apply(_room.Rekey()));
        Receive<RoomProtocol.TrustChanged>(_ => Apply(_room.TrustChanged()));
        Receive<ClientCommands.Leave>(_ => Apply(_room.Leave()));
        Receive<RoomTick>(_ => Apply(_room.Tick()));
        Receive<PersistNow>(_ => Persist());
        Receive<WriteDone>(OnWriteDone);
        Receive<ClientCommands.QueryHistory>(query => Sender.Tell(new ClientCommands.HistoryReply(_room.RoomId,
            [.. _history.Skip(Math.Max(0, _history.Count - Math.Max(0, query.Count)))], _context.Store is not null && _context.KeepHistory)));
        Receive<AdmissionOverdue>(_ => { });
        Receive<AcksOverdue>(_ => Apply(_room.AcksOverdue()));
        Receive<ClientCommands.QueryRoster>(_ => Sender.Tell(new ClientCommands.RosterReply(_room.RoomId, _room.Epoch,
            [.. _room.Roster.Select(m => new ClientCommands.Member(m.ClientId, m.Fingerprint))])));
        Receive<ClientCommands.QueryEpochCode>(_ => Sender.Tell(new ClientCommands.EpochCodeReply(_room.RoomId, _room.Epoch, _room.EpochCode)));
        Receive<ClientCommands.QueryRooms>(_ => Sender.Tell(new ClientCommands.RoomInfo(_room.RoomId, _room.Phase, _room.Epoch, _room.Roster.Count,
            _room.Unacknowledged) { Queued = _room.QueuedSends }));
    }

    private void Apply(RoomEffects effects)
    {
        foreach (var e in effects.Events)
        {
            Keep(e);
        }

        if (_context.Store is null || effects.Closed)
        {
            Release(_waitingForWriteInFlight);
            Release(_waitingForWrite);
            foreach (var envelope in effects.Outbound)
            {
                _parent.Tell(new RoomProtocol.Outbound(envelope));
            }

            foreach (var e in effects.Events)
            {
                _context.Owner.Tell(e);
            }
        }
        else
        {
            // Out once the state that produced them is on the disk (see the remarks on the class): a message shown as
            // received or sent is one the store keeps.
            _waitingForWrite.AddRange(effects.Outbound);
            _waitingForWrite.AddRange(effects.Events);
            _dirty = true;
            AskPersist();
        }

        switch (effects.Timer)
        {
            case AdmissionTimer.Start:
                Timers.StartSingleTimer(nameof(AdmissionOverdue), AdmissionOverdue.Instance, _room.AdmissionTimeout);
                break;
            case AdmissionTimer.Cancel:
                Timers.Cancel(nameof(AdmissionOverdue));
                break;
        }

        if (effects.AckCheckIn is { } delay)
        {
            Timers.StartSingleTimer(nameof(AcksOverdue), AcksOverdue.Instance, delay);
        }

        if (effects.Closed)
        {
            _closed = true;
            _parent.Tell(new RoomProtocol.RoomClosed(_room.RoomId));
            Context.Stop(Self);
            return;
        }

        if (_room.Phase != _state)
        {
            _state = _room.Phase;
            Become(_state switch
            {
                RoomPhase.Offline => Offline,
                RoomPhase.Joining => Joining,
                RoomPhase.AwaitingAdmission => AwaitingAdmission,
                RoomPhase.Ready => Ready,
                _ => Committing,
            });
        }
    }

    /// <summary>A decrypted line (or one of ours) into the history, when it is kept.</summary>
    private void Keep(ClientEvent e)
    {
        if (_context.Store is null || !_context.KeepHistory)
        {
            return;
        }

        var line = e switch
        {
            MessageReceived m => new HistoryEntry(m.SenderId, m.Text, m.SentAt, Own: false),
            MessageSent m => new HistoryEntry(_context.ClientId, m.Text, DateTimeOffset.FromUnixTimeMilliseconds(_context.Clock.UtcNowMs), Own: true),
            _ => null,
        };
        if (line is not null)
        {
            _history.AddLast(line);
            if (_history.Count > LocalStore.MaxHistoryLines)
            {
                _history.RemoveFirst();
            }
        }
    }

    /// <summary>A persist is asked for by a message to self: what is already in the mailbox is handled first and shares the write.</summary>
    private void AskPersist()
    {
        if (!_persistAsked && !_writeInFlight)
        {
            _persistAsked = true;
            Self.Tell(PersistNow.Instance);
        }
    }

    private void Persist()
    {
        _persistAsked = false;
        _dirty = false;
        var store = _context.Store!;
        var record = RoomRecords.Capture(_room, _history);
        if (record.Equals(_lastRecord))
        {
            // Nothing stored changed: what waits may go.
            RoomRecords.Erase(record);
            Release(_waitingForWrite);
            return;
        }

        store.PutRoom(record);
        RoomRecords.Erase(_lastRecord);
        _lastRecord = record;
        (_waitingForWriteInFlight, _waitingForWrite) = (_waitingForWrite, _waitingForWriteInFlight);
        _writeInFlight = true;
        store.CommitAsync().PipeTo(Self, success: () => new WriteDone(null), failure: ex => new WriteDone(ex.GetBaseException().Message));
    }

    private void OnWriteDone(WriteDone done)
    {
        _writeInFlight = false;
        if (done.Problem is null)
        {
            _writeFailedReported = false;
        }
        else if (!_writeFailedReported)
        {
            // The frames still go: holding them would stop the room, and the user is told a restart may lose them.
            _writeFailedReported = true;
            _context.Owner.Tell(new StoreWriteFailed(done.Problem));
        }

        Release(_waitingForWriteInFlight);
        if (_dirty || _waitingForWrite.Count > 0)
        {
            AskPersist();
        }
    }

    private void Release(List<object> waiting)
    {
        foreach (var item in waiting)
        {
            if (item is Envelope envelope)
            {
                _parent.Tell(new RoomProtocol.Outbound(envelope));
            }
            else
            {
                _context.Owner.Tell(item);
            }
        }

        waiting.Clear();
    }

    private sealed record PersistNow
    {
        public static PersistNow Instance { get; } = new();
    }

    /// <summary>The store's write finished; <paramref name="Problem"/> says why it failed, null when it did not.</summary>
    private sealed record WriteDone(string? Problem);

    private sealed record RoomTick
    {
        public static RoomTick Instance { get; } = new();
    }

    private sealed record AdmissionOverdue
    {
        public static AdmissionOverdue Instance { get; } = new();
    }

    private sealed record AcksOverdue
    {
        public static AcksOverdue Instance { get; } = new();
    }
}
