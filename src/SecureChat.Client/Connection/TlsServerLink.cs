using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
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
    private long _framesReceived;
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

    public bool IsClosed => _stop.IsCancellationRequested;

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
        var serverCheck = new ServerCertificateCheck(tlsOptions.RemoteCertificateValidationCallback);
        tlsOptions.RemoteCertificateValidationCallback = serverCheck.Validate;
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
            var (reason, kind) = await first.ConfigureAwait(false);
            if (kind == LinkFailure.ConnectionLost && Interlocked.Read(ref _framesReceived) == 0)
            {
                // Closed or reset before a single frame (our HELLO may have met the closed socket): the refused-certificate look.
                (reason, kind) = ($"the server ended the connection right after the TLS handshake, without a word ({reason})", LinkFailure.ClosedBeforeAnyFrame);
            }

            ReportDown(reason, kind);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            ReportDown("closed", LinkFailure.Closed);
        }
        catch (OperationCanceledException)
        {
            ReportDown($"could not connect to {host}:{port} within {_limits.ConnectTimeout.TotalSeconds:0} s", LinkFailure.TimedOut);
        }
        catch (AuthenticationException ex) when (serverCheck.Refused is { } refusal)
        {
            ReportDown(refusal == LinkFailure.ServerNameMismatch
                ? $"the server's certificate at {host}:{port} does not name {tlsOptions.TargetHost}"
                : $"the server's certificate at {host}:{port} is not issued by our CA ({ex.Message})", refusal);
        }
        catch (AuthenticationException ex)
        {
            ReportDown($"TLS handshake with {host}:{port} failed: {ex.Message}", LinkFailure.HandshakeFailed);
        }
        catch (SocketException ex)
        {
            ReportDown($"cannot reach {host}:{port}: {ex.SocketErrorCode}", LinkFailure.Unreachable);
        }
        catch (IOException ex) when (tls is { IsAuthenticated: false })
        {
            ReportDown($"TLS handshake with {host}:{port} failed: {ex.Message}", LinkFailure.HandshakeFailed);
        }
        catch (IOException ex)
        {
            ReportDown($"connection to {host}:{port} failed: {ex.Message}", LinkFailure.ConnectionLost);
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
    private async Task<(string Reason, LinkFailure Kind)> ReadLoopAsync(SslStream tls, CancellationToken token)
    {
        var reader = new FrameReader(tls, _limits.MaxFrameBytes);
        try
        {
            while (!token.IsCancellationRequested)
            {
                var envelope = await reader.ReadEnvelopeAsync(token).ConfigureAwait(false);
                if (envelope is null)
                {
                    return ("the server closed the connection", LinkFailure.ConnectionLost);
                }

                Interlocked.Increment(ref _framesReceived);
                _session.Tell(new LinkEvents.FrameReceived(LinkId, envelope));
            }

            return ("closed", LinkFailure.Closed);
        }
        catch (WireFormatException ex) when (ex.PeerVersion is { } version)
        {
            return (EnvelopeCodec.VersionMismatch(version), LinkFailure.UnsupportedVersion);
        }
        catch (WireFormatException ex)
        {
            return ($"the server sent a malformed frame ({ex.Error})", LinkFailure.MalformedInput);
        }
        catch (OperationCanceledException)
        {
            return ("closed", LinkFailure.Closed);
        }
        catch (IOException ex)
        {
            return ($"connection lost: {ex.Message}", LinkFailure.ConnectionLost);
        }
        catch (ObjectDisposedException)
        {
            return ("closed", LinkFailure.Closed);
        }
    }

    private async Task<(string Reason, LinkFailure Kind)> WriteLoopAsync(SslStream tls, CancellationToken token)
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

            return ("closed", LinkFailure.Closed);
        }
        catch (OperationCanceledException)
        {
            return ("closed", LinkFailure.Closed);
        }
        catch (IOException ex)
        {
            return ($"connection lost: {ex.Message}", LinkFailure.ConnectionLost);
        }
        catch (ObjectDisposedException)
        {
            return ("closed", LinkFailure.Closed);
        }
        catch (WireFormatException ex)
        {
            return ($"an outgoing frame was refused: {ex.Message}", LinkFailure.ConnectionLost);
        }
    }

    private void ReportDown(string reason, LinkFailure kind)
    {
        if (Interlocked.Exchange(ref _downReported, 1) == 0)
        {
            _session.Tell(new LinkEvents.LinkDown(LinkId, reason) { Kind = kind });
        }
    }

    /// <summary>
    /// Runs the configured server check and remembers whether it refused, and why: SslStream's AuthenticationException
    /// says only that the callback said no, and whether we refused the server (fatal) or the handshake broke (transient)
    /// decides whether the session tries again.
    /// </summary>
    private sealed class ServerCertificateCheck(RemoteCertificateValidationCallback? inner)
    {
        public LinkFailure? Refused { get; private set; }

        public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
        {
            var accepted = inner?.Invoke(sender, certificate, chain, errors) ?? errors == SslPolicyErrors.None;
            if (!accepted)
            {
                Refused = (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0 && (errors & SslPolicyErrors.RemoteCertificateNotAvailable) == 0
                          && inner is not null && ChainsToOurCa(sender, certificate, chain, errors & ~SslPolicyErrors.RemoteCertificateNameMismatch)
                    ? LinkFailure.ServerNameMismatch
                    : LinkFailure.ServerCertificateUntrusted;
            }

            return accepted;

            bool ChainsToOurCa(object s, X509Certificate? c, X509Chain? ch, SslPolicyErrors withoutName) => inner!(s, c, ch, withoutName);
        }
    }
}
