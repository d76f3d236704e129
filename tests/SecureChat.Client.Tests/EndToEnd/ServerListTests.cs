using Akka.Actor;
using SecureChat.Client.Session;
using SecureChat.Client.Simulation;
using SecureChat.Testing.Hosting;
using SecureChat.Testing.RealClients;

namespace SecureChat.Client.Tests.EndToEnd;

/// <summary>Clients with a list of servers: two real servers, the first one stopped under a client; the simulator spread over both.</summary>
public sealed class ServerListTests : IAsyncLifetime
{
    private const string Room = "lobby";
    private readonly ActorSystem _system = ActorSystem.Create("e2e-servers", ClientHocon.Quiet);
    private TestServer _first = null!;
    private TestServer _second = null!;
    private bool _firstStopped;

    public async Task InitializeAsync()
    {
        _first = await TestServer.StartAsync();
        _second = await TestServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _system.Terminate();
        if (!_firstStopped)
        {
            await _first.DisposeAsync();
        }

        await _second.DisposeAsync();
    }

    [Fact]
    public async Task When_its_server_stops_a_client_moves_to_the_next_in_its_list_rejoins_there_and_chats_on()
    {
        var settings = new ClientSessionSettings { InitialBackoff = TimeSpan.FromMilliseconds(100) };
        await using var alice = TestChatClient.Start(_first.ChatClientOptions("alice") with
        {
            FailoverServers = [_second.ChatConnector("alice")],
            Settings = settings,
        }, _system);
        await using var bob = TestChatClient.Start(_second, _system, "bob");
        await alice.WaitForAsync<Connected>();
        await bob.WaitForAsync<Connected>();
        alice.Client.Join(Room);
        bob.Client.Join(Room);
        await alice.WaitForAsync<KeyEstablished>();
        Assert.Equal(1, (await bob.WaitForAsync<KeyEstablished>()).MemberCount); // two servers, two rooms of the same name

        _firstStopped = true;
        await _first.DisposeAsync();

        var disconnected = await alice.WaitForAsync<Disconnected>();
        Assert.Equal(_second.ChatConnector("alice").Address, disconnected.NextServer);
        Assert.InRange(Assert.NotNull(disconnected.RetryIn), settings.InitialBackoff / 2, settings.InitialBackoff); // spread by BackoffJitter
        Assert.Equal(disconnected.NextServer, (await alice.WaitForAsync<Reconnected>()).Server);
        await alice.WaitForAsync<KeyEstablished>(k => k.MemberCount == 2);
        await bob.WaitForAsync<KeyEstablished>(k => k.MemberCount == 2);
        alice.Client.Send(Room, "moved over");
        var received = await bob.WaitForAsync<MessageReceived>();
        Assert.Equal(("alice", "moved over"), (received.SenderId, received.Text));
    }

    [Fact]
    public async Task The_simulator_spreads_its_clients_round_robin_and_reports_each_rooms_name_and_final_epoch()
    {
        TestServer[] servers = [_first, _second];
        var options = new SimulationOptions
        {
            Clients = 4, Rooms = 2, MessagesPerClient = 3, RoomPrefix = "spread",
            ConnectAndJoinTimeout = TimeSpan.FromSeconds(60), DeliveryTimeout = TimeSpan.FromSeconds(60),
        };
        var simulator = new Simulator(options, (index, id, _) =>
        {
            var order = SimulationOptions.ServerOrderFor(servers, index);
            return ChatClient.Start(order[0].ChatClientOptions(id) with { FailoverServers = [.. order.Skip(1).Select(s => s.ChatConnector(id))] }, _system);
        });

        var report = await simulator.RunAsync();

        Assert.True(report.Passed, string.Join("; ", report.Problems));
        Assert.Equal(["spread-0", "spread-1"], report.Rooms.Select(r => r.Name));

        // Clients 0 and 2 (room spread-0) were on the first server, 1 and 3 (spread-1) on the second; each room ended at
        // an epoch its server committed.
        Assert.Contains(_first.Logs.Lines, line => line.Contains($"Room spread-0: epoch {report.Rooms[0].Epoch} committed by ", StringComparison.Ordinal));
        Assert.Contains(_second.Logs.Lines, line => line.Contains($"Room spread-1: epoch {report.Rooms[1].Epoch} committed by ", StringComparison.Ordinal));
        Assert.DoesNotContain(_first.Logs.Lines, line => line.Contains("Room spread-1:", StringComparison.Ordinal));
        Assert.DoesNotContain(_second.Logs.Lines, line => line.Contains("Room spread-0:", StringComparison.Ordinal));
    }
}
