using SecureChat.Protocol.Relay;
using SecureChat.Server.Messaging;

namespace SecureChat.Server.Rooms;

/// <summary>Asks a room for its <see cref="RoomStatus"/> (tests, diagnostics).</summary>
public sealed record GetRoomState(string RoomId) : IWithRoomId;

/// <summary>A room as it is now (<paramref name="Snapshot"/>) and the durable part it stores (<paramref name="Durable"/>).</summary>
public sealed record RoomStatus(RoomSnapshot Snapshot, RoomDurableState Durable) : IServerMessage;

/// <summary>
/// Stops a room once the events before it are journaled: what the room sends through its shard to passivate itself,
/// and what sharding sends it to hand it off to another node (never a PoisonPill, which could overtake a write).
/// </summary>
public sealed record StopRoom : IServerMessage
{
    public static readonly StopRoom Instance = new();
}
