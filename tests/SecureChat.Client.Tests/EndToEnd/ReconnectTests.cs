using Akka.Actor;
using SecureChat.Client.Connection;
using SecureChat.Client.Session;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Testing.EndToEnd;
using SecureChat.Transport.Tls;

namespace SecureChat.Client.Tests.EndToEnd;

/// <summary>A client whose connection breaks comes back, rejoins, rekeys and keeps chatting.</summary>
public sealed class ReconnectTests() : EndToEndTest("e2e-reconnect")
{
    [Fact]
    public async Task A_dropped_connection_reconnects_rejoins_rekeys_and_delivers_what_was_typed_meanwhile()
    {
        await using var alice = TestClients.Start(Server, System, "alice");
        var bobConnector = new BreakableConnector(Connector("bob"));
        await using var bob = ChatClient.Start(
            owner => new RoomContext("bob", owner, LocalIdentity.Generate("bob", SystemRandomSource.Instance), new TrustStore(),
                SystemClock.Instance, SystemRandomSource.Instance, new ClientSessionSettings { InitialBackoff = TimeSpan.FromMilliseconds(200) }),
            bobConnector, System, "bob");
        await alice.WaitForAsync<Connected>();
        await bob.WaitForAsync<Connected>();
        alice.Join("lobby");
        await alice.WaitForAsync<KeyEstablished>();
        bob.Join("lobby");
        var before = await bob.WaitForAsync<KeyEstablished>();
        await alice.WaitForAsync<KeyEstablished>(k => k.MemberCount == 2);

        bobConnector.BreakCurrentLink();
        var disconnected = await bob.WaitForAsync<Disconnected>();
        Assert.NotNull(disconnected.RetryIn);
        bob.Send("lobby", "typed while offline");

        await bob.WaitForAsync<Reconnected>();
        var after = await bob.WaitForAsync<KeyEstablished>();
        Assert.True(after.Epoch > before.Epoch);
        Assert.NotEqual(before.EpochCode, after.EpochCode);
        var delivered = await alice.WaitForAsync<MessageReceived>();
        Assert.Equal(("bob", "typed while offline"), (delivered.SenderId, delivered.Text));
        alice.Send("lobby", "welcome back");
        Assert.Equal("welcome back", (await bob.WaitForAsync<MessageReceived>()).Text);
    }

    private TlsServerConnector Connector(string clientId)
    {
        var certificate = Server.Certificates.IssueClient(clientId);
        return new TlsServerConnector("127.0.0.1", Server.Port, () => TlsSettings.ForClient(certificate, Server.Certificates.CaCertificate, "127.0.0.1"));
    }

    /// <summary>Real TLS links that the test can cut, as a network failure would.</summary>
    private sealed class BreakableConnector(IServerConnector inner) : IServerConnector
    {
        private IServerLink? _current;

        public IServerLink Connect(IActorRef session, long linkId)
        {
            var link = inner.Connect(session, linkId);
            Volatile.Write(ref _current, link);
            return link;
        }

        public void BreakCurrentLink() => Volatile.Read(ref _current)?.Dispose();
    }
}
