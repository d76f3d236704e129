using Akka.Event;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Remote.Hosting;

namespace SecureChat.Server.Cluster;

/// <summary>Where this node's cluster transport listens, how the others reach it, and whom it joins.</summary>
/// <param name="Host">Address Akka.Remote binds to.</param>
/// <param name="Port">Its port; 0 picks a free one.</param>
/// <param name="PublicHost">Address the other nodes reach this one at (null: <paramref name="Host"/>).</param>
/// <param name="Seeds">The cluster's seed nodes; none: the node joins itself, a cluster of one.</param>
/// <param name="MaxMessageBytes">The largest message one node sends another (a client frame plus its routing).</param>
public sealed record ClusterNodeSettings(string Host, int Port, string? PublicHost, IReadOnlyList<ClusterSeed> Seeds, long MaxMessageBytes)
{
    /// <summary>Akka.Remote's own default frame limit; our messages never need less.</summary>
    public const long MinimumMessageBytes = 128_000;

    /// <summary>A cluster of one on <paramref name="host"/>:<paramref name="port"/> (tests).</summary>
    public static ClusterNodeSettings OneNode(string host, int port) => new(host, port, null, [], MinimumMessageBytes);
}

public static class ClusterHosting
{
    /// <summary>
    /// Akka.Remote and Akka.Cluster. With no seed nodes the server joins itself: a single server is a cluster of one,
    /// on the same code path as a larger cluster. With seeds it joins them (a seed that lists itself first may form
    /// the cluster alone, Akka's rule). Akka.Remote drops a message above its frame size (and says so only in its own
    /// log), so the limit is raised to what a room may send a node: the rooms' relays notice a dropped one by its
    /// sequence number anyway.
    /// </summary>
    public static AkkaConfigurationBuilder AddCluster(this AkkaConfigurationBuilder builder, ClusterNodeSettings settings)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(settings);
        var frame = Math.Max(ClusterNodeSettings.MinimumMessageBytes, settings.MaxMessageBytes);
        builder
            .WithRemoting(new RemoteOptions
            {
                HostName = settings.Host,
                Port = settings.Port,
                PublicHostName = string.IsNullOrWhiteSpace(settings.PublicHost) ? null : settings.PublicHost,
                MaxFrameSize = frame,
                SendBufferSize = 2 * frame,
                ReceiveBufferSize = 2 * frame,
            })
            .WithClustering(new ClusterOptions
            {
                SeedNodes = [.. settings.Seeds.Select(seed => seed.ToAkkaAddress(ServerHost.ActorSystemName))],
            });
        // The node's own address and its Up are logged: operators (and the cluster tests) read them to see who is where.
        return builder.AddStartup((system, _) =>
        {
            var cluster = Akka.Cluster.Cluster.Get(system);
            system.Log.Info("Cluster node {0} joins {1}", cluster.SelfAddress,
                settings.Seeds.Count == 0 ? "itself (a cluster of one)" : "the seed nodes " + string.Join(", ", settings.Seeds));
            if (settings.Seeds.Count == 0)
            {
                cluster.Join(cluster.SelfAddress);
            }

            cluster.RegisterOnMemberUp(() => system.Log.Info("Cluster node {0} is up in the cluster", cluster.SelfAddress));
        });
    }
}
