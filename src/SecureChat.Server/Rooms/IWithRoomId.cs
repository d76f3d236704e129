namespace SecureChat.Server.Rooms;

/// <summary>
/// Every message for a room carries its id. The registry routes on it today; a cluster shard region
/// (and a serializer bound to this interface) will route on it tomorrow.
/// </summary>
public interface IWithRoomId
{
    string RoomId { get; }
}
