using SecureChat.Client.Session;
using SecureChat.Testing.EndToEnd;
using SecureChat.Testing.RealClients;

namespace SecureChat.Client.Tests.EndToEnd;

/// <summary>A client whose connection breaks comes back and resumes its membership: no commit, the commits it missed applied.</summary>
public sealed class ReconnectTests() : EndToEndTest("e2e-reconnect")
{
    [Fact]
    public async Task A_member_that_lost_its_connection_resumes_without_a_commit_applies_what_was_committed_meanwhile_and_reads_the_new_epoch()
    {
        await using var alice = TestChatClient.Start(Server, System, "alice");
        var bobConnector = new BreakableConnector(Server.ChatConnector("bob"));
        await using var bob = TestChatClient.Start(
            Server.ChatClientOptions("bob") with { Connector = bobConnector, Settings = new ClientSessionSettings { InitialBackoff = TimeSpan.FromMilliseconds(200) } },
            System);
        await alice.WaitForNextAsync<Connected>();
        await bob.WaitForNextAsync<Connected>();
        alice.Client.Join("lobby");
        await alice.WaitForNextAsync<KeyEstablished>();
        bob.Client.Join("lobby");
        var before = await bob.WaitForNextAsync<KeyEstablished>();
        await alice.WaitForNextAsync<KeyEstablished>(k => k.MemberCount == 2);

        // Bob is offline (every reconnect fails) while carol joins, which alice commits, and carol and alice chat.
        bobConnector.BreakCurrentLink(stayOffline: true);
        Assert.NotNull((await bob.WaitForNextAsync<Disconnected>()).RetryIn);
        bob.Client.Send("lobby", "typed while offline");
        await using var carol = TestChatClient.Start(Server, System, "carol");
        await carol.WaitForNextAsync<Connected>();
        carol.Client.Join("lobby");
        var carolKeys = await carol.WaitForNextAsync<KeyEstablished>();
        Assert.Equal((before.Epoch + 1, 3), (carolKeys.Epoch, carolKeys.MemberCount)); // bob is still a member
        await alice.WaitForNextAsync<KeyEstablished>(k => k.Epoch == carolKeys.Epoch);
        carol.Client.Send("lobby", "said while bob was away");
        await alice.WaitForNextAsync<MessageReceived>(m => m.Text == "said while bob was away");
        var epochWhileAway = (await Server.RoomStateAsync("lobby")).Durable.Epoch;

        bobConnector.Release();
        await bob.WaitForNextAsync<Reconnected>();
        var caughtUp = await bob.WaitForNextAsync<KeyEstablished>();
        var resumed = await bob.WaitForNextAsync<Resumed>();

        Assert.Equal((carolKeys.Epoch, carolKeys.EpochCode), (caughtUp.Epoch, caughtUp.EpochCode));
        Assert.Equal(new Resumed("lobby", before.Epoch, carolKeys.Epoch, 1), resumed);
        // Typed before carol joined: held until bob says it may go to her too (issue #13 item 7), then delivered.
        Assert.Equal(["carol"], (await bob.WaitForNextAsync<QueuedSendsHeld>()).JoinedSince);
        bob.Client.SendQueued("lobby");
        Assert.Equal("typed while offline", (await carol.WaitForNextAsync<MessageReceived>(m => m.SenderId == "bob")).Text);
        Assert.Equal("typed while offline", (await alice.WaitForNextAsync<MessageReceived>(m => m.SenderId == "bob")).Text);
        alice.Client.Send("lobby", "welcome back");
        Assert.Equal("welcome back", (await bob.WaitForNextAsync<MessageReceived>()).Text);
        Assert.Equal(epochWhileAway, (await Server.RoomStateAsync("lobby")).Durable.Epoch); // the reconnect cost no commit
        // The room's log kept what was said meanwhile: bob got it in the catch-up, once, before he was back.
        Assert.Single(bob.Events, e => e is MessageReceived { Text: "said while bob was away" });
        Assert.True(bob.Events.ToList().FindIndex(e => e is MessageReceived { Text: "said while bob was away" }) < bob.Events.ToList().FindIndex(e => e is Resumed));
    }
}
