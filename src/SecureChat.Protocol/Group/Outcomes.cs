using SecureChat.Core.Wire;
using SecureChat.Protocol.Identity;

namespace SecureChat.Protocol.Group;

public enum GroupStatus
{
    /// <summary>Waiting for the first commit that carries a wrap for this session (or creating the room).</summary>
    Joining,

    /// <summary>A member of the current epoch.</summary>
    Active,

    /// <summary>A commit removed this member; it can only finish reading the retained old epochs.</summary>
    Removed,
}

// ---------------------------------------------------------------- commits

/// <summary>Why <see cref="GroupSession.ProcessCommit"/> refused a commit. PROTOCOL.md §Errors.</summary>
public enum CommitRejection
{
    /// <summary>Content bytes do not parse, or a field (previous transcript hash, signature, confirmation tag, epoch) has the wrong size.</summary>
    Malformed,

    /// <summary>content.room_id is not this session's room.</summary>
    WrongRoom,

    /// <summary>The epoch is more than one ahead: a commit was missed (signed by a member we know); the session must catch up or rejoin.</summary>
    EpochGap,

    /// <summary>previous_transcript_hash differs from ours: the committer is on a different history of this room (a fork).</summary>
    TranscriptMismatch,

    /// <summary>
    /// The committer is not in our current roster (for a joiner: not in the new roster; for an EXTERNAL commit: no add of its
    /// own bundle), so its signature cannot be checked: the frame causes nothing.
    /// </summary>
    NotSignedByMember,

    /// <summary>The commit signature does not verify with the committer's identity key: the frame causes nothing.</summary>
    BadSignature,

    /// <summary>The suite differs from the room's, or this machine cannot run it.</summary>
    UnsupportedSuite,

    /// <summary>A bundle in the roster or in the added list does not verify or has expired.</summary>
    InvalidBundle,

    /// <summary>Roster not strictly sorted, duplicate ids, too many members.</summary>
    MalformedRoster,

    /// <summary>The new roster is not (old \ removed) ∪ added (plus an allowed committer key update).</summary>
    RosterMismatch,

    /// <summary>Wrap count, order, recipient or key id does not match the roster.</summary>
    MalformedWraps,

    /// <summary>Our own wrap did not open, or its ephemeral key gave an all-zero X25519 result.</summary>
    WrapFailed,

    /// <summary>
    /// The roster lists our client id with an identity key that is not ours, or a commit is signed with our
    /// identity key but this session did not make it: the identity key is in someone else's hands.
    /// </summary>
    OwnIdentityMismatch,

    /// <summary>This session has been removed from the group; it processes no further commits.</summary>
    NotAMember,

    /// <summary>Kind, operation order or a remove is malformed, or the commit breaks its kind's shape (CREATE, EXTERNAL).</summary>
    MalformedOperations,

    /// <summary>The policy is invalid, or changed without a SetPolicy operation.</summary>
    PolicyViolation,

    /// <summary>A remove's proof does not hold: a LEFT without the member's own leave, an EXPIRED of a live bundle, a REJOINED with another identity key.</summary>
    InvalidRemove,

    /// <summary>An add in an INVITE room without a valid, unused invite from a member.</summary>
    NotInvited,

    /// <summary>A new roster entry is a bundle the room already admitted (a bundle serves one admission).</summary>
    BundleReused,

    /// <summary>
    /// The confirmation tag is not the one our epoch secret gives: the committer sealed different secrets to different
    /// members (or the tag was altered). The commit cannot be used; the session must rejoin.
    /// </summary>
    ConfirmationFailed,
}

/// <summary>
/// What <see cref="GroupSession.ProcessCommit"/> did with a commit. <see cref="Withheld"/>: drop reports that fell due
/// while it ran (the commit's own count, epochs erased), each generation reported once (PROTOCOL.md §11.1).
/// </summary>
public abstract record CommitOutcome
{
    public IReadOnlyList<MessagesWithheld> Withheld { get; init; } = [];
}

/// <summary>One remove of a commit: who, and why (the reason's proof was checked where it can be, PROTOCOL.md §8.4).</summary>
public sealed record Removal(string ClientId, RemoveReason Reason);

