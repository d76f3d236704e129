using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using SecureChat.Core.Wire;
using SecureChat.Server.Listener;
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
        Assert.Equal((uint)WireLimits.DefaultMaxMembersPerRoom, welcome.Welcome.MaxMembersPerRoom); // the room size the engine and the docs promise
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
        Assert.Equal(1, server.Logs.Count("connection limit of 2 reached (MaxConnections)"));

        first.Dispose(); // the server notices at its next read of the handshake
        await WaitUntilAsync(() => server.Status.OpenConnections == 1);
        await using var bob = await server.ConnectAsync("bob");
        Assert.Equal("bob", (await bob.HelloAsync()).Welcome.ClientId);
    }

    /// <summary>
    /// 3,000 bare TCP connects from 127.0.0.2 that never start TLS, held open for the whole test (the handshake
    /// deadline is a minute), against a connection cap of 200 they could fill on their own: that address keeps its
    /// 32 handshakes and everything else it tries is closed at accept, so 20 valid clients from 127.0.0.1 all get
    /// in while a second wave of 1,000 such connects runs. Without the per-address limits (all at a million) the
    /// flood holds every slot and no valid client gets in.
    /// </summary>
    [Fact]
    public async Task Valid_clients_get_in_while_a_flood_of_bare_connects_from_another_address_runs()
    {
        await using var server = await TestServer.StartAsync(output, "MaxConnections=200", "HandshakeTimeout=00:01:00");
        var admission = server.Status.Admission;
        var flooder = IPAddress.Parse("127.0.0.2");
        var flood = new List<TcpClient>();
        try
        {
            await FloodAsync(flooder, server.Port, 3000, flood);
            await WaitUntilAsync(() => admission.Admitted + Refusals(admission) == 3000);
            Assert.Equal((32, 32), admission.CountsOf(flooder));

            var wave = FloodAsync(flooder, server.Port, 1000, flood);
            var gotIn = await Task.WhenAll(Enumerable.Range(0, 20).Select(async i => await TryWelcomeAsync(server, $"user{i}")));
            await wave;

            Assert.True(gotIn.All(welcomed => welcomed), $"{gotIn.Count(welcomed => welcomed)} of 20 valid clients got in");
            await WaitUntilAsync(() => admission.Admitted + Refusals(admission) == 4020);
            Assert.Equal(4000 - 32, admission.Refused(AdmissionRefusal.AddressHandshakeLimit));
            Assert.Equal(0, admission.Refused(AdmissionRefusal.ConnectionLimit));
            Assert.Equal((32, 32), admission.CountsOf(flooder));
            Assert.Contains("32 TLS handshakes in progress from its address (MaxHandshakesPerAddress)", await server.Logs.WaitForAsync("at accept"), StringComparison.Ordinal);
        }
        finally
        {
            flood.ForEach(socket => socket.Dispose());
        }
    }

    [Fact]
    public async Task The_handshake_budget_keeps_handshakes_from_many_addresses_out_of_the_slots_left_for_established_connections()
    {
        await using var server = await TestServer.StartAsync(output, "MaxConnections=200", "MaxHandshakes=16", "HandshakeTimeout=00:01:00");
        var admission = server.Status.Admission;
        var flood = new List<TcpClient>();
        try
        {
            for (var address = 2; address < 12; address++)
            {
                await FloodAsync(IPAddress.Parse($"127.0.0.{address}"), server.Port, 10, flood);
            }

            await WaitUntilAsync(() => admission.Admitted + Refusals(admission) == 100);
            Assert.Equal(16, admission.HandshakesInProgress);
            Assert.Equal(100 - 16, admission.Refused(AdmissionRefusal.HandshakeBudget));
            Assert.Contains("16 TLS handshakes in progress in all (MaxHandshakes)", await server.Logs.WaitForAsync("at accept"), StringComparison.Ordinal);
        }
        finally
        {
            flood.ForEach(socket => socket.Dispose());
        }
    }

    [Fact]
    public async Task A_burst_of_clients_far_larger_than_the_handshake_budget_waits_in_the_backlog_and_every_one_gets_in()
    {
        // A restarted server's clients come back at once; handshakes that finish in milliseconds free the budget long
        // before BudgetWait, so none of them is reset at accept into its reconnect backoff.
        await using var server = await TestServer.StartAsync(output, "MaxHandshakes=2");
        var admission = server.Status.Admission;
        var ids = Enumerable.Range(0, 40).Select(i => $"burst-{i}").ToList();

        var welcomes = await Task.WhenAll(ids.Select(async id =>
        {
            await using var client = await server.ConnectAsync(id);
            return (await client.HelloAsync()).Welcome.ClientId;
        }));

        Assert.Equal(ids, welcomes);
        Assert.Equal(0, admission.Refused(AdmissionRefusal.HandshakeBudget));
        Assert.Equal(40, admission.Admitted);
    }

    private static long Refusals(ConnectionAdmission admission) =>
        Enum.GetValues<AdmissionRefusal>().Sum(admission.Refused);

    /// <summary>Bare TCP connects from <paramref name="from"/> that send nothing, 100 at a time; each socket is kept in <paramref name="sockets"/>.</summary>
    private static async Task FloodAsync(IPAddress from, int port, int count, List<TcpClient> sockets)
    {
        using var gate = new SemaphoreSlim(100);
        await Task.WhenAll(Enumerable.Range(0, count).Select(async _ =>
        {
            await gate.WaitAsync();
            try
            {
                var socket = new TcpClient(new IPEndPoint(from, 0));
                lock (sockets)
                {
                    sockets.Add(socket);
                }

                await socket.ConnectAsync(IPAddress.Loopback, port);
            }
            catch (SocketException)
            {
                // reset at accept before the connect was seen to complete: refused, as most of them are
            }
            finally
            {
                gate.Release();
            }
        }));
    }

    private static async Task<bool> TryWelcomeAsync(TestServer server, string clientId)
    {
        try
        {
            await using var client = await server.ConnectAsync(clientId);
            return (await client.HelloAsync()).Welcome.ClientId == clientId;
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or SocketException or InvalidOperationException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// The connection is reset at accept, the handshake fails, or (TLS 1.3 lets the client finish before the server has judged its certificate)
    /// the connection ends before a WELCOME ever arrives.
    /// </summary>
    private static async Task AssertRefusedAsync(TestServer server, string clientId, System.Net.Security.SslClientAuthenticationOptions options)
    {
        TestClient client;
        try
        {
            client = await TestClient.ConnectAsync(clientId, server.Port, options);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or SocketException)
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
