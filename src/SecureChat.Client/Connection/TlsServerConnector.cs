using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography;
using SecureChat.Transport.Certificates;
using Akka.Actor;

namespace SecureChat.Client.Connection;

/// <summary>
/// Connects over TCP + TLS (the options carry the client certificate and the CA-pinned server check). The options are made
/// afresh for every attempt, so certificate files replaced meanwhile are read again; with an expected client id, a
/// certificate for another id is refused here, before connecting (the server would refuse it: SENDER_MISMATCH).
/// </summary>
public sealed class TlsServerConnector : IServerConnector
{
    private readonly string _host;
    private readonly int _port;
    private readonly Func<SslClientAuthenticationOptions> _tlsOptions;
    private readonly TlsLinkLimits _limits;
    private readonly string? _expectedClientId;

    /// <param name="tlsOptions">Called once per attempt; an exception it throws (a certificate that cannot be loaded) fails that attempt.</param>
    /// <param name="expectedClientId">The id the session says HELLO as: the client certificate's CN must be it.</param>
    public TlsServerConnector(string host, int port, Func<SslClientAuthenticationOptions> tlsOptions, TlsLinkLimits? limits = null,
        string? expectedClientId = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(port);
        ArgumentNullException.ThrowIfNull(tlsOptions);
        _host = host;
        _port = port;
        _tlsOptions = tlsOptions;
        _limits = limits ?? new TlsLinkLimits();
        _expectedClientId = expectedClientId;
    }

    public string Address => _host.Contains(':', StringComparison.Ordinal)
        ? string.Create(CultureInfo.InvariantCulture, $"[{_host}]:{_port}")
        : string.Create(CultureInfo.InvariantCulture, $"{_host}:{_port}");

    public IServerLink Connect(IActorRef session, long linkId)
    {
        ArgumentNullException.ThrowIfNull(session);
        SslClientAuthenticationOptions options;
        try
        {
            options = _tlsOptions();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or InvalidOperationException or ArgumentException)
        {
            return FailedLink.Report(session, linkId, $"cannot use our certificate: {ex.Message}", LinkFailure.CertificateUnusable);
        }

        var certificate = options.ClientCertificateContext?.TargetCertificate;
        if (_expectedClientId is not null && (!ClientIdentity.TryFromCertificate(certificate, out var named) || named != _expectedClientId))
        {
            var actual = ClientIdentity.TryFromCertificate(certificate, out var cn) ? cn : null;
            return FailedLink.Report(session, linkId, actual is null
                ? $"our certificate names no client id (its subject is \"{certificate?.Subject}\"), not {_expectedClientId}"
                : $"our certificate is for {actual}, not for {_expectedClientId}", LinkFailure.CertificateIdMismatch);
        }

        var link = new TlsServerLink(session, linkId, _limits);
        link.Start(_host, _port, options);
        return link;
    }

    /// <summary>An attempt that failed before connecting: its LinkDown is told at once.</summary>
    private sealed class FailedLink(long linkId) : IServerLink
    {
        public long LinkId => linkId;

        public static FailedLink Report(IActorRef session, long linkId, string reason, LinkFailure kind)
        {
            session.Tell(new LinkEvents.LinkDown(linkId, reason) { Kind = kind });
            return new FailedLink(linkId);
        }

        public bool TrySend(Core.Wire.Envelope envelope) => false;

        public bool IsClosed => true;

        public void Dispose()
        {
        }
    }
}

public sealed record TlsLinkLimits
{
    public int OutboundQueueFrames { get; init; } = 1024;

    /// <summary>
    /// The largest frame read from or written to the server: any frame limit a server may announce. What the server's WELCOME
    /// announces is what this client's commits are made to fit (<see cref="Protocol.Group.GroupSession.AdoptServerLimits"/>).
    /// </summary>
    public int MaxFrameBytes { get; init; } = Core.Wire.WireLimits.MaxFrameBytesCeiling;

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
