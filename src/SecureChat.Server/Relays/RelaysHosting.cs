using Akka.Hosting;
using SecureChat.Server.Rooms;

namespace SecureChat.Server.Relays;

public static class RelaysHosting
{
    /// <summary>How long a relay with no members waits before it stops (a member who comes back within it finds it subscribed).</summary>
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// This node's room relays (<see cref="RoomRelaysActor"/>), registered for the connections to send their room
    /// traffic to; they subscribe to the rooms through the rooms' shard region, so add the rooms first.
    /// </summary>
    public static AkkaConfigurationBuilder AddRoomRelays(this AkkaConfigurationBuilder builder, TimeSpan? idleTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithActors((system, registry) => registry.Register<RoomRelaysActor>(
            system.ActorOf(RoomRelaysActor.Props(registry.Get<RoomActor>(), idleTimeout ?? DefaultIdleTimeout), "room-relays")));
    }
}
