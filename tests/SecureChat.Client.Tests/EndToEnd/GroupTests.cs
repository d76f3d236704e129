using SecureChat.Client.Session;
using SecureChat.Client.Simulation;
using SecureChat.Testing.EndToEnd;
using SecureChat.Testing.RealClients;

namespace SecureChat.Client.Tests.EndToEnd;

/// <summary>Three and ten real clients over TLS against the real server.</summary>
public sealed class GroupTests() : EndToEndTest("e2e-group")
{
    [Fact]
    public async Task Three_members_each_receive_every_other_members_message_once_and_a_leaver_is_rekeyed_out()
    {
        await using var alice = TestChatClient.Start(Server, System, "alice");
        await using var bob = TestChatClient.Start(Server, System, "bob");
        await using var carol = TestChatClient.Start(Server, System, "carol");
        TestChatClient[] all = [alice, bob, carol];
        var latestKeys = new Dictionary<TestChatClient, KeyEstablished>();
        foreach (var client in all)
        {
            await client.WaitForNextAsync<Connected>();
            client.Client.Join("room3");
            latestKeys[client] = await client.WaitForNextAsync<KeyEstablished>();
        }

        // Everyone converges on one epoch with all three members and the same code.
        var finalKeys = new List<KeyEstablished>();
        foreach (var client in all)
        {
            finalKeys.Add(latestKeys[client].MemberCount == 3 ? latestKeys[client] : await client.WaitForNextAsync<KeyEstablished>(k => k.MemberCount == 3));
        }

        Assert.Single(finalKeys.Select(k => (k.Epoch, k.EpochCode)).Distinct());

        foreach (var sender in all)
        {
            sender.Client.Send("room3", $"from {sender.Id}");
        }

        foreach (var receiver in all)
        {
            var texts = new List<string>();
            for (var i = 0; i < 2; i++)
            {
                var m = await receiver.WaitForNextAsync<MessageReceived>();
                Assert.Equal($"from {m.SenderId}", m.Text);
                texts.Add(m.Text);
            }

            Assert.Equal(all.Where(c => c != receiver).Select(c => $"from {c.Id}").Order(), texts.Order());
        }

        carol.Client.Leave("room3");
        await carol.WaitForNextAsync<Left>();
        var aliceSeesCarolLeave = await alice.WaitForNextAsync<MemberLeft>(m => m.ClientId == "carol");
        Assert.Equal(carol.Client.Fingerprint, aliceSeesCarolLeave.Fingerprint);
        await alice.WaitForNextAsync<KeyEstablished>(k => k.MemberCount == 2);
        await bob.WaitForNextAsync<KeyEstablished>(k => k.MemberCount == 2);
        alice.Client.Send("room3", "carol is gone");
        Assert.Equal("carol is gone", (await bob.WaitForNextAsync<MessageReceived>()).Text);
    }

    [Fact]
    public async Task Ten_clients_through_the_simulator_deliver_every_message_exactly_once()
    {
        var simulator = new Simulator(
            new SimulationOptions { Clients = 10, Rooms = 1, MessagesPerClient = 5, ConnectAndJoinTimeout = TimeSpan.FromSeconds(60), DeliveryTimeout = TimeSpan.FromSeconds(60) },
            (_, id, _) => ChatClient.Start(Server.ChatClientOptions(id), System));

        var report = await simulator.RunAsync();

        Assert.Equal(50, report.Sent);
        Assert.Equal(450, report.Expected);
        Assert.Equal(450, report.Delivered);
        Assert.Equal((0L, 0L, 0L), (report.Lost, report.Duplicates, report.DecryptFailures));
        Assert.Empty(report.Problems);
        Assert.True(report.Passed);
        var room = Assert.Single(report.Rooms);
        Assert.Equal("sim-room-0", room.Name);
        Assert.Contains(Server.Logs.Lines, line => line.Contains($"Room sim-room-0: epoch {room.Epoch} committed by ", StringComparison.Ordinal));
    }
}
