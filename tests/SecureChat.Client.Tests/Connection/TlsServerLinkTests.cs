using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Akka.TestKit;
using SecureChat.Client.Connection;
using SecureChat.Core.Framing;
using SecureChat.Core.Wire;
using SecureChat.Testing.Hosting;
using SecureChat.Transport.Tls;
using Envelope = SecureChat.Core.Wire.Envelope;

namespace SecureChat.Client.Tests.Connection;

/// <summary>The TLS link against a minimal TLS peer on loopback: frames both ways, and every way it can end.</summary>
public sealed class TlsServerLinkTests : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    private readonly TestCertificates _certs = new();
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly TestProbe _session;

    public TlsServerLinkTests()
        : base("akka.test.timefactor = 4") => _session = CreateTestProbe("session");

    private int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public Task InitializeAsync()
    {
        _listener.Start();
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _listener.Stop();
        _listener.Dispose();
        _certs.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Frames_flow_both_ways_over_mutual_tls_13()
    {
        using var link = Connector("alice").Connect(_session, 7);
        await using var server = await AcceptAsync();
        _session.ExpectMsg<LinkEvents.LinkUp>(up => up.LinkId == 7);
        Assert.Equal(System.Security.Authentication.SslProtocols.Tls13, server.SslProtocol);
        Assert.Equal("alice", SecureChat.Transport.Certificates.ClientIdentity.FromCertificate(new System.Security.Cryptography.X509Certificates.X509Certificate2(server.RemoteCertificate!)));

        Assert.True(link.TrySend(new Envelope { Version = WireLimits.ProtocolVersion, Type = MessageType.Ping, Sequence = 5 }));
        var received = await new FrameReader(server).ReadEnvelopeAsync();
        Assert.Equal(5UL, received!.Sequence);

        await server.WriteAsync(FrameCodec.Encode(new Envelope { Version = WireLimits.ProtocolVersion, Type = MessageType.Pong, Sequence = 9 }));
        var frame = _session.ExpectMsg<LinkEvents.FrameReceived>();
        Assert.Equal((7L, 9UL), (frame.LinkId, frame.Envelope.Sequence));
    }

    [Fact]
    public async Task A_server_close_is_reported_once_as_link_down()
    {
        using var link = Connector("alice").Connect(_session, 1);
        var server = await AcceptAsync();
        _session.ExpectMsg<LinkEvents.LinkUp>();

        await server.WriteAsync(FrameCodec.Encode(new Envelope { Version = WireLimits.ProtocolVersion, Type = MessageType.Ping, Sequence = 1 }));
        _session.ExpectMsg<LinkEvents.FrameReceived>();
        await server.DisposeAsync();

        var down = _session.ExpectMsg<LinkEvents.LinkDown>();
        Assert.Equal((1L, LinkFailure.ConnectionLost), (down.LinkId, down.Kind));
        _session.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task An_oversized_frame_from_the_server_ends_the_link_with_a_typed_reason()
    {
        using var link = Connector("alice").Connect(_session, 1);
        await using var server = await AcceptAsync();
        _session.ExpectMsg<LinkEvents.LinkUp>();

        await server.WriteAsync(new byte[] { 0x7f, 0xff, 0xff, 0xff });

        var down = _session.ExpectMsg<LinkEvents.LinkDown>();
        Assert.Contains("FrameTooLarge", down.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_with_a_certificate_from_another_ca_is_refused()
    {
        using var otherCa = new TestCertificates();
        var connector = new TlsServerConnector("127.0.0.1", Port,
            () => TlsSettings.ForClient(_certs.IssueClientCertificate("alice"), otherCa.CaCertificate, "127.0.0.1"));
        using var link = connector.Connect(_session, 1);
        _ = AcceptAsync().ContinueWith(t => t.Exception, TaskScheduler.Default);

        var down = _session.ExpectMsg<LinkEvents.LinkDown>(TimeSpan.FromSeconds(10));
        Assert.Equal(LinkFailure.ServerCertificateUntrusted, down.Kind);
        Assert.Contains("is not issued by our CA", down.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_that_ends_the_connection_before_its_first_frame_is_reported_as_such()
    {
        using var link = Connector("alice").Connect(_session, 1);
        var server = await AcceptAsync();
        _session.ExpectMsg<LinkEvents.LinkUp>();

        await server.DisposeAsync();

        Assert.Equal(LinkFailure.ClosedBeforeAnyFrame, _session.ExpectMsg<LinkEvents.LinkDown>().Kind);
    }

    [Fact]
    public void Nothing_listening_is_reported_as_link_down()
    {
        var port = Port;
        _listener.Stop();
        var connector = _certs.ChatConnector("alice", port);
        using var link = connector.Connect(_session, 3);

        var down = _session.ExpectMsg<LinkEvents.LinkDown>(TimeSpan.FromSeconds(10));
        Assert.Equal((3L, LinkFailure.Unreachable), (down.LinkId, down.Kind));
    }

    private TlsServerConnector Connector(string clientId) => _certs.ChatConnector(clientId, Port);

    private async Task<SslStream> AcceptAsync()
    {
        var socket = await _listener.AcceptTcpClientAsync();
        var tls = new SslStream(socket.GetStream(), leaveInnerStreamOpen: false);
        await tls.AuthenticateAsServerAsync(TlsSettings.ForServer(_certs.ServerCertificate, _certs.CaCertificate));
        return tls;
    }
}
