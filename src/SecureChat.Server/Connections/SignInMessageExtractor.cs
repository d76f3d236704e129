using Akka.Cluster.Sharding;

namespace SecureChat.Server.Connections;

/// <summary>
/// Routes every <see cref="IWithClientId"/> message to the sign-in table of that id, in one of <see cref="ShardCount"/> shards
/// chosen by a stable hash of the id. Every node must use the same count, and it must never change on a live cluster (an id
/// would have two tables, and two connections of it would both stay).
/// </summary>
public sealed class SignInMessageExtractor() : HashCodeMessageExtractor(ShardCount)
{
    /// <summary>As the rooms' (about ten shards per node of the largest cluster foreseen); never change it on a live cluster.</summary>
    public const int ShardCount = 100;

    public override string? EntityId(object message) => (message as IWithClientId)?.ClientId;
}
