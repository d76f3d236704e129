using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using SecureChat.Core.Framing;
using SecureChat.Core.Wire;

namespace SecureChat.Testing.RawClients;

/// <summary>A minimal client: TCP + TLS + frames, no protocol engine. Every read has a generous deadline.</summary>
public sealed class TestClient : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private readonly TcpClient _tcp;
    private readonly SslStream _tls;
    private readonly FrameReader _reader;

    private TestClient(string id, TcpClient tcp, SslStream tls)
    {
        Id = id;
        _tcp = tcp;
        _tls = tls;
        _reader = new FrameReader(tls, 16 * 1024 * 1024);
    }

    public string Id { get; }

    public SslStream Stream => _tls;

    public static async Task<TestClient> ConnectAsync(string id, int port, SslClientAuthenticationOptions options, int? receiveBufferBytes = null)
    {
        var tcp = new TcpClient { NoDelay = true };
        if (receiveBufferBytes is { } size)
        {
            tcp.ReceiveBufferSize = size; // before connecting, so the window is small from the start
        }

        try
        {
            using var deadline = new CancellationTokenSource(Timeout);
            await tcp.ConnectAsync("127.0.0.1", port, deadline.Token);
            var tls = new SslStream(tcp.GetStream());
            await tls.AuthenticateAsClientAsync(options, deadline.Token);
            return new TestClient(id, tcp, tls);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    public Task SendAsync(Envelope envelope) => FrameWriter.WriteEnvelopeAsync(_tls, envelope, 16 * 1024 * 1024).AsTask();

    public async Task SendRawAsync(byte[] bytes)
    {
        await _tls.WriteAsync(bytes);
        await _tls.FlushAsync();
    }

    /// <summary>The next envelope, or null when the server closed the connection (cleanly or not).</summary>
    public async Task<Envelope?> ReadAsync()
    {
        using var deadline = new CancellationTokenSource(Timeout);
        try
        {
            return await _reader.ReadEnvelopeAsync(deadline.Token);
        }
        catch (Exception ex) when (ex is IOException or AuthenticationException or WireFormatException)
        {
            return null;
        }
    }

    /// <summary>Reads until an envelope of <paramref name="type"/>, skipping others (keep-alive pings and the like).</summary>
    public async Task<Envelope> ReadUntilAsync(MessageType type)
    {
        while (true)
        {
            var envelope = await ReadAsync() ?? throw new InvalidOperationException($"{Id}: connection closed while waiting for {type}");
            if (envelope.Type == type)
            {
                return envelope;
            }
        }
    }

    public async Task<Envelope> ExpectAsync(MessageType type)
    {
        var envelope = await ReadAsync() ?? throw new InvalidOperationException($"{Id}: connection closed while waiting for {type}");
        Assert.True(envelope.Type == type, $"{Id}: expected {type}, got {envelope.Type} {envelope.Error?.Code}");
        return envelope;
    }

    /// <summary>Reads until the server closes the connection; returns what came before.</summary>
    public async Task<List<Envelope>> ReadUntilClosedAsync()
    {
        var received = new List<Envelope>();
        while (await ReadAsync() is { } envelope)
        {
            received.Add(envelope);
        }

        return received;
    }

    public async Task<Envelope> HelloAsync()
    {
        await SendAsync(Frames.Hello(Id));
        return await ExpectAsync(MessageType.Welcome);
    }

    public async ValueTask DisposeAsync()
    {
        await _tls.DisposeAsync();
        _tcp.Dispose();
    }
}
