using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Hosting;

namespace SecureChat.Server.Connections;

public static class SignInsHosting
{
    /// <summary>The shard region's type name: part of every sign-in table's address in the cluster.</summary>
    public const string RegionName = "sign-in";

    /// <summary>
    /// The cluster-wide sign-in tables: a shard region of <see cref="SignInActor"/> entities, one per client id
    /// (<see cref="SignInMessageExtractor"/>), registered as <see cref="SignInActor"/> for the connections. Sharding's idle
    /// passivation is off: a table hears nothing while its connection lives, and passivates itself when it has none. The
    /// coordinator keeps its state in distributed data; nothing is persisted.
    /// </summary>
    public static AkkaConfigurationBuilder AddSignIns(this AkkaConfigurationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithShardRegion<SignInActor>(RegionName, _ => SignInActor.Props(), new SignInMessageExtractor(), new ShardOptions
        {
            StateStoreMode = StateStoreMode.DData,
            RememberEntities = false,
            ShouldPassivateIdleEntities = false,
        });
    }
}
