using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using SecureChat.Transport.Tls;

namespace SecureChat.Benchmarks.Targets;

internal delegate void FrameBodyHandler(ReadOnlySpan<byte> body);

/// <summary>
/// A TLS 1.3 mutual-TLS connection speaking 4-byte length-prefixed frames (our server and the bare relay).
/// Sends are buffered and written by <see cref="FlushAsync"/> (or when the buffer fills), so a burst of
/// small messages costs one TLS record per buffer rather than one per message, for every target alike.
/// </summary>
internal sealed class FramedTlsClient : IAsyncDisposable
{
    private const int SendBufferBytes = 64 * 1024;
    private readonly SslStream _tls;
    private readonly int _maxFrameBytes;
    private readonly CancellationTokenSource _stop = new();
    private readonly byte[] _send;
    private int _sendLength;
    private volatile FrameBodyHandler _onBody = static _ => { };
    private Action<string> _onProblem = static _ => { };
    private Task _reader = Task.CompletedTask;
    private long _receivedBytes;

    private FramedTlsClient(string clientId, SslStream tls, int maxFrameBytes)
    {
        ClientId = clientId;
        _tls = tls;
        _maxFrameBytes = maxFrameBytes;
        _send = new byte[Math.Max(SendBufferBytes, maxFrameBytes + FrameSplitter.PrefixBytes)];
    }

    public string ClientId { get; }

    /// <summary>Frame bytes received so far, length prefixes included (what the relay sent us, before TLS).</summary>
    public long ReceivedBytes => Interlocked.Read(ref _receivedBytes);

    public static async Task<FramedTlsClient> ConnectAsync(string clientId, int port, X509Certificate2 clientCertificate,
        X509Certificate2 caCertificate, int maxFrameBytes, CancellationToken cancellationToken)
    {
        var options = TlsSettings.ForClient(clientCertificate, caCertificate, "localhost");
        var tls = await TlsConnector.ConnectAsync("127.0.0.1", port, options, TimeSpan.FromSeconds(30), cancellationToken);
        return new FramedTlsClient(clientId, tls, maxFrameBytes);
    }

    /// <summary>Starts the reader; frames go to the current handler, which <see cref="SetHandler"/> may swap at any time.</summary>
    public void StartReading(FrameBodyHandler onBody, Action<string> onProblem)
    {
        _onBody = onBody;
        _onProblem = onProblem;
        _reader = Task.Run(ReadLoopAsync);
    }

    public void SetHandler(FrameBodyHandler onBody) => _onBody = onBody;

    /// <summary>Buffers one frame; writes the buffer first if the frame does not fit.</summary>
    public ValueTask AppendAsync(ReadOnlySpan<byte> body, CancellationToken cancellationToken)
    {
        if (body.Length > _maxFrameBytes)
        {
            throw new ArgumentException($"frame of {body.Length} bytes is over the limit of {_maxFrameBytes}", nameof(body));
        }

        if (_sendLength + FrameSplitter.PrefixBytes + body.Length > _send.Length)
        {
            var copy = body.ToArray();
            return FlushThenAppendAsync(copy, cancellationToken);
        }

        Append(body);
        return ValueTask.CompletedTask;
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        if (_sendLength == 0)
        {
            return;
        }

        await _tls.WriteAsync(_send.AsMemory(0, _sendLength), cancellationToken);
        _sendLength = 0;
    }

    /// <summary>Buffers and writes one frame at once (setup traffic).</summary>
    public async ValueTask SendNowAsync(byte[] body, CancellationToken cancellationToken)
    {
        await AppendAsync(body, cancellationToken);
        await FlushAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            _tls.Close();
        }
        catch (IOException)
        {
            // Closing a connection the peer already dropped.
        }

        try
        {
            await _reader;
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The reader ends with the connection.
        }

        await _tls.DisposeAsync();
        _stop.Dispose();
    }

    private void Append(ReadOnlySpan<byte> body)
    {
        FrameSplitter.WritePrefix(_send.AsSpan(_sendLength), body.Length);
        body.CopyTo(_send.AsSpan(_sendLength + FrameSplitter.PrefixBytes));
        _sendLength += FrameSplitter.PrefixBytes + body.Length;
    }

    private async ValueTask FlushThenAppendAsync(byte[] body, CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken);
        Append(body);
    }

    private async Task ReadLoopAsync()
    {
        var splitter = new FrameSplitter(_maxFrameBytes);
        try
        {
            await splitter.RunAsync(_tls, frame =>
            {
                Interlocked.Add(ref _receivedBytes, frame.Length);
                _onBody(frame.Span[FrameSplitter.PrefixBytes..]);
                return ValueTask.CompletedTask;
            }, _stop.Token);
            if (!_stop.IsCancellationRequested)
            {
                _onProblem("connection closed by the relay");
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or EndOfStreamException or ObjectDisposedException or OperationCanceledException)
        {
            if (!_stop.IsCancellationRequested)
            {
                _onProblem($"connection failed: {ex.GetType().Name}");
            }
        }
    }
}
