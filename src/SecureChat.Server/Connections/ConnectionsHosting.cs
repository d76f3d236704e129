using Akka.Hosting;
using SecureChat.Server.Relays;

namespace SecureChat.Server.Connections;

public static class ConnectionsHosting
{
    /// <summary>
    /// The parent of the client connections (<see cref="ConnectionsActor"/>), registered for the listener; its
    /// connections send room traffic to this node's room relays (<see cref="RoomRelaysActor"/>) and their HELLO to the sign-in
    /// tables (<see cref="SignInsHosting.AddSignIns"/>), so add those first.
    /// </summary>
    public static AkkaConfigurationBuilder AddConnections(this AkkaConfigurationBuilder builder, ConnectionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithActors((system, registry) =>
            registry.Register<ConnectionsActor>(system.ActorOf(ConnectionsActor.Props(registry.Get<RoomRelaysActor>(), registry.Get<SignInActor>(), settings), "connections")));
    }
}
