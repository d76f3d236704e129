using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Remote.Hosting;

namespace SecureChat.Server.Cluster;

public static class ClusterHosting
{
    /// <summary>
    /// Akka.Remote on <paramref name="host"/>:<paramref name="port"/> (0 = a free port) and Akka.Cluster. With no seed
    /// nodes the server joins itself: a single server is a cluster of one, on the same code path as a larger cluster.
    /// </summary>
    public static AkkaConfigurationBuilder AddCluster(this AkkaConfigurationBuilder builder, string host, int port)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder
            .WithRemoting(host, port)
            .WithClustering(new ClusterOptions())
            .AddStartup((system, _) =>
            {
                var cluster = Akka.Cluster.Cluster.Get(system);
                cluster.Join(cluster.SelfAddress);
            });
    }
}
