using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Relay;
using SecureChat.Server.Messaging;

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
/// </summary>
public sealed class RoomActor : ReceivePersistentActor, IWithTimers
{
    private const string CommitDeadlineTimer = "commit-deadline";

    private readonly RoomState<IActorRef> _state;
    private readonly int _snapshotEvery;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private bool _storageFailed;

    public RoomActor(string roomId, RoomSettings settings, int snapshotEvery)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(snapshotEvery, 1);
        _state = new RoomState<IActorRef>(roomId, 0, settings);
        _snapshotEvery = snapshotEvery;
        PersistenceId = PersistenceIdOf(roomId);

        Recover<SnapshotOffer>(offer => _state.Restore((RoomDurableState)offer.Snapshot));
        Recover<RoomEvent>(_state.Apply);
        Recover<RecoveryCompleted>(_ => Carry(_state.Start()));

        Command<JoinRoom>(join => Carry(_state.Join(join.ClientId, new SignedBundle { Content = join.BundleContent, Signature = join.BundleSignature },
            join.PreferredSuite, join.Connection, join.SupportedSuites, join.Invite)));
        Command<InviteToRoom>(invite => Carry(_state.Invite(invite.ClientId, invite.Invite, invite.Connection)));
        Command<LeaveRoom>(leave => Carry(_state.Leave(leave.ClientId, leave.Connection, leave.Leave)));
        Command<SubmitCommit>(submit => Carry(_state.SubmitCommit(submit.ClientId,
            new SignedCommit { Content = submit.Content, Signature = submit.Signature, ConfirmationTag = submit.ConfirmationTag }, submit.Connection)));
        Command<PublishToRoom>(publish => Carry(_state.Publish(publish.ClientId, publish.Epoch, publish.Sequence, publish.Envelope, publish.Connection)));
        Command<Terminated>(terminated => Carry(_state.Disconnect(terminated.ActorRef)));
        Command<CommitDeadlineDue>(due => Carry(_state.CommitDeadline(due)));
        Command<PassivationDue>(_ => Carry(_state.PassivationDue()));
        Command<GetRoomState>(_ => Sender.Tell(new RoomStatus(_state.Snapshot(), _state.Durable())));
        Command<StopRoom>(_ => Context.Stop(Self));
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

    /// <summary>Carries out a decision: journals its events first, if it has any.</summary>
    private void Carry(RoomDecision<IActorRef> decision)
    {
        var events = decision.Events;
        if (events.Count == 0)
        {
            CarryOut(decision);
            return;
        }

        var remaining = events.Count;
        PersistAll(events, _ =>
        {
            if (--remaining == 0)
            {
                CarryOut(decision);
                SnapshotIfDue(events.Count);
            }
        });
    }

    private void SnapshotIfDue(int journaled)
    {
        if (LastSequenceNr / _snapshotEvery > (LastSequenceNr - journaled) / _snapshotEvery)
        {
            SaveSnapshot(_state.Durable());
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

    private void CarryOut(RoomDecision<IActorRef> decision)
    {
        if (decision.Fanout is { } fanout)
        {
            var frame = new RoomFrame(_state.RoomId, fanout.Frame);
            var recipients = fanout.Recipients;
            for (var i = 0; i < recipients.Count; i++)
            {
                if (!string.Equals(recipients[i].ClientId, fanout.SenderId, StringComparison.Ordinal))
                {
                    recipients[i].Connection.Tell(frame);
                }
            }

            fanout.Sender.Tell(new RoomFrame(_state.RoomId, fanout.Relayed));
        }

        foreach (var effect in decision.Effects)
        {
            CarryOut(effect);
        }
    }

    private void CarryOut(RoomEffect effect)
    {
        switch (effect)
        {
            case SendFrame<IActorRef> send:
                send.To.Tell(new RoomFrame(_state.RoomId, send.Frame));
                break;
            case RefuseRequest<IActorRef> refusal:
                // Logged once, by the connection, which knows the peer's address.
                refusal.To.Tell(new RoomError(_state.RoomId, refusal.Code, refusal.Reason, refusal.NotInRoom, refusal.Epoch, refusal.Sequence));
                break;
            case WatchConnection<IActorRef> watch:
                Context.Watch(watch.Connection);
                break;
            case UnwatchConnection<IActorRef> unwatch:
                Context.Unwatch(unwatch.Connection);
                break;
            case StartCommitDeadline start:
                Timers.StartSingleTimer(CommitDeadlineTimer, start.Due, start.Delay);
                break;
            case CancelCommitDeadline:
                Timers.Cancel(CommitDeadlineTimer);
                break;
            case StartPassivationTimer start:
                Timers.StartSingleTimer(PassivationDue.Instance, PassivationDue.Instance, start.Delay);
                break;
            case CancelPassivationTimer:
                Timers.Cancel(PassivationDue.Instance);
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
}
