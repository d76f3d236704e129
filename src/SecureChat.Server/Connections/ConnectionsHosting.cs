using Akka.Hosting;
using SecureChat.Server.Rooms;

namespace SecureChat.Server.Connections;

public static class ConnectionsHosting
{
    /// <summary>
    /// The parent of the client connections (<see cref="ConnectionsActor"/>), registered for the listener; its
    /// connections send room traffic to the rooms' shard region (<see cref="RoomActor"/>), so add the rooms first.
    /// </summary>
    public static AkkaConfigurationBuilder AddConnections(this AkkaConfigurationBuilder builder, ConnectionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithActors((system, registry) =>
            registry.Register<ConnectionsActor>(system.ActorOf(ConnectionsActor.Props(registry.Get<RoomActor>(), settings), "connections")));
    }
}
