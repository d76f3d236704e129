using System.Net.Security;
using Akka.Actor;
using SecureChat.Client.Connection;
using SecureChat.Client.Session;
using SecureChat.Testing.EndToEnd;
using SecureChat.Testing.Honest;
using SecureChat.Testing.Hosting;
using SecureChat.Testing.RealClients;
using SecureChat.Transport.Tls;

namespace SecureChat.Client.Tests.EndToEnd;

/// <summary>
/// Failures that retrying cannot heal, over real TLS against the real server: the client tries once, stops, says why
/// (<see cref="ConnectionStopped"/>), makes no second attempt however long it waits, and connects when asked once the cause
/// is fixed. A transient failure is retried.
/// </summary>
public sealed class FatalConnectionTests() : EndToEndTest("e2e-fatal")
{
    // Many backoffs long: a client that would retry has tried again several times by then.
    private static readonly TimeSpan Backoff = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan ManyBackoffs = TimeSpan.FromMilliseconds(1500);

    [Fact]
    public async Task A_client_certificate_from_another_ca_is_refused_by_the_server_and_the_client_stops_until_reconnect_after_the_fix()
    {
        using var otherCa = new TestCertificates();
        var foreign = otherCa.IssueClientCertificate("alice");
        var connector = new SwitchableConnector(Server.Port, () => TlsSettings.ForClient(foreign, Server.Certificates.CaCertificate, TestCertificates.ServerName));
        await using var alice = Start(connector);

        var stopped = await alice.WaitForAsync<ConnectionStopped>();

        Assert.Equal(StopCause.ClientCertificateRefused, stopped.Cause);
        await AssertNoSecondAttemptAsync(alice, connector);

        var issued = Server.Certificates.IssueClientCertificate("alice");
        connector.Options = () => TlsSettings.ForClient(issued, Server.Certificates.CaCertificate, TestCertificates.ServerName);
        alice.Client.Reconnect();
        await alice.WaitForAsync<Connected>();
        Assert.Equal(2, connector.Attempts);
    }

    [Fact]
    public async Task A_server_certificate_from_a_ca_we_do_not_trust_stops_the_client_at_once()
    {
        using var otherCa = new TestCertificates();
        var certificate = Server.Certificates.IssueClientCertificate("alice");
        var connector = new SwitchableConnector(Server.Port, () => TlsSettings.ForClient(certificate, otherCa.CaCertificate, TestCertificates.ServerName));
        await using var alice = Start(connector);

        var stopped = await alice.WaitForAsync<ConnectionStopped>();

        Assert.Equal(StopCause.ServerCertificateUntrusted, stopped.Cause);
        Assert.Contains("not issued by our CA", stopped.Detail, StringComparison.Ordinal);
        await AssertNoSecondAttemptAsync(alice, connector);
    }

    [Fact]
    public async Task A_server_certificate_for_another_name_stops_the_client_and_says_so()
    {
        var certificate = Server.Certificates.IssueClientCertificate("alice");
        var connector = new SwitchableConnector(Server.Port, () => TlsSettings.ForClient(certificate, Server.Certificates.CaCertificate, "chat.example.org"));
        await using var alice = Start(connector);

        var stopped = await alice.WaitForAsync<ConnectionStopped>();

        Assert.Equal(StopCause.ServerNameMismatch, stopped.Cause);
        Assert.Contains("does not name chat.example.org", stopped.Detail, StringComparison.Ordinal);
        await AssertNoSecondAttemptAsync(alice, connector);
    }

    [Fact]
    public async Task A_certificate_for_another_id_is_found_before_connecting()
    {
        var bobs = Server.Certificates.IssueClientCertificate("bob");
        var connector = new SwitchableConnector(Server.Port, () => TlsSettings.ForClient(bobs, Server.Certificates.CaCertificate, TestCertificates.ServerName),
            expectedClientId: "alice");
        await using var alice = Start(connector);

        var stopped = await alice.WaitForAsync<ConnectionStopped>();

        Assert.Equal((StopCause.CertificateIdMismatch, "our certificate is for bob, not for alice"), (stopped.Cause, stopped.Detail));
        await AssertNoSecondAttemptAsync(alice, connector);
    }

    [Fact]
    public async Task A_certificate_for_another_id_that_reaches_the_server_is_refused_there_and_the_client_stops()
    {
        var bobs = Server.Certificates.IssueClientCertificate("bob");
        var connector = new SwitchableConnector(Server.Port, () => TlsSettings.ForClient(bobs, Server.Certificates.CaCertificate, TestCertificates.ServerName));
        await using var alice = Start(connector);

        var stopped = await alice.WaitForAsync<ConnectionStopped>();

        Assert.Equal(StopCause.CertificateIdMismatch, stopped.Cause);
        Assert.Contains("sender id differs from the certificate", stopped.UntrustedServerReason, StringComparison.Ordinal); // SENDER_MISMATCH
        await AssertNoSecondAttemptAsync(alice, connector);
    }

    [Fact]
    public async Task Nothing_listening_is_transient_the_client_keeps_trying()
    {
        var nothing = new global::System.Net.Sockets.TcpListener(global::System.Net.IPAddress.Loopback, 0);
        nothing.Start();
        var port = ((global::System.Net.IPEndPoint)nothing.LocalEndpoint).Port;
        nothing.Stop();
        nothing.Dispose();
        var certificate = Server.Certificates.IssueClientCertificate("alice");
        var connector = new SwitchableConnector(port, () => TlsSettings.ForClient(certificate, Server.Certificates.CaCertificate, TestCertificates.ServerName));
        await using var alice = Start(connector);

        Assert.NotNull((await alice.WaitForAsync<Disconnected>()).RetryIn);
        await Eventually.TrueAsync(() => connector.Attempts >= 3, "three attempts");
        Assert.DoesNotContain(alice.Events, e => e is ConnectionStopped);
    }

    private TestChatClient Start(IServerConnector connector) =>
        TestChatClient.Start(ClientOptions.WithNewIdentity("alice", connector) with
        {
            Settings = new ClientSessionSettings { InitialBackoff = Backoff, MaxBackoff = Backoff },
        }, System);

    private static async Task AssertNoSecondAttemptAsync(TestChatClient client, SwitchableConnector connector)
    {
        var events = client.Events.Count;
        await Task.Delay(ManyBackoffs); // the absence of an attempt: waited for, many backoffs long
        Assert.True(1 == connector.Attempts, string.Join("\n", client.Events));
        Assert.DoesNotContain(client.Events.Skip(events), e => e is Disconnected or Connected);
        Assert.DoesNotContain(client.Events, e => e is Disconnected);
    }

    /// <summary>A real TLS connector whose options the test can change between attempts, counting the attempts.</summary>
    private sealed class SwitchableConnector(int port, Func<SslClientAuthenticationOptions> options, string? expectedClientId = null) : IServerConnector
    {
        private int _attempts;

        public Func<SslClientAuthenticationOptions> Options { get; set; } = options;

        public int Attempts => Volatile.Read(ref _attempts);

        public string Address => $"127.0.0.1:{port}";

        public IServerLink Connect(IActorRef session, long linkId)
        {
            Interlocked.Increment(ref _attempts);
            return new TlsServerConnector("127.0.0.1", port, Options, expectedClientId: expectedClientId).Connect(session, linkId);
        }
    }
}
