namespace SecureChat.Core.Wire;

/// <summary>Bounds on envelope fields; PROTOCOL.md states the same numbers.</summary>
public static class WireLimits
{
    public const uint ProtocolVersion = 2;
    public const int DefaultMaxFrameBytes = 64 * 1024;
    public const int MaxIdBytes = 64;
    public const int NonceBytes = 12;

    /// <summary>An APPLICATION envelope's history tag: the first bytes of the epoch's transcript hash.</summary>
    public const int HistoryTagBytes = 8;
}
