using Akka.Cluster.Sharding;
using SecureChat.Server.Messaging;

namespace SecureChat.Server.Rooms;

/// <summary>
/// Routes every <see cref="IWithRoomId"/> message to the room of that id, in one of <see cref="ShardCount"/> shards
/// chosen by a stable hash of the id. The shard count is part of where rooms live: every node must use the same one,
/// and it must never change on a live cluster (rooms would be found in two shards at once).
/// </summary>
public sealed class RoomMessageExtractor() : HashCodeMessageExtractor(ShardCount)
{
    /// <summary>About ten shards per node of the largest cluster foreseen; never change it on a live cluster.</summary>
    public const int ShardCount = 100;

    public override string? EntityId(object message) => (message as IWithRoomId)?.RoomId;
}
