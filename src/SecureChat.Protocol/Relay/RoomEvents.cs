using Google.Protobuf;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Identity;

namespace SecureChat.Protocol.Relay;

/// <summary>
/// A durable change of a room: what <see cref="RoomState{TConnection}.Apply"/> replays to rebuild the room's epoch,
/// suite, policy, roster, transcript hash and admission record. Only public material: bundles, ids, hashes.
/// </summary>
public abstract record RoomEvent(ulong Epoch);

/// <summary>A commit won its epoch: the room's new roster (sorted by id), what changed, and the transcript hash it leads to.</summary>
public sealed record EpochAccepted(
    ulong Epoch,
    CipherSuite Suite,
    string CommitterId,
    IReadOnlyList<RosterMember> Roster,
    IReadOnlyList<string> Added,
    IReadOnlyList<string> Removed,
    bool Rekey,
    ByteString TranscriptHash) : RoomEvent(Epoch)
{
    /// <summary>The policy in force from this epoch on.</summary>
    public RoomPolicy? Policy { get; init; }

    /// <summary>The commit's created_at_ms: the time the room's admission record is pruned at.</summary>
    public ulong CreatedAtMs { get; init; }

    /// <summary>The invites the commit spent.</summary>
    public IReadOnlyList<InviteContent> InvitesUsed { get; init; } = [];

    /// <summary>
    /// The COMMIT envelope the room relayed, byte for byte: what the room's commit log keeps and resends to a member that
    /// resumes (PROTOCOL.md §4.2). Empty in events stored before the log existed: the log then starts after this epoch.
    /// </summary>
    public ByteString Relayed { get; init; } = ByteString.Empty;

    /// <summary>The room's last message number when the commit was accepted: a resume replays it after that message (0: before all).</summary>
    public ulong AfterSeq { get; init; }
}

/// <summary>
/// An APPLICATION the room relayed, numbered <see cref="LoggedMessage.Seq"/> in its message log (PROTOCOL.md §4.4.1). Written in
/// batches (group commit) after its fan-out; its sender gets STORED once it is durable.
/// </summary>
public sealed record MessageLogged(ulong Epoch, LoggedMessage Message) : RoomEvent(Epoch);

/// <summary>
/// One group-commit batch of the message log as one journal event (PROTOCOL.md §4.4.1): the message-log events the room
/// applied since the last batch — <see cref="MessageLogged"/>, <see cref="PositionAcknowledged"/> and <see cref="LogTruncated"/>
/// — in the order it applied them, which is the order a replay applies them in. Journals written before batching hold those
/// events one by one; they replay to the same state. Built by <see cref="MessageLogBatches"/>, bounded in entries and bytes.
/// </summary>
public sealed record MessageLogBatch(ulong Epoch, IReadOnlyList<RoomEvent> Entries) : RoomEvent(Epoch);

/// <summary>The room starts numbering messages again at <see cref="SkippedSeqs.NextSeq"/> (the numbers between are skipped); written before its first relay.</summary>
public sealed record LogOpened(ulong Epoch, SkippedSeqs Skip) : RoomEvent(Epoch);

/// <summary>The messages numbered up to <paramref name="ThroughSeq"/> left the log (its bounds, or every member had them).</summary>
public sealed record LogTruncated(ulong Epoch, ulong ThroughSeq) : RoomEvent(Epoch);

/// <summary>A member acknowledged having every message of the room through <paramref name="Seq"/> (ACK).</summary>
public sealed record PositionAcknowledged(ulong Epoch, string ClientId, ulong Seq) : RoomEvent(Epoch);

/// <summary>
/// A roster member's connection ended, or it left: it is still a member (a disconnect is not a leave), absent since
/// <paramref name="SinceMs"/> by the server's clock. The absence limit counts from here.
/// </summary>
public sealed record MemberAway(ulong Epoch, string ClientId, ulong SinceMs) : RoomEvent(Epoch);

