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
    /// <summary>The rooms keep a message log: WELCOME says so (message_log), so that clients wait for STORED.</summary>
    public bool MessageLog { get; init; }

    /// <summary>
    /// How long a connection waits for the cluster-wide sign-in table to record its HELLO before it logs that it could not
    /// reach it and asks again (it goes on meanwhile: an unreachable table never holds up a connection).
    /// </summary>
    public TimeSpan SignInConfirmTimeout { get; init; } = TimeSpan.FromSeconds(5);

    public static ConnectionSettings Default { get; } = new(WireLimits.DefaultMaxFrameBytes, 32, WireLimits.DefaultMaxMembersPerRoom, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), 10);
}
