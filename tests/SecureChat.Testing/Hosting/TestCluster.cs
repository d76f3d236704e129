using Akka.Actor;
using Akka.Cluster;
using Microsoft.Extensions.DependencyInjection;
using SecureChat.Testing.Honest;
using Xunit.Abstractions;

namespace SecureChat.Testing.Hosting;

/// <summary>
/// Several real server hosts in this process (<see cref="TestServer"/>s) that form one cluster over loopback remoting, with
/// their rooms in one PostgreSQL database and one CA: a client certificate from <see cref="Certificates"/> is good on every
/// node. Started node by node (the first is the seed) and returned once every node sees all of them up.
/// </summary>
public sealed class TestCluster : IAsyncDisposable
{
    private readonly List<TestServer> _nodes;

    private TestCluster(List<TestServer> nodes) => _nodes = nodes;

    public IReadOnlyList<TestServer> Nodes => _nodes;

    /// <summary>The first node's certificates, which all the nodes use.</summary>
    public TestCertificates Certificates => _nodes[0].Certificates;

    /// <param name="postgres">The shared room database (<see cref="PostgresTestDatabase.ConnectionString"/>).</param>
    /// <param name="settings">More settings for every node, as <see cref="TestServer.StartAsync(ITestOutputHelper?, string[])"/> takes them.</param>
    public static async Task<TestCluster> StartAsync(int nodes, string postgres, ITestOutputHelper? output = null, params string[] settings)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nodes, 1);
        var started = new List<TestServer>();
        try
        {
            started.Add(await TestServer.StartAsync(output, ["--cluster-port=0", $"--postgres={postgres}", .. settings]));
            var seed = $"127.0.0.1:{ClusterOf(started[0]).SelfAddress.Port}";
            for (var i = 1; i < nodes; i++)
            {
                started.Add(await TestServer.StartAsync(output,
                    ["--cluster-port=0", $"--postgres={postgres}", $"--certs={started[0].Certificates.Directory}", $"--seed={seed}", .. settings]));
            }

            await Eventually.TrueAsync(() => started.All(node => ClusterOf(node).State.Members.Count(m => m.Status == MemberStatus.Up) == nodes),
                $"all {nodes} nodes are up in the cluster", TimeSpan.FromSeconds(60));
            return new TestCluster(started);
        }
        catch
        {
            await DisposeAllAsync(started);
            throw;
        }
    }

    /// <summary>The node's cluster member (its address names it in the logs).</summary>
    public static Akka.Cluster.Cluster ClusterOf(TestServer node) => Akka.Cluster.Cluster.Get(node.Services.GetRequiredService<ActorSystem>());

    /// <summary>The later nodes leave first: the seed goes last.</summary>
    public ValueTask DisposeAsync() => DisposeAllAsync(_nodes);

    private static async ValueTask DisposeAllAsync(List<TestServer> nodes)
    {
        for (var i = nodes.Count - 1; i >= 0; i--)
        {
            await nodes[i].DisposeAsync();
        }
    }
}
