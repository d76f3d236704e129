using System.Net.Sockets;
using System.Security.Authentication;
using SecureChat.Core.Wire;
using SecureChat.Testing.Hosting;
using SecureChat.Testing.RawClients;
using SecureChat.Transport.Certificates;
using SecureChat.Transport.Tls;

namespace SecureChat.Server.Tests.Integration;

/// <summary>Who gets in: the real host over loopback TLS.</summary>
public sealed class TlsAdmissionTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task A_client_with_a_certificate_from_the_ca_gets_welcomed_under_its_certificate_id()
    {
        await using var server = await TestServer.StartAsync(output);
        await using var alice = await server.ConnectAsync("alice");

        Assert.Equal(SslProtocols.Tls13, alice.Stream.SslProtocol);
        var welcome = await alice.HelloAsync();

        Assert.Equal("alice", welcome.Welcome.ClientId);
        Assert.Equal((uint)WireLimits.DefaultMaxFrameBytes, welcome.Welcome.MaxFrameBytes);
    }

    [Fact]
    public async Task A_handshake_without_a_client_certificate_is_refused()
    {
        await using var server = await TestServer.StartAsync(output);

        await AssertRefusedAsync(server, "anonymous", server.Certificates.AnonymousTlsClientOptions());

        Assert.Contains("refused", await server.Logs.WaitForAsync("TLS handshake from 127.0.0.1"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_certificate_from_another_ca_is_refused()
    {
        await using var server = await TestServer.StartAsync(output);
        using var otherCa = CertificateAuthority.Create("Mallory CA");
        using var forged = otherCa.IssueClientCertificate("alice");

        await AssertRefusedAsync(server, "alice", TlsSettings.ForClient(forged, server.Certificates.CaCertificate, "localhost"));

        Assert.Contains("refused", await server.Logs.WaitForAsync("TLS handshake from 127.0.0.1"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tls_1_2_is_refused_even_with_a_valid_certificate()
    {
        await using var server = await TestServer.StartAsync(output);
        var options = server.TlsClientOptions("alice");
        options.EnabledSslProtocols = SslProtocols.Tls12;

        await AssertRefusedAsync(server, "alice", options);
    }

    [Fact]
    public async Task A_connection_that_never_starts_tls_is_closed_at_the_handshake_deadline()
    {
        await using var server = await TestServer.StartAsync(output, "HandshakeTimeout=00:00:01");
        using var silent = new TcpClient();
        await silent.ConnectAsync("127.0.0.1", server.Port);

        using var deadline = new CancellationTokenSource(TestClient.Timeout);
        var read = await silent.GetStream().ReadAsync(new byte[16], deadline.Token);

        Assert.Equal(0, read);
        await server.Logs.WaitForAsync("no TLS handshake within 1 s");
        Assert.Equal(1, server.Logs.Count("no TLS handshake within 1 s"));
    }

    [Fact]
    public async Task A_client_that_sends_no_hello_is_told_and_closed_at_the_deadline()
    {
        await using var server = await TestServer.StartAsync(output, "HelloTimeout=00:00:01");
        await using var alice = await server.ConnectAsync("alice");

        var frames = await alice.ReadUntilClosedAsync();

        var error = Assert.Single(frames);
        Assert.Equal(ErrorCode.HandshakeTimeout, error.Error.Code);
        Assert.True(error.Error.Fatal);
    }

    [Fact]
    public async Task Connections_above_the_cap_are_closed_at_once_and_a_freed_slot_is_reused()
    {
        await using var server = await TestServer.StartAsync(output, "MaxConnections=2", "HandshakeTimeout=00:01:00");
        var first = new TcpClient();
        using var second = new TcpClient();
        await first.ConnectAsync("127.0.0.1", server.Port);
        await second.ConnectAsync("127.0.0.1", server.Port);
        await WaitUntilAsync(() => server.Status.OpenConnections == 2);

        await AssertRefusedAsync(server, "alice", server.TlsClientOptions("alice"));
        Assert.Equal(1, server.Logs.Count("Connection limit of 2 reached"));

        first.Dispose(); // the server notices at its next read of the handshake
        await WaitUntilAsync(() => server.Status.OpenConnections == 1);
        await using var bob = await server.ConnectAsync("bob");
        Assert.Equal("bob", (await bob.HelloAsync()).Welcome.ClientId);
    }

    /// <summary>
    /// The handshake fails, or (TLS 1.3 lets the client finish before the server has judged its certificate)
    /// the connection ends before a WELCOME ever arrives.
    /// </summary>
    private static async Task AssertRefusedAsync(TestServer server, string clientId, System.Net.Security.SslClientAuthenticationOptions options)
    {
        TestClient client;
        try
        {
            client = await TestClient.ConnectAsync(clientId, server.Port, options);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException)
        {
            return;
        }

        await using (client)
        {
            try
            {
                await client.SendAsync(Frames.Hello(clientId));
            }
            catch (IOException)
            {
                return;
            }

            Assert.Null(await client.ReadAsync());
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(TestClient.Timeout);
        while (!condition())
        {
            await Task.Delay(20, deadline.Token);
        }
    }
}
