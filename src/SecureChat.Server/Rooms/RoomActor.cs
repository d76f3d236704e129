using Akka.Actor;
using Akka.Event;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Relay;
using SecureChat.Server.Messaging;

namespace SecureChat.Server.Rooms;

/// <summary>
/// One chat room. Every rule is the room state's (<see cref="RoomState{TConnection}"/>, PROTOCOL.md §4): this actor
/// hands it each message and carries out what it decides: frames and refusals to the members' connections, timers,
/// watching connections (a terminated one is a disconnect), passivation through its parent, log lines. It talks to
/// members only through their connections' IActorRefs, so it may live on another node.
/// </summary>
public sealed class RoomActor : ReceiveActor, IWithTimers
{
    private const string CommitDeadlineTimer = "commit-deadline";

    private readonly RoomState<IActorRef> _state;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public RoomActor(string roomId, ulong startEpoch, RoomSettings settings)
    {
        _state = new RoomState<IActorRef>(roomId, startEpoch, settings);

        Receive<JoinRoom>(join => Carry(_state.Join(join.ClientId, new SignedBundle { Content = join.BundleContent, Signature = join.BundleSignature },
            join.PreferredSuite, join.Connection)));
        Receive<LeaveRoom>(leave => Carry(_state.Leave(leave.ClientId, leave.Connection)));
        Receive<SubmitCommit>(submit => Carry(_state.SubmitCommit(submit.ClientId, new SignedCommit { Content = submit.Content, Signature = submit.Signature },
            submit.Connection)));
        Receive<PublishToRoom>(publish => Carry(_state.Publish(publish.ClientId, publish.Epoch, publish.Envelope, publish.Connection)));
        Receive<Terminated>(terminated => Carry(_state.Disconnect(terminated.ActorRef)));
        Receive<CommitDeadlineDue>(due => Carry(_state.CommitDeadline(due)));
        Receive<PassivationDue>(_ => Carry(_state.PassivationDue()));
        Receive<GetRoomState>(_ => Sender.Tell(new RoomStatus(_state.Snapshot())));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string roomId, ulong startEpoch, RoomSettings settings) =>
        Akka.Actor.Props.Create(() => new RoomActor(roomId, startEpoch, settings));

    protected override void PreStart() => Carry(_state.Start());

    private void Carry(RoomDecision<IActorRef> decision)
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
        }

        foreach (var effect in decision.Effects)
        {
            Carry(effect);
        }
    }

    private void Carry(RoomEffect effect)
    {
        switch (effect)
        {
            case SendFrame<IActorRef> send:
                send.To.Tell(new RoomFrame(_state.RoomId, send.Frame));
                break;
            case RefuseRequest<IActorRef> refusal:
                // Logged once, by the connection, which knows the peer's address.
                refusal.To.Tell(new RoomError(_state.RoomId, refusal.Code, refusal.Reason, refusal.NotInRoom, refusal.Epoch));
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
                Context.Parent.Tell(new Passivate(_state.RoomId, passivate.LastEpoch));
                break;
            case RoomNote note:
                _log.Info("Room {0}: {1}", _state.RoomId, note.Text);
                break;
            default:
                throw new InvalidOperationException($"room effect {effect.GetType().Name} is not carried out");
        }
    }

    private sealed class PassivationDue
    {
        public static readonly PassivationDue Instance = new();

        private PassivationDue()
        {
        }
    }
}
