using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using SecureChat.Core.Framing;
using SecureChat.Core.Wire;
using SecureChat.Testing.Hosting;
using SecureChat.Transport.Certificates;
using SecureChat.Transport.Tls;

namespace SecureChat.Server.Tests.Transport;

/// <summary>The TLS settings over real loopback sockets, without the server host.</summary>
public sealed class TlsHandshakeTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly TestCertificates _certs = new();

    [Fact]
    public async Task Mutual_tls_with_pem_loaded_certificates_negotiates_tls13_and_carries_frames()
    {
        using var aliceFromCa = _certs.Authority.IssueClientCertificate("alice");
        PemFiles.SaveCertificateAndKey(aliceFromCa, CertificateFiles.ClientCertificatePath(_certs.Directory, "alice"), CertificateFiles.ClientKeyPath(_certs.Directory, "alice"));
        using var alice = PemFiles.LoadCertificateWithKey(CertificateFiles.ClientCertificatePath(_certs.Directory, "alice"), CertificateFiles.ClientKeyPath(_certs.Directory, "alice"));

        var (serverResult, client) = await HandshakeAsync(TlsSettings.ForClient(alice, _certs.CaCertificate, "localhost"));
        await using var server = serverResult;
        await using var clientStream = client;

        Assert.Equal(SslProtocols.Tls13, server.SslProtocol);
        Assert.Equal(SslProtocols.Tls13, client.SslProtocol);
        Assert.NotNull(server.RemoteCertificate);
        Assert.Equal("alice", ClientIdentity.FromCertificate(X509CertificateLoader.LoadCertificate(server.RemoteCertificate!.GetRawCertData())));

        await FrameWriter.WriteEnvelopeAsync(client, new Envelope { Version = WireLimits.ProtocolVersion, Type = MessageType.Ping, Sequence = 7 });
        var received = await new FrameReader(server).ReadEnvelopeAsync();
        Assert.Equal(7ul, received!.Sequence);
    }

    [Fact]
    public async Task Settings_keep_working_after_the_caller_disposes_its_ca_certificate()
    {
        using var bob = _certs.Authority.IssueClientCertificate("bob");
        var caCopy = PemFiles.LoadCertificate(CertificateFiles.CaCertificatePath(_certs.Directory));
        var serverOptions = TlsSettings.ForServer(_certs.ServerCertificate, caCopy);
        var clientOptions = TlsSettings.ForClient(bob, caCopy, "localhost");
        caCopy.Dispose();

        var (serverResult, client) = await HandshakeAsync(clientOptions, serverOptions);
        await using var server = serverResult;
        await using var clientStream = client;

        Assert.Equal(SslProtocols.Tls13, server.SslProtocol);
    }

    [Fact]
    public async Task Client_refuses_a_server_whose_certificate_comes_from_another_ca()
    {
        using var otherCa = CertificateAuthority.Create();
        using var alice = _certs.Authority.IssueClientCertificate("alice");

        await Assert.ThrowsAnyAsync<Exception>(() => HandshakeAsync(TlsSettings.ForClient(alice, otherCa.Certificate, "localhost")));
    }

    [Fact]
    public async Task Client_refuses_a_server_certificate_for_another_host_name()
    {
        using var alice = _certs.Authority.IssueClientCertificate("alice");

        await Assert.ThrowsAnyAsync<Exception>(() => HandshakeAsync(TlsSettings.ForClient(alice, _certs.CaCertificate, "chat.example.org")));
    }

    [Fact]
    public async Task Server_refuses_a_client_certificate_from_another_ca()
    {
        using var otherCa = CertificateAuthority.Create();
        using var mallory = otherCa.IssueClientCertificate("mallory");

        await AssertServerRefusesAsync(mallory);
    }

    [Fact]
    public async Task Server_refuses_a_certificate_without_client_authentication_usage()
    {
        // Our CA's own server certificate: the right issuer, but serverAuth usage only.
        await AssertServerRefusesAsync(_certs.ServerCertificate);
    }

    [Fact]
    public async Task Server_refuses_an_expired_client_certificate()
    {
        var clock = new SecureChat.Testing.Fakes.ManualClock(DateTimeOffset.UtcNow.AddYears(-3));
        using var oldCa = CertificateAuthority.Create(validity: TimeSpan.FromDays(3650), clock: clock);
        using var expired = oldCa.IssueClientCertificate("alice", TimeSpan.FromDays(1));
        var serverOptions = TlsSettings.ForServer(_certs.ServerCertificate, oldCa.PublicCertificate);

        await AssertServerRefusesAsync(expired, serverOptions);
    }

    public void Dispose()
    {
        _certs.Dispose();
    }

    /// <summary>The handshake fails, and the server side is the one that said no (the client accepted the server).</summary>
    private async Task AssertServerRefusesAsync(X509Certificate2 clientCertificate, SslServerAuthenticationOptions? serverOptions = null)
    {
        var clientOptions = TlsSettings.ForClient(clientCertificate, _certs.CaCertificate, "localhost");
        var serverAccepted = false;
        var clientCallback = clientOptions.RemoteCertificateValidationCallback!;
        clientOptions.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
        {
            var accepted = clientCallback(sender, certificate, chain, errors);
            serverAccepted |= accepted;
            return accepted;
        };
        await Assert.ThrowsAnyAsync<Exception>(() => HandshakeAsync(clientOptions, serverOptions));
        Assert.True(serverAccepted, "the client refused the server; the test meant the server to refuse the client");
    }

    private async Task<(SslStream Server, SslStream Client)> HandshakeAsync(SslClientAuthenticationOptions clientOptions, SslServerAuthenticationOptions? serverOptions = null)
    {
        serverOptions ??= TlsSettings.ForServer(_certs.ServerCertificate, _certs.CaCertificate);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var serverSide = Task.Run(async () =>
        {
            var socket = await listener.AcceptTcpClientAsync();
            var tls = new SslStream(socket.GetStream());
            try
            {
                await tls.AuthenticateAsServerAsync(serverOptions).WaitAsync(Timeout);
                return tls;
            }
            catch
            {
                await tls.DisposeAsync();
                throw;
            }
        });

        SslStream client;
        try
        {
            client = await TlsConnector.ConnectAsync("127.0.0.1", port, clientOptions, Timeout);
        }
        catch
        {
            // let the server side finish (it fails too) before the listener goes away
            await Task.WhenAny(serverSide, Task.Delay(Timeout));
            throw;
        }

        var server = await serverSide;
        return (server, client);
    }
}