/// <summary>The commit is now the current epoch.</summary>
public sealed record CommitAccepted(
    ulong Epoch,
    string EpochCode,
    string CommitterId,
    bool Rekey,
    IReadOnlyList<RosterMember> Added,
    IReadOnlyList<string> Removed,
    IReadOnlyList<IdentityKeyChange> KeyChanges,
    IReadOnlyList<RosterMember> FirstSeen,
    bool JoinedGroup,
    bool RemovedFromGroup,
    bool OwnCommit,
    bool OwnCommitSuperseded) : CommitOutcome
{
    public CommitKind Kind { get; init; }

    /// <summary>Every remove with its reason, in commit order (<see cref="Removed"/> has the ids only).</summary>
    public IReadOnlyList<Removal> Removals { get; init; } = [];

    /// <summary>The policy in force from this epoch on.</summary>
    public RoomPolicy? Policy { get; init; }

    /// <summary>The commit set a new policy.</summary>
    public bool PolicyChanged { get; init; }

    /// <summary>When <see cref="RemovedFromGroup"/>: the reason the commit gave for removing us.</summary>
    public RemoveReason? OwnRemovalReason { get; init; }
}

/// <summary>This very commit was already applied (a duplicate delivery).</summary>
public sealed record CommitAlreadyApplied(ulong Epoch) : CommitOutcome;

/// <summary>A commit for an epoch at or below ours that is not the one we applied: discarded (lost a race).</summary>
public sealed record CommitStale(ulong Epoch, ulong CurrentEpoch) : CommitOutcome;

/// <summary>A joining session saw a commit that does not admit it (no wrap for its key): ignored.</summary>
public sealed record CommitNotForUs(ulong Epoch) : CommitOutcome;

public sealed record CommitRejected(CommitRejection Reason, ulong Epoch) : CommitOutcome
{
    /// <summary>For rejections of the roster rule: exactly which part of it failed.</summary>
    public RosterViolation Violation { get; init; }
}

// ---------------------------------------------------------------- creating commits

public enum CommitRefusal
{
    /// <summary>request.new_epoch is not current + 1 (or not ≥ 1 when creating).</summary>
    EpochMismatch,

    /// <summary>This session is not in the current roster (removed), so it may not commit.</summary>
    NotAMember,

    /// <summary>A joining session was asked to commit, but the request does not add its own join bundle.</summary>
    NotCreator,

    /// <summary>No valid add or remove remained after checks, and it is not a rekey.</summary>
    NothingToCommit,

    /// <summary>The suite is unknown or not supported on this machine.</summary>
    UnsupportedSuite,

    /// <summary>The new roster would exceed <see cref="GroupSession.MaxMembers"/>.</summary>
    RosterFull,

    /// <summary>The COMMIT envelope the relay would send would exceed the frame limit (<see cref="GroupSession.MaxFrameBytes"/>).</summary>
    CommitTooLarge,

    /// <summary>A commit of ours for another epoch is still waiting for the relay's echo.</summary>
    PendingCommitExists,

    /// <summary>The request is not one this session can act on (e.g. the room's policy or state does not allow it).</summary>
    NotAllowed,

    /// <summary>
    /// An external commit's public room state holds no last commit, or one a joiner refuses (§8.5: it does not parse, is for
    /// another room, its signature does not verify with its committer's key, its suite cannot be run, or it breaks the commit rule).
    /// </summary>
    BadRoomState,

    /// <summary>An external commit into an INVITE room without an invite that verifies against the room's roster (and not a same-key return).</summary>
    NotInvited,

    /// <summary>An external commit by an id the roster holds with another identity key and no leave of it: a member must remove that entry first.</summary>
    IdTaken,
}

public abstract record CommitCreation;

/// <summary>
/// Send <see cref="Commit"/> as a COMMIT envelope; it takes effect when the relay echoes it back
/// (<see cref="GroupSession.ProcessCommit"/>). <see cref="SkippedAdds"/>/<see cref="SkippedRemoves"/> name
/// requested changes that were left out because they were invalid.
/// </summary>
public sealed record CommitCreated(
    SignedCommit Commit,
    ulong Epoch,
    IReadOnlyList<string> SkippedAdds,
    IReadOnlyList<string> SkippedRemoves,
    bool Repeated) : CommitCreation;

public sealed record CommitNotCreated(CommitRefusal Reason) : CommitCreation;

// ---------------------------------------------------------------- application messages

public enum SendRefusal
{
    /// <summary>No epoch yet (still joining).</summary>
    NotJoined,

    /// <summary>This member was removed from the group.</summary>
    NotAMember,

    /// <summary>A member's identity key changed and the user has not accepted it.</summary>
    BlockedByKeyChange,

    /// <summary>The body is longer than <see cref="GroupOptions.MaxBodyBytes"/>.</summary>
    BodyTooLong,

