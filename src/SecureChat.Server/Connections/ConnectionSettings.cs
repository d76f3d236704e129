using SecureChat.Core.Wire;

namespace SecureChat.Server.Connections;

/// <summary>The limits a ConnectionActor enforces and announces in WELCOME (bound from <c>ServerOptions</c>).</summary>
public sealed record ConnectionSettings(
    int MaxFrameBytes,
    int MaxRoomsPerConnection,
    int MaxMembersPerRoom,
    TimeSpan HelloTimeout,
    TimeSpan KeepAliveInterval,
    int MaxProtocolErrors)
{
    public static ConnectionSettings Default { get; } = new(WireLimits.DefaultMaxFrameBytes, 32, 100, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), 10);
}
