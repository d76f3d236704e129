namespace SecureChat.Server.Messaging;

/// <summary>
/// Every message for a room carries its id. The registry routes on it today (<c>RoomMessageExtractor</c>); a cluster
/// shard region will route on it tomorrow.
/// </summary>
public interface IWithRoomId : IServerMessage
{
    string RoomId { get; }
}
