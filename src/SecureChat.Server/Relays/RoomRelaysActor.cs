using Akka.Actor;
using Akka.Event;
using SecureChat.Server.Messaging;

namespace SecureChat.Server.Relays;

/// <summary>
/// The parent of this node's room relays, one <see cref="RoomRelayActor"/> per room with members here (DrawTogether's
/// child-per-entity parent): every connection sends its room traffic here, and it goes on to the room's relay, made
/// when the first message for the room arrives. A relay left without members asks to be stopped; the parent agrees
/// only if it has forwarded nothing to it since, so a message can never be caught in a stopping relay.
/// </summary>
public sealed class RoomRelaysActor : ReceiveActor
{
    private readonly Dictionary<string, Child> _relays = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, string> _rooms = [];
    private readonly IActorRef _region;
    private readonly TimeSpan _idleTimeout;
    private long _made;

    public RoomRelaysActor(IActorRef region, TimeSpan idleTimeout)
    {
        _region = region;
        _idleTimeout = idleTimeout;
        Receive<IWithRoomId>(message =>
        {
            if (!_relays.TryGetValue(message.RoomId, out var child))
            {
                var relay = Context.ActorOf(RoomRelayActor.Props(message.RoomId, _region, _idleTimeout), $"relay-{++_made}");
                Context.Watch(relay);
                _relays[message.RoomId] = child = new Child(relay);
                _rooms[relay] = message.RoomId;
            }

            child.Forwarded++;
            child.Relay.Forward(message);
        });
        Receive<RelayIdle>(idle =>
        {
            if (_relays.TryGetValue(idle.RoomId, out var child) && child.Relay.Equals(Sender) && child.Forwarded == idle.Received)
            {
                Forget(Sender);
                Context.Stop(Sender);
            }
        });
        Receive<Terminated>(terminated => Forget(terminated.ActorRef));
    }

    public static Props Props(IActorRef region, TimeSpan idleTimeout) => Akka.Actor.Props.Create(() => new RoomRelaysActor(region, idleTimeout));

    /// <summary>A relay that fails is stopped (its members' next messages make a new one), not restarted with an empty memory.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new StopAndLog(relay => _rooms.GetValueOrDefault(relay, relay.Path.Name));

    private void Forget(IActorRef relay)
    {
        if (_rooms.Remove(relay, out var roomId) && _relays.TryGetValue(roomId, out var child) && child.Relay.Equals(relay))
        {
            _relays.Remove(roomId);
        }
    }

    private sealed class Child(IActorRef relay)
    {
        public IActorRef Relay { get; } = relay;

        public long Forwarded { get; set; }
    }

    private sealed class StopAndLog(Func<IActorRef, string> describe) : OneForOneStrategy(_ => Directive.Stop)
    {
        protected override void LogFailure(IActorContext context, IActorRef child, Exception cause, Directive directive) =>
            context.GetLogger().Error(cause, "Relay of room {0} failed; stopped", describe(child));
    }
}
