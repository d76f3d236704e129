using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using SecureChat.Client;
using SecureChat.Client.Session;
using SecureChat.Core.Wire;
using SecureChat.Testing.Honest;
using SecureChat.Testing.Hosting;
using SecureChat.Testing.RawClients;
using SecureChat.Testing.RealClients;
using Xunit.Abstractions;

namespace SecureChat.Server.Tests.Integration;

/// <summary>The built server with <c>--metrics</c>: what an operator's Prometheus and probes see.</summary>
public sealed class MetricsProcessTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_metrics_move_with_connections_chat_refusals_and_errors_and_the_node_is_alive_and_ready()
    {
        using var dir = new TempDirectory();
        using var certificates = new TestCertificates();
        using var server = ServerProcess.Start("server", dir.Path,
            ["--port", "0", "--certs", certificates.Directory, "--data", Path.Combine(dir.Path, "data"), "--metrics", "127.0.0.1:0", "--max-handshakes-per-address", "2", "--handshake-timeout", "00:01:00"]);
        using var http = new HttpClient { Timeout = StepTimeout };
        using var clientSystem = ActorSystem.Create("metrics-clients", ClientHocon.Quiet);
        var flood = new List<TcpClient>();
        try
        {
            var port = await server.ListeningPortAsync(StartTimeout);
            var metrics = new IPEndPoint(IPAddress.Loopback, await server.MetricsPortAsync(StartTimeout));
            Assert.Equal((HttpStatusCode.OK, "alive\n"), await MetricsScrape.GetAsync(http, metrics, "/healthz"));
            await Eventually.TrueAsync(async () => (await MetricsScrape.GetAsync(http, metrics, "/readyz")).Status == HttpStatusCode.OK, "ready", StepTimeout);
            var before = await MetricsScrape.TakeAsync(http, metrics);
            output.WriteLine(before.Text);

            // Chat: alice and bob in one room, three messages from alice.
            await using var alice = await StartClientAsync(certificates, port, "alice", clientSystem);
            await using var bob = await StartClientAsync(certificates, port, "bob", clientSystem);
            alice.Client.Join("metrics");
            await alice.WaitForAsync<KeyEstablished>(k => k.RoomId == "metrics", StepTimeout);
            bob.Client.Join("metrics");
            await bob.WaitForAsync<KeyEstablished>(k => k.RoomId == "metrics" && k.MemberCount == 2, StepTimeout);
            await alice.WaitForAsync<KeyEstablished>(k => k.RoomId == "metrics" && k.MemberCount == 2, StepTimeout);
            for (var i = 0; i < 3; i++)
            {
                alice.Client.Send("metrics", $"hello {i}");
                await bob.WaitForAsync<MessageReceived>(m => m.Text == $"hello {i}", StepTimeout);
            }

            // Refusals: three bare connects from 127.0.0.2, whose address may have two handshakes in progress.
            for (var i = 0; i < 3; i++)
            {
                var socket = new TcpClient(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
                flood.Add(socket);
                try
                {
                    await socket.ConnectAsync(IPAddress.Loopback, port);
                }
                catch (SocketException)
                {
                    // reset at accept: the third
                }
            }

            // A rejected frame: a PING before HELLO.
            await using (var mallory = await TestClient.ConnectAsync("mallory", port, certificates.TlsClientOptions("mallory")))
            {
                await mallory.SendAsync(Frames.Ping("mallory", 1));
                Assert.Equal(ErrorCode.UnexpectedMessage, (await mallory.ExpectAsync(MessageType.Error)).Error.Code);
            }

            MetricsScrape after = before;
            await Eventually.TrueAsync(async () =>
            {
                after = await MetricsScrape.TakeAsync(http, metrics);
                return after["securechat_connections_refused_total{reason=\"max_handshakes_per_address\"}"] >= 1
                    && after.Sum("securechat_frames_rejected_total") > before.Sum("securechat_frames_rejected_total");
            }, "the refusal and the rejected frame counted", StepTimeout);
            output.WriteLine(after.Text);

            Assert.True(after["securechat_connections_accepted_total"] >= before["securechat_connections_accepted_total"] + 5, "accepted: alice, bob, two bare connects, mallory");
            Assert.True(after["securechat_connections_open"] >= 4, "open: alice, bob and the two bare connects held");
            Assert.Equal(2, after["securechat_connections_handshaking"]);
            Assert.True(after["securechat_tls_handshake_duration_seconds_count{result=\"ok\"}"] >= before["securechat_tls_handshake_duration_seconds_count{result=\"ok\"}"] + 3);
            Assert.True(after["securechat_rooms_active"] >= 1);
            Assert.True(after["securechat_room_members"] >= 2);
            Assert.True(after["securechat_deliveries_total"] >= before["securechat_deliveries_total"] + 3, "three messages to bob, and the room's frames");
            Assert.True(after.Sum("securechat_delivery_bytes_total") > before.Sum("securechat_delivery_bytes_total"));
            Assert.True(after["securechat_commits_total"] >= before["securechat_commits_total"] + 2, "alice's room, then bob admitted");
            Assert.Equal(1, after["securechat_frames_rejected_total{code=\"UNEXPECTED_MESSAGE\"}"]);
            Assert.True(after["securechat_journal_write_duration_seconds_count"] > before["securechat_journal_write_duration_seconds_count"]);
            Assert.True(after.Has("securechat_outbound_queue_depth"));
            Assert.Equal(1, after["securechat_cluster_members"]);
            // A young server may not have collected yet (gen0 = 0 happened): that the series is there is what shows the meter is exported.
            Assert.True(after.Has("dotnet_gc_collections_total{gc_heap_generation=\"gen0\"}"), "the runtime's meter is exported");
            Assert.True(after.Has("dotnet_gc_pause_time_seconds_total"));
            Assert.True(after.Has("dotnet_thread_pool_queue_length_total"));
        }
        finally
        {
            flood.ForEach(socket => socket.Dispose());
            server.Kill();
            foreach (var line in server.Lines.TakeLast(200))
            {
                output.WriteLine(line);
            }
        }
    }

    [Fact]
    public async Task A_node_that_never_joins_its_cluster_is_alive_but_not_ready_and_says_why()
    {
        using var dir = new TempDirectory();
        using var certificates = new TestCertificates();
        using var nobody = new TcpListener(IPAddress.Loopback, 0);
        nobody.Start(); // a seed port where no node answers
        var seed = $"127.0.0.1:{((IPEndPoint)nobody.LocalEndpoint).Port}";
        using var server = ServerProcess.Start("server", dir.Path,
            ["--port", "0", "--certs", certificates.Directory, "--data", Path.Combine(dir.Path, "data"), "--metrics", "127.0.0.1:0", "--seed", seed]);
        using var http = new HttpClient { Timeout = StepTimeout };
        try
        {
            await server.ListeningPortAsync(StartTimeout);
            var metrics = new IPEndPoint(IPAddress.Loopback, await server.MetricsPortAsync(StartTimeout));

            Assert.Equal(HttpStatusCode.OK, (await MetricsScrape.GetAsync(http, metrics, "/healthz")).Status);
            var (status, body) = await MetricsScrape.GetAsync(http, metrics, "/readyz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.Matches("^not ready: this node is [A-Za-z]+ in its cluster, not Up\n$", body);
            Assert.Equal(0, (await MetricsScrape.TakeAsync(http, metrics))["securechat_cluster_members"]);
        }
        finally
        {
            server.Kill();
            foreach (var line in server.Lines.TakeLast(100))
            {
                output.WriteLine(line);
            }
        }
    }

    private static async Task<TestChatClient> StartClientAsync(TestCertificates certificates, int port, string id, ActorSystem system)
    {
        var client = TestChatClient.Start(ClientOptions.WithNewIdentity(id, certificates.ChatConnector(id, port)) with { ActorName = id }, system);
        await client.WaitForAsync<Connected>(timeout: StepTimeout);
        return client;
    }
}
