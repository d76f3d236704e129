using SecureChat.Core.Wire;
using SecureChat.Protocol.Infrastructure;

namespace SecureChat.Protocol.Relay;

/// <summary>The limits and deadlines a room works with (the server binds them from its options).</summary>
/// <param name="MaxMembers">Connected clients a room admits, and the longest roster a commit may state.</param>
/// <param name="CommitTimeout">How long the asked committer has before the next member is asked.</param>
/// <param name="EmptyRoomGracePeriod">How long a room with no connection waits before it asks to be passivated.</param>
/// <param name="Clock">The relay's clock, for the bundle expiry check at JOIN and the rekey limit.</param>
public sealed record RoomSettings(int MaxMembers, TimeSpan CommitTimeout, TimeSpan EmptyRoomGracePeriod, IClock Clock)
{
    public static RoomSettings Default { get; } = new(WireLimits.DefaultMaxMembersPerRoom, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30), SystemClock.Instance);

    /// <summary>The largest frame body the connections carry: a commit the room would relay in a larger envelope is refused.</summary>
    public int MaxFrameBytes { get; init; } = WireLimits.DefaultMaxFrameBytes;

    /// <summary>Rekeys (unasked commits) one member may have accepted in any 60 seconds; requested commits do not count.</summary>
    public int RekeysPerMemberPerMinute { get; init; } = 10;

    /// <summary>
    /// Commits the room's log keeps for members that resume (PROTOCOL.md §4.2); commits older than the room's absence limit
    /// are dropped too. A member that missed more gets REJOIN_NEEDED.
    /// </summary>
    public int CommitLogLength { get; init; } = 256;

    /// <summary>
    /// The room's message log (PROTOCOL.md §4.4.1): what it relays is numbered, kept within these bounds, acknowledged to its
    /// sender once durable (STORED) and replayed to members that resume. Null: no log (messages reach only members
    /// connected at the time, RELAYED is the last word).
    /// </summary>
    public MessageLogLimits? MessageLog { get; init; }
}
