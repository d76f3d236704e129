using Akka.Actor;
using Akka.Event;

namespace SecureChat.Server.Connections;

/// <summary>
/// The parent of every <see cref="ConnectionActor"/>: the listener asks it to start one per authenticated socket.
/// A connection that fails is stopped, not restarted, and the failure logged: its socket is closed when it stops,
/// its state is unknown, and a restart would start a second read loop on a closed socket. It also keeps which connection is
/// signed in for each client id (<see cref="SignIns{TConnection}"/>): a connection's HELLO takes over from an earlier
/// connection of the same id on this node, which is told SIGNED_IN_ELSEWHERE and closes (PROTOCOL.md §4.1.1).
/// </summary>
public sealed class ConnectionsActor : ReceiveActor
{
    private readonly Dictionary<IActorRef, string> _names = [];
    private readonly SignIns<IActorRef> _signIns = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private long _opened;

    public ConnectionsActor(IActorRef rooms, ConnectionSettings settings)
    {
        Receive<OpenConnection>(open =>
        {
            var connection = Context.ActorOf(ConnectionActor.Props(open.Io, open.ClientId, open.Remote, rooms, settings), $"connection-{++_opened}");
            Context.Watch(connection);
            _names[connection] = $"{open.ClientId} at {open.Remote}";
            Sender.Tell(new ConnectionOpened(connection));
        });
        Receive<SignedIn>(signedIn =>
        {
            if (_signIns.SignIn(signedIn.ClientId, Sender) is { } displaced)
            {
                _log.Info("Client {0} signed in again ({1}); its earlier connection ({2}) is told SIGNED_IN_ELSEWHERE and closed", signedIn.ClientId,
                    _names.GetValueOrDefault(Sender, "?"), _names.GetValueOrDefault(displaced, "?"));
                displaced.Tell(SignedInElsewhere.Instance);
            }
        });
        Receive<Terminated>(terminated =>
        {
            _names.Remove(terminated.ActorRef);
            _signIns.SignOut(terminated.ActorRef);
        });
    }

    public static Props Props(IActorRef rooms, ConnectionSettings settings) =>
        Akka.Actor.Props.Create(() => new ConnectionsActor(rooms, settings));

    protected override SupervisorStrategy SupervisorStrategy() => new StopAndLog(child => _names.GetValueOrDefault(child, child.Path.Name));

    /// <summary>Stops a failed connection and logs which client it served.</summary>
    private sealed class StopAndLog(Func<IActorRef, string> describe) : OneForOneStrategy(_ => Directive.Stop)
    {
        protected override void LogFailure(IActorContext context, IActorRef child, Exception cause, Directive directive) =>
            context.GetLogger().Error(cause, "Connection of {0} failed; closed", describe(child));
    }
}