/// <summary>A member that was away resumed its membership: it is no longer absent.</summary>
public sealed record MemberBack(ulong Epoch, string ClientId) : RoomEvent(Epoch);

/// <summary>One accepted commit in the room's commit log: its epoch, its created_at_ms, and the COMMIT envelope as relayed.</summary>
public sealed record LoggedCommit(ulong Epoch, ulong CreatedAtMs, ByteString Envelope)
{
    /// <summary>The room's last message number when it was accepted (<see cref="EpochAccepted.AfterSeq"/>).</summary>
    public ulong AfterSeq { get; init; }
}

/// <summary>A member absent since <paramref name="SinceMs"/> (server clock).</summary>
public sealed record AwayMember(string ClientId, ulong SinceMs);

/// <summary>
/// A member left with a signed leave that verified against its roster entry: the room keeps it until a commit removes
/// that entry, and hands it to committers (a LEFT remove) and to external joiners (PROTOCOL.md §4.5).
/// </summary>
public sealed record LeaveKept(ulong Epoch, string ClientId, SignedLeave Leave) : RoomEvent(Epoch);

/// <summary>
/// A member's invite that the room checked (inviter in the roster, its signature, room, lifetime, unused): kept until
/// a commit spends it, it expires or its inviter leaves the roster; it goes to the committer in the invitee's Add and
/// to the invitee in its JOINED (PROTOCOL.md §4.5).
/// </summary>
public sealed record InviteKept(ulong Epoch, SignedInvite Invite) : RoomEvent(Epoch);

/// <summary>
/// Nobody who could commit is left: the roster is dropped and the next joiner creates the room afresh at
/// <see cref="RoomEvent.Epoch"/> + 1, so no epoch number is used twice.
/// </summary>
public sealed record RosterReset(ulong Epoch) : RoomEvent(Epoch);

/// <summary>
/// The durable state of a room in one record (<see cref="RoomState{TConnection}.Durable"/>): what a persistent room
/// stores as a snapshot and hands to <see cref="RoomState{TConnection}.Restore"/> before replaying the later events.
/// </summary>
public sealed record RoomDurableState(ulong Epoch, CipherSuite Suite, IReadOnlyList<RosterMember> Roster, ByteString TranscriptHash)
{
    /// <summary>The policy in force (null before the room's creating commit).</summary>
    public RoomPolicy? Policy { get; init; }

    /// <summary>The bundles the room admitted and the invites it spent, until they expire (the one-admission rules).</summary>
    public AdmissionSnapshot? Admissions { get; init; }

    /// <summary>The last accepted commits, oldest first, consecutive epochs ending at <see cref="Epoch"/> (or empty).</summary>
    public IReadOnlyList<LoggedCommit> CommitLog { get; init; } = [];

    /// <summary>Roster members that were away when the state was taken, with the time each went away.</summary>
    public IReadOnlyList<AwayMember> Away { get; init; } = [];

    /// <summary>The signed leaves of roster members not yet removed, by leaver id.</summary>
    public IReadOnlyList<SignedLeave> Leaves { get; init; } = [];

    /// <summary>The invites kept for invitees not yet admitted.</summary>
    public IReadOnlyList<SignedInvite> Invites { get; init; } = [];

    /// <summary>The message log, oldest first (PROTOCOL.md §4.4.1).</summary>
    public IReadOnlyList<LoggedMessage> Messages { get; init; } = [];

    /// <summary>The last message number given out (or skipped to).</summary>
    public ulong LastSeq { get; init; }

    /// <summary>Whether the room ever opened its log (after that, each start skips numbers).</summary>
    public bool LogOpened { get; init; }

    /// <summary>The numbers room starts skipped, oldest first (at most <see cref="RoomState{TConnection}.MaxSkipsKept"/>).</summary>
    public IReadOnlyList<SkippedSeqs> Skipped { get; init; } = [];

    /// <summary>Each roster member's acknowledged position, by id.</summary>
    public IReadOnlyList<MemberPosition> Positions { get; init; } = [];
}
