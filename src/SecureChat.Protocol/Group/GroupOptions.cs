namespace SecureChat.Protocol.Group;

/// <summary>Limits and policies of a group session. PROTOCOL.md §Limits gives the defaults.</summary>
public sealed record GroupOptions
{
    public static GroupOptions Default { get; } = new();

    /// <summary>Largest accepted gap between the next expected generation of a sender and a received one.</summary>
    public ulong MaxForwardJump { get; init; } = 1000;

    /// <summary>Cached keys of skipped messages kept per sender and epoch; the oldest are dropped first.</summary>
    public int MaxSkippedKeysPerSender { get; init; } = 2000;

    /// <summary>Cached skipped keys kept per room over all senders and retained epochs.</summary>
    public int MaxSkippedKeysPerRoom { get; init; } = 10000;

    /// <summary>How long the receive chains of a replaced epoch are kept for in-flight messages.</summary>
    public long PreviousEpochRetentionMs { get; init; } = 120_000;

    /// <summary>At most this many replaced epochs are kept, however recent.</summary>
    public int MaxRetainedEpochs { get; init; } = 3;

    /// <summary>A generation known to be missing (a later one arrived, or the sender's count says so) is reported as withheld after this long.</summary>
    public long GapTimeoutMs { get; init; } = 30_000;

    /// <summary>Missing-generation ranges tracked per sender and epoch; over it the lowest is reported at once and forgotten.</summary>
    public int MaxTrackedGapsPerSender { get; init; } = 1000;

    /// <summary>Missing-generation ranges tracked per room over all senders and retained epochs (oldest epoch first, then the sender with most).</summary>
    public int MaxTrackedGapsPerRoom { get; init; } = 10000;

    /// <summary>After this many messages sent by this member in one epoch, <see cref="GroupSession.NeedsRekey"/> is true.</summary>
    public int RekeyAfterMessages { get; init; } = 1000;

    /// <summary>After this long in one epoch (and at least one message sent), <see cref="GroupSession.NeedsRekey"/> is true.</summary>
    public long RekeyAfterMs { get; init; } = 3_600_000;

    /// <summary>Lifetime written into this member's bundles (30 days; at most <see cref="Identity.Bundles.MaxLifetimeMs"/>).</summary>
    public long BundleLifetimeMs { get; init; } = 30L * 24 * 3_600_000;

    /// <summary>The policy this session's CREATE sets, if it creates the room (the relay has no say in it).</summary>
    public SecureChat.Core.Wire.RoomPolicy CreatePolicy { get; init; } = RoomPolicies.Default;

    /// <summary>
    /// Largest roster a commit may carry, until the server's WELCOME says its own (<see cref="GroupSession.AdoptServerLimits"/>):
    /// the room size the server's default allows too.
    /// </summary>
    public int MaxMembers { get; init; } = SecureChat.Core.Wire.WireLimits.DefaultMaxMembersPerRoom;

    /// <summary>
    /// The frame limit a commit this session creates must fit, as the relay sends it (the COMMIT envelope with the suite), until
    /// the server's WELCOME says its own (<see cref="GroupSession.AdoptServerLimits"/>).
    /// </summary>
    public int MaxFrameBytes { get; init; } = SecureChat.Core.Wire.WireLimits.DefaultMaxFrameBytes;

    /// <summary>Largest message body in UTF-8 bytes.</summary>
    public int MaxBodyBytes { get; init; } = 60 * 1024;

    /// <summary>Bodies are padded with zero bytes to a multiple of this.</summary>
    public int PaddingBlock { get; init; } = 64;

    /// <summary>When this member commits, it replaces its own membership key (committer update, post-compromise healing).</summary>
    public bool RefreshOwnKeyOnCommit { get; init; } = true;
}
