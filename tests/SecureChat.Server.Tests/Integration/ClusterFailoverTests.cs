using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Akka.Actor;
using SecureChat.Client;
using SecureChat.Client.Rooms;
using SecureChat.Client.Session;
using SecureChat.Testing.Hosting;
using SecureChat.Testing.RealClients;
using Xunit.Abstractions;

namespace SecureChat.Server.Tests.Integration;

/// <summary>
/// Three server processes on loopback form a cluster over real remoting, their rooms in one PostgreSQL database; two
/// rooms have a member on every node. The node hosting a room is killed (SIGKILL: no handoff, no goodbye); its
/// clients move to the other nodes, the room comes back on a survivor from the journal, and chat goes on. Every
/// message sent is delivered to every other member or its sender is told it was not.
/// </summary>
public sealed partial class ClusterFailoverTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(45);

    /// <summary>Failure detection and downing fast enough for a test (cluster notes §1): a dead node is removed in about 6 s, not 26 s.</summary>
    private const string FastFailover = """
        akka.cluster.failure-detector.heartbeat-interval = 500ms
        akka.cluster.failure-detector.acceptable-heartbeat-pause = 1500ms
        akka.cluster.split-brain-resolver.stable-after = 2s
        akka.cluster.down-removal-margin = 1s
        """;

    private static readonly string[] Rooms = ["r-0", "r-1"];

    [PostgresFact]
    public async Task The_room_of_a_killed_node_recovers_on_a_survivor_and_every_message_is_delivered_or_reported_to_its_sender()
    {
        await using var database = await PostgresTestDatabase.CreateAsync();
        using var dir = new TempDirectory();
        using var certificates = new TestCertificates();
        var hocon = Path.Combine(dir.Path, "cluster.hocon");
        await File.WriteAllTextAsync(hocon, await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "server.hocon")) + "\n" + FastFailover);
        var nodes = new List<ServerProcess>();
        using var clientSystem = ActorSystem.Create("cluster-clients", ClientHocon.Quiet);
        var clients = new List<(TestChatClient Client, string Room, int Node)>();
        try
        {
            string[] Arguments(int node, int? seedPort) =>
            [
                "--host", "127.0.0.1", "--port", "0", "--cluster-port", "0", "--certs", certificates.Directory,
                "--postgres", database.ConnectionString, "--hocon", hocon,
                .. seedPort is { } port ? new[] { "--seed", $"127.0.0.1:{port}" } : [],
            ];

            nodes.Add(ServerProcess.Start("node0", dir.Path, Arguments(0, null)));
            var seedPort = await nodes[0].ClusterPortAsync(StartTimeout);
            nodes.Add(ServerProcess.Start("node1", dir.Path, Arguments(1, seedPort)));
            nodes.Add(ServerProcess.Start("node2", dir.Path, Arguments(2, seedPort)));
            var ports = new List<int>();
            foreach (var node in nodes)
            {
                ports.Add(await node.ListeningPortAsync(StartTimeout));
            }

            foreach (var node in nodes)
            {
                await node.WaitForLineAsync(line => line.Contains("is up in the cluster", StringComparison.Ordinal), StartTimeout);
            }

            // Phase 1: a member of each room on every node; everyone hears everyone.
            foreach (var room in Rooms)
            {
                for (var node = 0; node < nodes.Count; node++)
                {
                    var id = $"{room}-m{node}";
                    // Its node first, then the others in turn: the client moves to the next when its server fails.
                    var client = TestChatClient.Start(ClientOptions.WithNewIdentity(id, certificates.ChatConnector(id, ports[node])) with
                    {
                        FailoverServers = [.. Enumerable.Range(1, nodes.Count - 1).Select(step => certificates.ChatConnector(id, ports[(node + step) % nodes.Count]))],
                        Settings = new ClientSessionSettings { InitialBackoff = TimeSpan.FromMilliseconds(200), MaxBackoff = TimeSpan.FromSeconds(1) },
                        ActorName = id,
                    }, clientSystem);
                    clients.Add((client, room, node));
                    await client.WaitForAsync<Connected>(timeout: StepTimeout);
                    client.Client.Join(room);
                    await client.WaitForAsync<KeyEstablished>(k => k.RoomId == room && k.MemberCount == node + 1, StepTimeout);
                }
            }

            var sent = new List<(string Room, string Sender, string Text)>();
            await ChatAsync(clients, sent, "before");

            // Phase 2: kill the node hosting r-0.
            var host = HostOf(nodes, "r-0");
            var lineCounts = nodes.Select(n => n.Lines.Count).ToList();
            var epochsBefore = new Dictionary<string, ulong>();
            foreach (var room in Rooms)
            {
                epochsBefore[room] = (await clients.First(c => c.Room == room).Client.Client.GetRoomsAsync()).Rooms.Single(r => r.RoomId == room).Epoch;
            }

            output.WriteLine($"r-0 runs on node{host} at epoch {epochsBefore["r-0"]}; killing node{host} (pid {nodes[host].Id})");
            var clock = Stopwatch.StartNew();
            nodes[host].Kill();
            // Sent while the room is gone, by the members whose node lives: each is delivered to every member whose
            // link stayed up, or reported to its sender as not delivered; never lost without a word. (The members on
            // the killed node lost their link with it, and their clients said so.)
            var during = new List<(string Room, string Sender, string Text)>();
            foreach (var (client, room, _) in clients.Where(c => c.Node != host))
            {
                var text = $"during {client.Id}";
                client.Client.Send(room, text);
                during.Add((room, client.Id, text));
            }

            var recoveredOn = await WaitForRoomAsync(nodes, host, lineCounts, "r-0");
            var serving = clock.Elapsed;
            await BackInRoomAsync(clients.Where(c => c.Room == "r-0").Select(c => c.Client).ToList(), "r-0", epochsBefore["r-0"]);
            var chatting = clock.Elapsed;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"failover: node{host} killed -> r-0 running again on node{recoveredOn} after {serving.TotalSeconds:0.0} s; its 3 members back in it at one epoch after {chatting.TotalSeconds:0.0} s"));

            // Phase 3: chat goes on in both rooms.
            await BackInRoomAsync(clients.Where(c => c.Room == "r-1").Select(c => c.Client).ToList(), "r-1", epochsBefore["r-1"]);
            await ChatAsync(clients, sent, "after");

            foreach (var (room, sender, text) in during)
            {
                var client = clients.Single(c => c.Client.Id == sender).Client;
                var settled = await Task.WhenAny(
                    client.WaitForAsync<MessageNotDelivered>(n => n.RoomId == room && text.StartsWith(n.Preview, StringComparison.Ordinal), StepTimeout),
                    Task.WhenAll(clients.Where(c => c.Room == room && c.Client.Id != sender && c.Node != host)
                        .Select(c => c.Client.WaitForAsync<MessageReceived>(m => m.SenderId == sender && m.Text == text, StepTimeout))));
                var reported = client.Events.OfType<MessageNotDelivered>().Any(n => n.RoomId == room && text.StartsWith(n.Preview, StringComparison.Ordinal));
                var delivered = clients.Where(c => c.Room == room && c.Client.Id != sender && c.Node != host)
                    .All(c => c.Client.Received.Any(m => m.SenderId == sender && m.Text == text));
                output.WriteLine($"'{text}' in {room}: {(delivered ? "delivered to every member that stayed connected" : reported ? "reported to its sender as not delivered" : "LOST")}");
                Assert.True(delivered || reported, $"'{text}' from {sender} in {room} was neither delivered to every member nor reported as not delivered ({settled.Status})");
            }
        }
        finally
        {
            foreach (var (client, _, _) in clients)
            {
                await client.DisposeAsync();
            }

            foreach (var node in nodes)
            {
                node.Dispose();
                output.WriteLine($"---- {node.Name} (last lines)");
                foreach (var line in node.Lines.TakeLast(60))
                {
                    output.WriteLine(line);
                }
            }
        }
    }

    /// <summary>Each member sends two messages; every other member of its room receives each exactly once.</summary>
    private static async Task ChatAsync(List<(TestChatClient Client, string Room, int Node)> clients,
        List<(string Room, string Sender, string Text)> sent, string phase)
    {
        foreach (var (client, room, _) in clients)
        {
            for (var i = 0; i < 2; i++)
            {
                var text = $"{phase} {client.Id} #{i}";
                client.Client.Send(room, text);
                sent.Add((room, client.Id, text));
            }
        }

        foreach (var (client, room, _) in clients)
        {
            foreach (var (_, sender, text) in sent.Where(s => s.Room == room && s.Sender != client.Id && s.Text.StartsWith(phase, StringComparison.Ordinal)))
            {
                await client.WaitForAsync<MessageReceived>(m => m.RoomId == room && m.SenderId == sender && m.Text == text, StepTimeout);
            }

            Assert.Equal(client.Received.Count, client.Received.Select(m => (m.RoomId, m.SenderId, m.Text)).Distinct().Count());
        }
    }

    /// <summary>The node whose log says it runs <paramref name="roomId"/> (rooms start once, and no node has died yet).</summary>
    private static int HostOf(List<ServerProcess> nodes, string roomId)
    {
        for (var i = 0; i < nodes.Count; i++)
        {
            if (nodes[i].Lines.Any(line => RoomLine().Match(line) is { Success: true } m && m.Groups[1].Value == roomId))
            {
                return i;
            }
        }

        throw new Xunit.Sdk.XunitException($"no node says it runs {roomId}");
    }

    /// <summary>The surviving node that starts <paramref name="roomId"/> again (a log line it did not have at the kill).</summary>
    private static async Task<int> WaitForRoomAsync(List<ServerProcess> nodes, int killed, List<int> lineCounts, string roomId)
    {
        var waits = Enumerable.Range(0, nodes.Count).Where(n => n != killed).Select(async n =>
        {
            await nodes[n].WaitForLineAsync(line => RoomLine().Match(line) is { Success: true } m && m.Groups[1].Value == roomId && !nodes[n].Lines.Take(lineCounts[n]).Contains(line), StepTimeout);
            return n;
        }).ToList();
        return await await Task.WhenAny(waits).WaitAsync(StepTimeout);
    }

    /// <summary>
    /// Every member of the room is back in it (resumed, or keyed at a new epoch) and all are at one epoch, not before
    /// <paramref name="before"/>, with all of them in it. A member whose link stayed up may never have left.
    /// </summary>
    private static async Task BackInRoomAsync(List<TestChatClient> members, string roomId, ulong before)
    {
        var deadline = Stopwatch.StartNew();
        var seen = string.Empty;
        while (deadline.Elapsed < StepTimeout)
        {
            var views = new List<ClientCommands.RoomInfo>();
            foreach (var member in members)
            {
                views.AddRange((await member.Client.GetRoomsAsync()).Rooms.Where(r => r.RoomId == roomId));
            }

            if (views.Count == members.Count && views.All(v => v.Phase == RoomPhase.Ready && v.Members == members.Count && v.Epoch >= before)
                && views.Select(v => v.Epoch).Distinct().Count() == 1)
            {
                return;
            }

            seen = string.Join(", ", views.Select(v => $"{v.Phase}@{v.Epoch}/{v.Members}"));
            await Task.Delay(TimeSpan.FromMilliseconds(200)); // a poll, as AwaitAssert does: the client has no "room settled" signal
        }

        throw new TimeoutException($"{roomId}: its members were not back at one epoch in time; last seen {seen}");
    }

    [GeneratedRegex(@"Room (\S+) runs on ")]
    private static partial Regex RoomLine();
}
