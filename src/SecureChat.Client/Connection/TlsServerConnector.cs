using System.Globalization;
using System.Net.Security;
using Akka.Actor;

namespace SecureChat.Client.Connection;

/// <summary>Connects over TCP + TLS (the options carry the client certificate and the CA-pinned server check).</summary>
public sealed class TlsServerConnector : IServerConnector
{
    private readonly string _host;
    private readonly int _port;
    private readonly Func<SslClientAuthenticationOptions> _tlsOptions;
    private readonly TlsLinkLimits _limits;

    public TlsServerConnector(string host, int port, Func<SslClientAuthenticationOptions> tlsOptions, TlsLinkLimits? limits = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(port);
        ArgumentNullException.ThrowIfNull(tlsOptions);
        _host = host;
        _port = port;
        _tlsOptions = tlsOptions;
        _limits = limits ?? new TlsLinkLimits();
    }

    public string Address => _host.Contains(':', StringComparison.Ordinal)
        ? string.Create(CultureInfo.InvariantCulture, $"[{_host}]:{_port}")
        : string.Create(CultureInfo.InvariantCulture, $"{_host}:{_port}");

    public IServerLink Connect(IActorRef session, long linkId)
    {
        var link = new TlsServerLink(session, linkId, _limits);
        link.Start(_host, _port, _tlsOptions());
        return link;
    }
}

public sealed record TlsLinkLimits
{
    public int OutboundQueueFrames { get; init; } = 1024;

    public int MaxFrameBytes { get; init; } = Core.Wire.WireLimits.DefaultMaxFrameBytes;

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
