namespace SecureChat.Core.Wire;

/// <summary>Bounds on envelope fields; PROTOCOL.md states the same numbers.</summary>
public static class WireLimits
{
    public const uint ProtocolVersion = 2;

    /// <summary>
    /// The room size the defaults promise, one number for the server's MaxMembersPerRoom, the engine's MaxMembers and the docs
    /// (PROTOCOL.md §13).
    /// </summary>
    public const int DefaultMaxMembersPerRoom = 1000;

    /// <summary>
    /// The default frame limit: large enough for the commit that admits the last member of a room of
    /// <see cref="DefaultMaxMembersPerRoom"/> with the longest ids (about 460 KB, PROTOCOL.md §13), with room to spare.
    /// </summary>
    public const int DefaultMaxFrameBytes = 1024 * 1024;

    /// <summary>The largest frame limit a server may announce (and a client adopts): 16 MiB.</summary>
    public const int MaxFrameBytesCeiling = 16 * 1024 * 1024;

    /// <summary>The largest room size a server may announce (and a client adopts).</summary>
    public const int MaxMembersPerRoomCeiling = 10_000;
    public const int MaxIdBytes = 64;
    public const int NonceBytes = 12;

    /// <summary>An APPLICATION envelope's history tag: the first bytes of the epoch's transcript hash.</summary>
    public const int HistoryTagBytes = 8;
}
