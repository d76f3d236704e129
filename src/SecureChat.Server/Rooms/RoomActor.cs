using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Relay;
using SecureChat.Server.Diagnostics;
using SecureChat.Server.Messaging;
using SecureChat.Server.Relays;

namespace SecureChat.Server.Rooms;

/// <summary>
/// One chat room, an event-sourced entity of the rooms' shard region. Every rule is the room state's
/// (<see cref="RoomState{TConnection}"/>, PROTOCOL.md §4): this actor hands it each message and carries out what it
/// decides. A decision with events is journaled first, and only then are its frames, refusals and timers carried
/// out; one without events (a relayed message, a refusal) at once. Recovery replays the last snapshot and the events
/// after it, so the room comes back with its epoch, suite, roster and transcript hash; connections are not stored,
/// and a restored room tells each returning member so in its JOINED. If the journal fails or refuses a write, every
/// connected member is told the room could not keep the change and is no longer joined, and the room stops: nothing
/// of the change was sent, and its next incarnation starts from what the journal holds.
/// The message log (PROTOCOL.md §4.4.1) is the exception to "journal first": its events (<see cref="RoomDecision{T}.Logged"/>)
/// go to the journal in batches, each batch one journal event (<see cref="MessageLogBatch"/>) — one write in flight, the next
/// batch gathering meanwhile (group commit) — while the fan-out goes on at once; the room state hears when each batch is
/// durable and acknowledges its senders (STORED), and a batch that fails or is refused stops the room as any other write.
/// Snapshots carry the log, so one is taken only once the journal since the last one outweighs it.
/// </summary>
public sealed class RoomActor : ReceivePersistentActor, IWithTimers
{
    private const string CommitDeadlineTimer = "commit-deadline";

    private readonly RoomState<MemberLink> _state;
    private readonly RoomRelayRoutes _routes;
    private readonly int _snapshotEvery;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private bool _storageFailed;
    private bool _counted;
    private int _membersCounted;

    // Group commit of the message log: the batch gathering while a write is in flight; a stop waits for both.
    private readonly MessageLogBatches _gathering = new();
    private bool _writing;
    private bool _stopWhenWritten;

    // Events (a batch counts its entries) and message bytes journaled since the last snapshot (see SnapshotIfDue).
    private long _journaledSinceSnapshot;
    private long _bytesSinceSnapshot;

    public RoomActor(string roomId, RoomSettings settings, int snapshotEvery)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(snapshotEvery, 1);
        _state = new RoomState<MemberLink>(roomId, 0, settings);
        _routes = new RoomRelayRoutes(roomId, Random.Shared.NextInt64(1, long.MaxValue));
        _snapshotEvery = snapshotEvery;
        PersistenceId = PersistenceIdOf(roomId);

        Recover<SnapshotOffer>(offer => _state.Restore((RoomDurableState)offer.Snapshot));
        Recover<RoomEvent>(_state.Apply);
        Recover<RecoveryCompleted>(_ =>
        {
            _journaledSinceSnapshot = LastSequenceNr % _snapshotEvery;
            _counted = true;
            ServerMetrics.RoomStarted();
            Carry(_state.Start());
            var started = _state.Snapshot();
            _log.Info("Room {0} runs on {1} at epoch {2}{3}", roomId, ((ExtendedActorSystem)Context.System).Provider.DefaultAddress, started.Epoch,
                started.Recovered ? ", recovered from storage" : string.Empty);
        });

