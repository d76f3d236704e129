using System.Globalization;
using System.Net;

namespace SecureChat.Server.Cluster;

/// <summary>A seed node as the command line names it (<c>--seed HOST:PORT</c>) and as Akka addresses it.</summary>
public readonly record struct ClusterSeed(string Host, int Port)
{
    /// <summary>HOST:PORT, or [IPv6]:PORT; the port from 1 to 65535 (or 0 with <paramref name="allowPortZero"/>: an endpoint to bind, not to reach).</summary>
    public static bool TryParse(string? text, out ClusterSeed seed, bool allowPortZero = false)
    {
        seed = default;
        var colon = text?.LastIndexOf(':') ?? -1;
        if (text is null || colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) ||
            port > 65535 || (port == 0 && !allowPortZero))
        {
            return false;
        }

        var host = text[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        if (host.Length == 0 || host.Contains(':', StringComparison.Ordinal) && !IPAddress.TryParse(host, out _))
        {
            return false;
        }

        seed = new ClusterSeed(host, port);
        return true;
    }

    /// <summary>An address that binds every interface: it cannot be given to the others as this node's address.</summary>
    public static bool IsWildcard(string host) => host is "0.0.0.0" or "::" or "[::]" or "*";

    /// <summary>The seed's Akka address; every node's actor system has the same <paramref name="systemName"/>.</summary>
    public string ToAkkaAddress(string systemName) =>
        string.Create(CultureInfo.InvariantCulture, $"akka.tcp://{systemName}@{(Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host)}:{Port}");

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Host}:{Port}");
}
