using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Threading.Channels;
using Akka.Actor;
using SecureChat.Core.Framing;
using SecureChat.Core.Wire;
using Envelope = SecureChat.Core.Wire.Envelope;

namespace SecureChat.Client.Connection;

/// <summary>
/// A TCP + TLS connection with a read loop and a writer task, both outside the actor: the read
/// loop tells each parsed envelope to the session, the writer drains a bounded queue. Whatever
/// ends the link (peer close, I/O error, malformed frame, <see cref="Dispose"/>) is reported once
/// as <see cref="LinkEvents.LinkDown"/>.
/// </summary>
internal sealed class TlsServerLink : IServerLink
{
    private readonly IActorRef _session;
    private readonly TlsLinkLimits _limits;
    private readonly Channel<Envelope> _outbound;
    private readonly CancellationTokenSource _stop = new();
    private int _downReported;
    private int _disposed;

    public TlsServerLink(IActorRef session, long linkId, TlsLinkLimits limits)
    {
        _session = session;
        _limits = limits;
        LinkId = linkId;
        _outbound = Channel.CreateBounded<Envelope>(new BoundedChannelOptions(limits.OutboundQueueFrames)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public long LinkId { get; }

    public void Start(string host, int port, SslClientAuthenticationOptions tlsOptions) =>
        _ = Task.Run(() => RunAsync(host, port, tlsOptions));

    public bool TrySend(Envelope envelope) => _outbound.Writer.TryWrite(envelope);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _outbound.Writer.TryComplete();
        _stop.Cancel();
    }

    private async Task RunAsync(string host, int port, SslClientAuthenticationOptions tlsOptions)
    {
        var token = _stop.Token;
        using var tcp = new TcpClient { NoDelay = true };
        SslStream? tls = null;
        try
        {
            using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(token))
            {
                connectTimeout.CancelAfter(_limits.ConnectTimeout);
                await tcp.ConnectAsync(host, port, connectTimeout.Token).ConfigureAwait(false);
                tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
                await tls.AuthenticateAsClientAsync(tlsOptions, connectTimeout.Token).ConfigureAwait(false);
            }

            _session.Tell(new LinkEvents.LinkUp(LinkId));
            var writer = WriteLoopAsync(tls, token);
            var reader = ReadLoopAsync(tls, token);
            var first = await Task.WhenAny(writer, reader).ConfigureAwait(false);
            ReportDown(await first.ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            ReportDown("closed");
        }
        catch (OperationCanceledException)
        {
            ReportDown($"could not connect to {host}:{port} within {_limits.ConnectTimeout.TotalSeconds:0} s");
        }
        catch (AuthenticationException ex)
        {
            ReportDown($"TLS handshake with {host}:{port} failed: {ex.Message}");
        }
        catch (SocketException ex)
        {
            ReportDown($"cannot reach {host}:{port}: {ex.SocketErrorCode}");
        }
        catch (IOException ex)
        {
            ReportDown($"connection to {host}:{port} failed: {ex.Message}");
        }
        finally
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            _outbound.Writer.TryComplete();
            if (tls is not null)
            {
                await tls.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Returns why reading stopped.</summary>
    private async Task<string> ReadLoopAsync(SslStream tls, CancellationToken token)
    {
        var reader = new FrameReader(tls, _limits.MaxFrameBytes);
        try
        {
            while (!token.IsCancellationRequested)
            {
                var envelope = await reader.ReadEnvelopeAsync(token).ConfigureAwait(false);
                if (envelope is null)
                {
                    return "the server closed the connection";
                }

                _session.Tell(new LinkEvents.FrameReceived(LinkId, envelope));
            }

            return "closed";
        }
        catch (WireFormatException ex) when (ex.PeerVersion is { } version)
        {
            return EnvelopeCodec.VersionMismatch(version);
        }
        catch (WireFormatException ex)
        {
            return $"the server sent a malformed frame ({ex.Error})";
        }
        catch (OperationCanceledException)
        {
            return "closed";
        }
        catch (IOException ex)
        {
            return $"connection lost: {ex.Message}";
        }
        catch (ObjectDisposedException)
        {
            return "closed";
        }
    }

    private async Task<string> WriteLoopAsync(SslStream tls, CancellationToken token)
    {
        try
        {
            while (await _outbound.Reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                while (_outbound.Reader.TryRead(out var envelope))
                {
                    var frame = FrameCodec.Encode(envelope, _limits.MaxFrameBytes);
                    await tls.WriteAsync(frame, token).ConfigureAwait(false);
                }

                await tls.FlushAsync(token).ConfigureAwait(false);
            }

            return "closed";
        }
        catch (OperationCanceledException)
        {
            return "closed";
        }
        catch (IOException ex)
        {
            return $"connection lost: {ex.Message}";
        }
        catch (ObjectDisposedException)
        {
            return "closed";
        }
        catch (WireFormatException ex)
        {
            return $"an outgoing frame was refused: {ex.Message}";
        }
    }

    private void ReportDown(string reason)
    {
        if (Interlocked.Exchange(ref _downReported, 1) == 0)
        {
            _session.Tell(new LinkEvents.LinkDown(LinkId, reason));
        }
    }
}