        Command<SubscribeRelay>(subscribe =>
        {
            if (_routes.Subscribe(subscribe.Relay))
            {
                Context.Watch(subscribe.Relay);
            }

            TellOutgoing();
        });
        Command<JoinRoom>(join => Carry(_state.Join(join.ClientId, new SignedBundle { Content = join.BundleContent, Signature = join.BundleSignature },
            join.PreferredSuite, _routes.LinkOf(join.Connection, Sender), join.SupportedSuites, join.KnownEpoch, join.Invite, join.LastSeq)));
        Command<AcknowledgePosition>(ack => Carry(_state.Acknowledge(ack.ClientId, ack.Seq, _routes.LinkOf(ack.Connection, Sender))));
        Command<InviteToRoom>(invite => Carry(_state.Invite(invite.ClientId, invite.Invite, _routes.LinkOf(invite.Connection, Sender))));
        Command<LeaveRoom>(leave => Carry(_state.Leave(leave.ClientId, _routes.LinkOf(leave.Connection, Sender), leave.Leave)));
        Command<SubmitCommit>(submit => Carry(_state.SubmitCommit(submit.ClientId,
            new SignedCommit { Content = submit.Content, Signature = submit.Signature, ConfirmationTag = submit.ConfirmationTag },
            _routes.LinkOf(submit.Connection, Sender))));
        Command<PublishToRoom>(publish => Carry(_state.Publish(publish.ClientId, publish.Epoch, publish.Sequence, publish.Envelope,
            _routes.LinkOf(publish.Connection, Sender))));
        Command<Terminated>(OnTerminated);
        Command<DeclineCommit>(decline => Carry(_state.DeclineCommit(decline.ClientId, decline.NewEpoch, _routes.LinkOf(decline.Connection, Sender))));
        Command<CommitDeadlineDue>(due => Carry(_state.CommitDeadline(due)));
        Command<CommitRetryDue>(_ => Carry(_state.CommitRetryDue()));
        Command<PassivationDue>(_ => Carry(_state.PassivationDue()));
        Command<AbsenceCheckDue>(_ => Carry(_state.AbsenceCheckDue()));
        Command<GetRoomState>(_ => Sender.Tell(new RoomStatus(_state.Snapshot(), _state.Durable())));
        Command<StopRoom>(_ =>
        {
            if (_writing || !_gathering.IsEmpty)
            {
                _stopWhenWritten = true; // the log's last batch first: its senders were told RELAYED and wait for STORED
            }
            else
            {
                Context.Stop(Self);
            }
        });
        Command<SaveSnapshotSuccess>(saved =>
        {
            // The snapshot holds everything before it: older snapshots and the events they replace can go.
            DeleteSnapshots(new SnapshotSelectionCriteria(saved.Metadata.SequenceNr - 1));
            DeleteMessages(saved.Metadata.SequenceNr);
        });
        Command<SaveSnapshotFailure>(failed =>
            _log.Warning("Room {0}: snapshot at event {1} not saved ({2}); recovery replays more events", _state.RoomId, failed.Metadata.SequenceNr,
                failed.Cause.Message));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteMessagesFailure>(failed => _log.Warning("Room {0}: old events not deleted: {1}", _state.RoomId, failed.Cause.Message));
        Command<DeleteSnapshotsFailure>(failed => _log.Warning("Room {0}: old snapshots not deleted: {1}", _state.RoomId, failed.Cause.Message));
    }

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>The room's journal key; room ids are at most 64 characters of <c>[A-Za-z0-9._@-]</c> (PROTOCOL.md §2).</summary>
    public static string PersistenceIdOf(string roomId) => "room-" + roomId;

    public static Props Props(string roomId, RoomSettings settings, int snapshotEvery) =>
        Akka.Actor.Props.Create(() => new RoomActor(roomId, settings, snapshotEvery));

    protected override void PostStop()
    {
        if (_counted)
        {
            ServerMetrics.RoomStopped();
            ServerMetrics.MembersChanged(-_membersCounted);
        }

        base.PostStop();
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        // The write may or may not have happened: Akka stops the room after this, and its next incarnation reads the journal.
        RefuseEveryone(cause);
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        // Not written: the room state in memory is ahead of the journal, so this incarnation must not go on.
        base.OnPersistRejected(cause, @event, sequenceNr);
        RefuseEveryone(cause);
        Context.Stop(Self);
    }

    private void OnTerminated(Terminated terminated)
    {
        if (_routes.IsRelay(terminated.ActorRef))
        {
            // A relay ends with its node (or after its last member left): whoever was still linked through it is gone.
            foreach (var link in _routes.RemoveRelay(terminated.ActorRef))
            {
                Carry(_state.Disconnect(link));
            }
        }
        else if (_routes.Watched(terminated.ActorRef) is { } link)
        {
            Carry(_state.Disconnect(link));
        }
    }

    /// <summary>
    /// Carries out a decision: journals its events first, if it has any (commands wait meanwhile), and hands its message-log
    /// events to the next batch at once (the journal keeps the order of the writes).
    /// </summary>
    private void Carry(RoomDecision<MemberLink> decision)
    {
        var events = decision.Events;
        if (events.Count == 0)
        {
            CarryOut(decision);
            Gather(decision.Logged);
            return;
        }

        var remaining = events.Count;
        RoomDurableState? snapshot = null;
        _journaledSinceSnapshot += events.Count;
        var journaling = Stopwatch.GetTimestamp();
        PersistAll(events, _ =>
        {
            if (--remaining == 0)
            {
                ServerMetrics.JournalWritten(journaling);
                ServerMetrics.CommitsAccepted(events.Count(e => e is EpochAccepted));
                CarryOut(decision);
                Save(snapshot);
            }
        });
        if (!Gather(decision.Logged) && _gathering.IsEmpty)
        {
            snapshot = SnapshotIfDue();
        }
    }

    /// <summary>Adds message-log events to the batch gathering; starts its write when none is in flight (true: this call did).</summary>
    private bool Gather(IReadOnlyList<RoomEvent> logged)
    {
        if (logged.Count == 0)
        {
            return false;
        }

        _gathering.Add(logged);
        if (_writing)
        {
            return false;
        }

        WriteBatch();
        return true;
    }

    /// <summary>
    /// Writes what gathered as one atomic write — one journal event per batch (<see cref="MessageLogBatch"/>, more than one
    /// only past its bounds) — without stashing commands: the fan-out of later messages goes on while it is in flight, and
    /// what they log gathers for the next write. Once it is durable the room state acknowledges its senders (STORED), and the
    /// next write goes.
    /// </summary>
    private void WriteBatch()
    {
        var write = _gathering.Take();
        _writing = true;
        var remaining = write.Events.Count;
        var throughSeq = write.ThroughSeq;
        _bytesSinceSnapshot += write.MessageBytes;
        _journaledSinceSnapshot += write.Entries;
        var snapshot = SnapshotIfDue();
        var journaling = Stopwatch.GetTimestamp();
        PersistAllAsync(write.Events, _ =>
        {
            if (--remaining > 0)
            {
                return;
            }

            ServerMetrics.JournalWritten(journaling);
            _writing = false;
            if (throughSeq > 0)
            {
                CarryOut(_state.Stored(throughSeq));
            }

            Save(snapshot);
            if (!_gathering.IsEmpty)
            {
                WriteBatch();
            }
            else if (_stopWhenWritten)
            {
                Context.Stop(Self);
            }
        });
    }

    /// <summary>
    /// The durable state to save once the write just issued is durable, when a snapshot is due: every
    /// <c>snapshotEvery</c> events, and no sooner than the journal since the last one outweighs the message log it carries
    /// (so the journal stays within about twice the log). Taken only right after a write was issued with nothing applied
    /// and unwritten, so that it is exactly what the journal holds through that write.
    /// </summary>
    private RoomDurableState? SnapshotIfDue()
    {
        if (_journaledSinceSnapshot < _snapshotEvery || _bytesSinceSnapshot < _state.MessageLogBytes)
        {
            return null;
        }

        _journaledSinceSnapshot = 0;
        _bytesSinceSnapshot = 0;
        return _state.Durable();
    }

    private void Save(RoomDurableState? snapshot)
    {
        if (snapshot is not null)
        {
            SaveSnapshot(snapshot);
        }
    }

    /// <summary>Tells every connected member, once, that the room could not keep a change and they are no longer in it.</summary>
    private void RefuseEveryone(Exception cause)
    {
        if (_storageFailed)
        {
            return;
        }

        _storageFailed = true;
        _log.Error(cause, "Room {0}: the journal did not take a change at epoch {1}; the room stops and restarts from its journal", _state.RoomId, _state.Epoch);
        CarryOut(_state.StorageFailed());
    }

    /// <summary>Sends what the decision says, each frame by way of the relay of its connection's node (<see cref="RoomRelayRoutes"/>).</summary>
    private void CarryOut(RoomDecision<MemberLink> decision)
    {
        if (decision.Fanout is { } fanout)
        {
            _routes.Fanout(fanout);
            _routes.Send(fanout.Sender, fanout.Relayed);
        }

        foreach (var effect in decision.Effects)
        {
            CarryOut(effect);
        }

        TellOutgoing();
        if (_counted)
        {
            ServerMetrics.MembersChanged(_state.Roster.Count - _membersCounted);
            _membersCounted = _state.Roster.Count;
        }
    }

    private void TellOutgoing()
    {
        _routes.Flush();
        var outgoing = _routes.Outgoing;
        for (var i = 0; i < outgoing.Count; i++)
        {
            outgoing[i].To.Tell(outgoing[i].Message, Self);
        }

        outgoing.Clear();
    }

    private void CarryOut(RoomEffect effect)
    {
        switch (effect)
        {
            case SendFrame<MemberLink> send:
                _routes.Send(send.To, send.Frame);
                break;
            case RefuseRequest<MemberLink> refusal:
                // Logged once, by the connection, which knows the peer's address.
                _routes.Refuse(refusal.To, refusal.Code, refusal.Reason, refusal.NotInRoom, refusal.Epoch, refusal.Sequence);
                break;
            case WatchConnection<MemberLink> watch:
                Context.Watch(watch.Connection.Connection);
                _routes.Watch(watch.Connection);
                break;
            case UnwatchConnection<MemberLink> unwatch:
                Context.Unwatch(unwatch.Connection.Connection);
                _routes.Unwatch(unwatch.Connection);
                break;
            case StartCommitDeadline start:
                Timers.StartSingleTimer(CommitDeadlineTimer, start.Due, start.Delay);
                break;
            case CancelCommitDeadline:
                Timers.Cancel(CommitDeadlineTimer);
                break;
            case StartCommitRetry start:
                Timers.StartSingleTimer(CommitRetryDue.Instance, CommitRetryDue.Instance, start.Delay);
                break;
            case CancelCommitRetry:
                Timers.Cancel(CommitRetryDue.Instance);
                break;
            case StartPassivationTimer start:
                Timers.StartSingleTimer(PassivationDue.Instance, PassivationDue.Instance, start.Delay);
                break;
            case CancelPassivationTimer:
                Timers.Cancel(PassivationDue.Instance);
                break;
            case StartAbsenceTimer start:
                Timers.StartSingleTimer(AbsenceCheckDue.Instance, AbsenceCheckDue.Instance, start.Delay);
                break;
            case CancelAbsenceTimer:
                Timers.Cancel(AbsenceCheckDue.Instance);
                break;
            case PassivateRoom passivate:
                _log.Debug("Room {0}: empty after the grace period, passivating at epoch {1}", _state.RoomId, passivate.LastEpoch);
                Context.Parent.Tell(new Passivate(StopRoom.Instance));
                break;
            case RoomNote note:
                _log.Info("Room {0}: {1}", _state.RoomId, note.Text);
                break;
            default:
                throw new InvalidOperationException($"room effect {effect.GetType().Name} is not carried out");
        }
    }

    private sealed class PassivationDue : INoSerializationVerificationNeeded
    {
        public static readonly PassivationDue Instance = new();

        private PassivationDue()
        {
        }
    }

    private sealed class AbsenceCheckDue : INoSerializationVerificationNeeded
    {
        public static readonly AbsenceCheckDue Instance = new();

        private AbsenceCheckDue()
        {
        }
    }

    private sealed class CommitRetryDue : INoSerializationVerificationNeeded
    {
        public static readonly CommitRetryDue Instance = new();

        private CommitRetryDue()
        {
        }
    }
}
