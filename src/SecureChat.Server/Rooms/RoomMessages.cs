using SecureChat.Protocol.Relay;
using SecureChat.Server.Messaging;

namespace SecureChat.Server.Rooms;

/// <summary>Asks a room for its <see cref="RoomStatus"/> (tests, diagnostics).</summary>
public sealed record GetRoomState(string RoomId) : IWithRoomId;

public sealed record RoomStatus(RoomSnapshot Snapshot) : IServerMessage;

// The registry's own bookkeeping: local to one node (sharding replaces it).

/// <summary>From a room that has been empty for its grace period: stop me, and remember my epoch.</summary>
public sealed record Passivate(string RoomId, ulong LastEpoch);

public sealed record GetRoomCount
{
    public static readonly GetRoomCount Instance = new();
}

public sealed record RoomCount(int Count);
