using Akka.Actor;
using SecureChat.Client.Connection;
using SecureChat.Client.Session;
using SecureChat.Testing.EndToEnd;
using SecureChat.Testing.RealClients;

namespace SecureChat.Client.Tests.EndToEnd;

/// <summary>A client whose connection breaks comes back, rejoins, rekeys and keeps chatting.</summary>
public sealed class ReconnectTests() : EndToEndTest("e2e-reconnect")
{
    [Fact]
    public async Task A_dropped_connection_reconnects_rejoins_rekeys_and_delivers_what_was_typed_meanwhile()
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

        bobConnector.BreakCurrentLink();
        var disconnected = await bob.WaitForNextAsync<Disconnected>();
        Assert.NotNull(disconnected.RetryIn);
        bob.Client.Send("lobby", "typed while offline");

        await bob.WaitForNextAsync<Reconnected>();
        var after = await bob.WaitForNextAsync<KeyEstablished>();
        Assert.True(after.Epoch > before.Epoch);
        Assert.NotEqual(before.EpochCode, after.EpochCode);
        var delivered = await alice.WaitForNextAsync<MessageReceived>();
        Assert.Equal(("bob", "typed while offline"), (delivered.SenderId, delivered.Text));
        alice.Client.Send("lobby", "welcome back");
        Assert.Equal("welcome back", (await bob.WaitForNextAsync<MessageReceived>()).Text);
    }

    /// <summary>Real TLS links that the test can cut, as a network failure would.</summary>
    private sealed class BreakableConnector(IServerConnector inner) : IServerConnector
    {
        private IServerLink? _current;

        public string Address => inner.Address;

        public IServerLink Connect(IActorRef session, long linkId)
        {
            var link = inner.Connect(session, linkId);
            Volatile.Write(ref _current, link);
            return link;
        }

        public void BreakCurrentLink() => Volatile.Read(ref _current)?.Dispose();
    }
}
