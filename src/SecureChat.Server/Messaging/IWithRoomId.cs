namespace SecureChat.Server.Messaging;

/// <summary>
/// Every message for a room carries its id: the rooms' shard region routes on it (<c>RoomMessageExtractor</c>) to the
/// room's entity, on whichever node of the cluster it lives.
/// </summary>
public interface IWithRoomId : IServerMessage
{
    string RoomId { get; }
}
