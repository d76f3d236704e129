using Akka.Hosting;
using SecureChat.Protocol.Relay;
using SecureChat.Server.Messaging;

namespace SecureChat.Server.Rooms;

public static class RoomsHosting
{
    /// <summary>
    /// The rooms: a <see cref="RoomRegistry"/> that starts a <see cref="RoomActor"/> per room id on its first message,
    /// registered as <see cref="RoomRegistry"/> and as the <see cref="RoomRouter"/> connections send to.
    /// </summary>
    public static AkkaConfigurationBuilder AddRooms(this AkkaConfigurationBuilder builder, RoomSettings settings)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithActors((system, registry) =>
        {
            var rooms = system.ActorOf(RoomRegistry.Props(settings), "rooms");
            registry.Register<RoomRegistry>(rooms);
            registry.Register<RoomRouter>(rooms);
        });
    }
}
