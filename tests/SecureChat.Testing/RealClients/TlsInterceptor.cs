using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using SecureChat.Core.Framing;
using SecureChat.Core.Wire;
using SecureChat.Testing.Honest;
using SecureChat.Testing.Hosting;
using SecureChat.Testing.RawClients;
using SecureChat.Transport.Tls;

namespace SecureChat.Testing.RealClients;

public enum Direction
{
    ToServer,
    ToClient,
}

/// <summary>
/// A man in the middle between real clients and the real server: it terminates each client's TLS with a
/// server certificate from the same CA (what a compromised server or a stolen server key allows), opens its
/// own mutual-TLS connection to the real server as that client, and relays frame by frame. Every frame is
/// recorded (and its bytes kept in <see cref="Capture"/>), then passed through <see cref="Attack"/>, which
/// may drop, duplicate, alter or add frames; <see cref="InjectAsync"/> sends anything to a client at any time.
/// </summary>
public sealed class TlsInterceptor : IAsyncDisposable
{
    private readonly TestServer _server;
    private readonly TcpListener _listener;
    private readonly X509Certificate2 _certificate;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, Link> _links = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<Task> _tasks = [];
    private readonly Task _acceptLoop;

    public TlsInterceptor(TestServer server)
    {
        _server = server;
        _certificate = server.Certificates.Authority.IssueServerCertificate();
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public int Port { get; }

    /// <summary>Every frame body in both directions, as the server read or wrote it.</summary>
    public ByteLog Capture { get; } = new();

    public ConcurrentQueue<(string ClientId, Direction Direction, Envelope Envelope)> Recorded { get; } = new();

    /// <summary>The attacker; null relays honestly.</summary>
    public Func<string, Direction, Envelope, IEnumerable<Envelope>>? Attack { get; set; }

    public Task InjectAsync(string clientId, Envelope envelope) => _links[clientId].WriteToClientAsync(envelope);

    public IEnumerable<Envelope> RecordedFor(string clientId, MessageType type) =>
        Recorded.Where(r => r.ClientId == clientId && r.Direction == Direction.ToClient && r.Envelope.Type == type).Select(r => r.Envelope.Clone());

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient tcp;
            try
            {
                tcp = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _tasks.Add(Task.Run(() => InterceptAsync(tcp)));
        }
    }

    private async Task InterceptAsync(TcpClient clientTcp)
    {
        using (clientTcp)
        {
            try
            {
                await using var clientTls = new SslStream(clientTcp.GetStream());
                await clientTls.AuthenticateAsServerAsync(TlsSettings.ForServer(_certificate, _server.Certificates.CaCertificate), _stop.Token);
                var fromClient = new FrameReader(clientTls, WireLimits.DefaultMaxFrameBytes);
                var hello = await fromClient.ReadEnvelopeAsync(_stop.Token);
                if (hello is null)
                {
                    return;
                }

                var clientId = hello.SenderId;
                await using var upstream = await TestClient.ConnectAsync(clientId, _server.Port, _server.TlsClientOptions(clientId));
                using var link = new Link(clientTls, upstream.Stream);
                _links[clientId] = link;
                await PassAsync(clientId, Direction.ToServer, hello, link);
                var up = PumpAsync(clientId, Direction.ToServer, fromClient, link);
                var down = PumpAsync(clientId, Direction.ToClient, new FrameReader(upstream.Stream, WireLimits.DefaultMaxFrameBytes), link);
                await Task.WhenAny(up, down);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or WireFormatException
                                           or System.Security.Authentication.AuthenticationException or SocketException)
            {
                // one side went away: the other is closed by the usings
            }
        }
    }

    private async Task PumpAsync(string clientId, Direction direction, FrameReader reader, Link link)
    {
        try
        {
            while (await reader.ReadEnvelopeAsync(_stop.Token) is { } envelope)
            {
                await PassAsync(clientId, direction, envelope, link);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or WireFormatException)
        {
        }
    }

    private async Task PassAsync(string clientId, Direction direction, Envelope envelope, Link link)
    {
        Recorded.Enqueue((clientId, direction, envelope.Clone()));
        Capture.Append(FrameCodec.Encode(envelope.ToByteArray(), int.MaxValue));
        foreach (var forwarded in Attack?.Invoke(clientId, direction, envelope) ?? [envelope])
        {
            await (direction == Direction.ToServer ? link.WriteToServerAsync(forwarded) : link.WriteToClientAsync(forwarded));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _acceptLoop;
        await Task.WhenAll(_tasks);
        _certificate.Dispose();
        _stop.Dispose();
    }

    private sealed class Link(Stream client, Stream server) : IDisposable
    {
        private readonly SemaphoreSlim _toClient = new(1, 1);
        private readonly SemaphoreSlim _toServer = new(1, 1);

        public Task WriteToClientAsync(Envelope envelope) => WriteAsync(_toClient, client, envelope);

        public Task WriteToServerAsync(Envelope envelope) => WriteAsync(_toServer, server, envelope);

        public void Dispose()
        {
            _toClient.Dispose();
            _toServer.Dispose();
        }

        private static async Task WriteAsync(SemaphoreSlim gate, Stream stream, Envelope envelope)
        {
            await gate.WaitAsync();
            try
            {
                await FrameWriter.WriteEnvelopeAsync(stream, envelope, int.MaxValue);
            }
            finally
            {
                gate.Release();
            }
        }
    }
}
