using SecureChat.Server.Messaging;

namespace SecureChat.Server.Rooms;

/// <summary>
/// The shape of Akka.Cluster.Sharding's <c>IMessageExtractor</c>, declared here because the sharding
/// package is not among the project's allowed dependencies yet. When clustering arrives, delete this
/// interface and let <see cref="RoomMessageExtractor"/> derive from sharding's <c>HashCodeMessageExtractor</c>:
/// the member names and meanings are the same, so neither RoomActor nor its messages change.
/// </summary>
public interface IMessageExtractor
{
    string? EntityId(object message);

    object? EntityMessage(object message);

    string? ShardId(object message);

    string ShardId(string entityId, object? messageHint = null);
}

/// <summary>Routes <see cref="IWithRoomId"/> messages to the room of that id; shards by a stable hash of the id.</summary>
public sealed class RoomMessageExtractor : IMessageExtractor
{
    public const int DefaultMaxNumberOfShards = 100;

    public RoomMessageExtractor(int maxNumberOfShards = DefaultMaxNumberOfShards)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNumberOfShards, 1);
        MaxNumberOfShards = maxNumberOfShards;
    }

    public int MaxNumberOfShards { get; }

    public string? EntityId(object message) => (message as IWithRoomId)?.RoomId;

    public object? EntityMessage(object message) => message;

    public string? ShardId(object message) => EntityId(message) is { } id ? ShardId(id, message) : null;

    public string ShardId(string entityId, object? messageHint = null)
    {
        ArgumentNullException.ThrowIfNull(entityId);

        // FNV-1a over the id's characters: stable across processes, unlike string.GetHashCode.
        var hash = 2166136261u;
        foreach (var c in entityId)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (hash % (uint)MaxNumberOfShards).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