    /// <summary>The epoch's generation space is used up; commit a rekey first.</summary>
    GenerationExhausted,
}

public abstract record SendOutcome;

public sealed record MessageSealed(Envelope Envelope, ulong Epoch, ulong Generation) : SendOutcome;

public sealed record SendRefused(SendRefusal Reason, IReadOnlyList<string> BlockingMembers) : SendOutcome;

/// <summary>Why <see cref="GroupSession.Decrypt"/> refused an envelope. PROTOCOL.md §Errors.</summary>
public enum DecryptRejection
{
    /// <summary>Not an APPLICATION envelope, wrong version, bad nonce size, or the plaintext does not parse.</summary>
    Malformed,

    WrongRoom,

    /// <summary>envelope.cipher_suite is not the room's suite.</summary>
    WrongSuite,

    /// <summary>The epoch is before the first epoch this session joined: it never had those keys.</summary>
    EpochBeforeJoin,

    /// <summary>An older epoch whose keys were already erased (retention elapsed).</summary>
    ExpiredEpoch,

    /// <summary>The sender is not in that epoch's roster.</summary>
    NotAMember,

    /// <summary>The sender is this session's own client id (the relay never echoes application messages).</summary>
    FromSelf,

    /// <summary>A generation at or below the newest seen whose key is no longer cached: already delivered (or dropped).</summary>
    Replay,

    /// <summary>The generation is more than <see cref="GroupOptions.MaxForwardJump"/> ahead.</summary>
    TooFarAhead,

    /// <summary>AEAD authentication failed: header, ciphertext or nonce altered, or wrong keys.</summary>
    AuthenticationFailed,

    /// <summary>Decrypted, but the inner Ed25519 signature is not the sender's: another member forged it.</summary>
    Forged,

    /// <summary>
    /// The envelope's history tag is not our epoch's: the sender is on a different history of this room (a fork). The tag
    /// is checked before decryption and so is not authenticated: the relay can fake this report, as it can corrupt any message.
    /// </summary>
    OtherHistory,
}

/// <summary>
/// What <see cref="GroupSession.Decrypt"/> did with an envelope. <see cref="Withheld"/>: drop reports that fell due while
/// it ran (a gap timed out, a count showed messages missing, an epoch was erased), each generation reported once.
/// </summary>
public abstract record DecryptOutcome
{
    public IReadOnlyList<MessagesWithheld> Withheld { get; init; } = [];
}

public sealed record MessageDelivered(
    string SenderId,
    string Text,
    long SentAtMs,
    ulong Epoch,
    ulong Generation,
    bool SenderKeyUnaccepted) : DecryptOutcome
{
    /// <summary>The sender's authenticated count for the epoch before, carried by its first message of this epoch.</summary>
    public EpochCount? Previous { get; init; }

    /// <summary>This generation had been reported as withheld (<see cref="MessagesWithheld"/>); it arrived late after all.</summary>
    public bool ReportedWithheldBefore { get; init; }
}

/// <summary>A summary: no text, only the sender's authenticated count for the epoch before (drop detection, PROTOCOL.md §10.4).</summary>
public sealed record SummaryDelivered(string SenderId, ulong Epoch, ulong Generation, EpochCount Previous) : DecryptOutcome;

/// <summary>For an epoch this session has not reached yet: keep the envelope and retry after the next commit.</summary>
public sealed record MessageHeld(ulong Epoch) : DecryptOutcome;

public sealed record MessageRejected(DecryptRejection Reason) : DecryptOutcome;

// ---------------------------------------------------------------- drop detection

/// <summary>Generations <see cref="First"/> … <see cref="End"/> − 1 of one sender's chain.</summary>
public readonly record struct GenerationRange(ulong First, ulong End)
{
    public ulong Count => End - First;
}

/// <summary>
/// Messages <see cref="SenderId"/> sent in <see cref="Epoch"/> that did not reach us (PROTOCOL.md §11.1): a gap that did not
/// fill within <see cref="GroupOptions.GapTimeoutMs"/>, generations below the sender's authenticated count that did not
/// arrive in that time, or what was still missing when the epoch's keys were erased. The server withheld them (or lost
/// them); each generation is reported once.
/// </summary>
public sealed record MessagesWithheld(string SenderId, ulong Epoch, IReadOnlyList<GenerationRange> Generations)
{
    /// <summary>How many messages (at most 2^64 − 1: a count is the sender's own claim).</summary>
    public ulong Count => Generations.Aggregate(0UL, (sum, range) => sum + range.Count);
}
