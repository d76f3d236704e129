namespace SecureChat.Server.Messaging;

/// <summary>
/// The Akka.Hosting registry key of the actor that routes every <see cref="IWithRoomId"/> message to its room: the
/// room registry today, the shard region once rooms are sharded. Connections resolve it, not a concrete rooms actor.
/// </summary>
public sealed class RoomRouter
{
    private RoomRouter()
    {
    }
}
