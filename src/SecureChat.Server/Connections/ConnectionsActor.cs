using Akka.Actor;
using Akka.Event;

namespace SecureChat.Server.Connections;

/// <summary>
/// The parent of every <see cref="ConnectionActor"/>: the listener asks it to start one per authenticated socket.
/// A connection that fails is stopped, not restarted, and the failure logged: its socket is closed when it stops,
/// its state is unknown, and a restart would start a second read loop on a closed socket. Which connection holds a client id
/// is not kept here but in the cluster-wide sign-in table of the id (<see cref="SignInActor"/>), which each connection tells
/// its HELLO: one rule for connections on this node and on others (PROTOCOL.md §4.1.1).
/// </summary>
public sealed class ConnectionsActor : ReceiveActor
{
    private readonly Dictionary<IActorRef, string> _names = [];
    private long _opened;

    /// <param name="rooms">Where the connections send room traffic.</param>
    /// <param name="signIns">The sign-in tables (their shard region), which the connections tell their HELLO.</param>
    public ConnectionsActor(IActorRef rooms, IActorRef signIns, ConnectionSettings settings)
    {
        Receive<OpenConnection>(open =>
        {
            var connection = Context.ActorOf(ConnectionActor.Props(open.Io, open.ClientId, open.Remote, rooms, signIns, settings), $"connection-{++_opened}");
            Context.Watch(connection);
            _names[connection] = $"{open.ClientId} at {open.Remote}";
            Sender.Tell(new ConnectionOpened(connection));
        });
        Receive<Terminated>(terminated =>
        {
            _names.Remove(terminated.ActorRef);
        });
    }

    public static Props Props(IActorRef rooms, IActorRef signIns, ConnectionSettings settings) =>
        Akka.Actor.Props.Create(() => new ConnectionsActor(rooms, signIns, settings));

    protected override SupervisorStrategy SupervisorStrategy() => new StopAndLog(child => _names.GetValueOrDefault(child, child.Path.Name));

    /// <summary>Stops a failed connection and logs which client it served.</summary>
    private sealed class StopAndLog(Func<IActorRef, string> describe) : OneForOneStrategy(_ => Directive.Stop)
    {
        protected override void LogFailure(IActorContext context, IActorRef child, Exception cause, Directive directive) =>
            context.GetLogger().Error(cause, "Connection of {0} failed; closed", describe(child));
    }
}
