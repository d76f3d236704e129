using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;

namespace SecureChat.Client.Session;

// Everything a session tells its owner, as structured values: the wording for people is the CLI's
// (SecureChat.Cli.Chat.EventText). Text that came from the server is named Untrusted*: it is whatever the
// server chose to send and must be shown as such (never as the client's own words, never unfiltered).

/// <summary>Everything a session tells its owner. All immutable.</summary>
public abstract record ClientEvent;

/// <summary>The server accepted the connection and confirmed the id from the certificate.</summary>
public sealed record Connected(string ClientId, string Fingerprint) : ClientEvent;

/// <summary>
/// The server accepted the join; keys follow with <see cref="KeyEstablished"/>. <paramref name="Recovered"/>: the server
/// restored the room from its storage (after a restart or a move) since this client was last in it, which is why the
/// earlier session in it ended (the server's claim, like every field of JOINED).
/// </summary>
public sealed record Joined(string RoomId, ulong CurrentEpoch, int MemberCount, bool Recovered = false) : ClientEvent;

public sealed record Left(string RoomId) : ClientEvent;

/// <summary>
/// Back in the room after a lost connection without a commit (PROTOCOL.md §4.2): the membership kept its keys;
/// <paramref name="CommitsCaughtUp"/> commits made while away (epochs after <paramref name="FromEpoch"/>) were applied. With a
/// server that keeps a message log, the messages sent meanwhile came before this (as <see cref="MessageReceived"/>), and those
/// its log no longer held are counted in a <see cref="HistoryGap"/>; without one they are not delivered.
/// </summary>
public sealed record Resumed(string RoomId, ulong FromEpoch, ulong Epoch, int CommitsCaughtUp) : ClientEvent;

/// <summary>A member entered the room; <paramref name="AlreadyPresent"/> when they were there before we were admitted.</summary>
public sealed record MemberJoined(string RoomId, string ClientId, string Fingerprint, bool AlreadyPresent = false) : ClientEvent;

/// <summary>A commit took <paramref name="ClientId"/> out of the room.</summary>
public sealed record MemberLeft(string RoomId, string ClientId, string Fingerprint) : ClientEvent
{
    /// <summary>Why, as the commit says (a signed leave, a member's decision, absence, an expired key); null when not told.</summary>
    public RemoveReason? Reason { get; init; }

    /// <summary>The member whose commit removed them (for <see cref="RemoveReason.Removed"/>: who decided it, or was asked to by the server).</summary>
    public string? RemovedBy { get; init; }
}

/// <summary>The room has keys for <paramref name="Epoch"/>; <paramref name="EpochCode"/> is what members compare.</summary>
public sealed record KeyEstablished(string RoomId, ulong Epoch, string EpochCode, int MemberCount) : ClientEvent;

/// <param name="SenderKeyUnaccepted">
/// The sender signed with an identity key the user has not accepted (it differs from the pinned one): every such
/// message carries the mark, until the user accepts that key.
/// </param>
public sealed record MessageReceived(string RoomId, string SenderId, string Text, DateTimeOffset SentAt, DateTimeOffset ReceivedAt,
    bool SenderKeyUnaccepted = false) : ClientEvent
{
    /// <summary>The message was reported as withheld (<see cref="ServerWithheldMessages"/>) and arrived late after all.</summary>
    public bool ArrivedAfterWithheldReport { get; init; }
}

/// <summary>A changed identity key seen for a client and not accepted: the pinned key's fingerprint and the new one's.</summary>
public sealed record PendingKey(string PinnedFingerprint, string NewFingerprint);

/// <summary>The user's /trust accepted the key of <paramref name="ClientId"/> whose fingerprint is <paramref name="Fingerprint"/>.</summary>
public sealed record TrustUpdated(string ClientId, string Fingerprint) : ClientEvent;

/// <summary>
/// The answer to /trust without a fingerprint: the changed keys waiting for <paramref name="ClientId"/>, oldest first
/// (empty when none). Nothing was accepted.
/// </summary>
public sealed record PendingKeys(string ClientId, IReadOnlyList<PendingKey> Keys) : ClientEvent;

/// <summary>A held message was sent after the user said so (/send-queued): <paramref name="Count"/> messages went out.</summary>
public sealed record QueuedSendsReleased(string RoomId, int Count) : ClientEvent;

/// <summary>The server kept our invite of <paramref name="InviteeId"/> (it echoed it): the invitee may join now.</summary>
public sealed record InviteSent(string RoomId, string InviteeId) : ClientEvent;

/// <summary>Our commit removing <paramref name="ClientId"/>, or changing the policy to <paramref name="Admission"/>, was sent.</summary>
public sealed record MembershipCommitSent(string RoomId, string? ClientId, Admission? Admission) : ClientEvent;

/// <summary>
/// A message of ours was encrypted and sent as <paramref name="Generation"/> of <paramref name="Epoch"/>; it is waiting for the relay's
/// RELAYED (<see cref="MessageRelayed"/>) or is reported as <see cref="MessageNotDelivered"/>. Messages of a room are sent in the order
/// they were typed.
/// </summary>
public sealed record MessageSent(string RoomId, ulong Epoch, ulong Generation, string Text) : ClientEvent;

/// <summary>
/// The relay confirmed handing our message <paramref name="Generation"/> of <paramref name="Epoch"/> to the members connected then.
/// With a server that keeps a message log, <see cref="MessageStored"/> follows: the last word.
/// </summary>
public sealed record MessageRelayed(string RoomId, ulong Epoch, ulong Generation) : ClientEvent;

/// <summary>
/// Our message <paramref name="Generation"/> of <paramref name="Epoch"/> is durable in the room's log on the server, as number
/// <paramref name="RoomSeq"/> (STORED, PROTOCOL.md §4.4.1): members who are away get it when they come back. The server's claim.
/// </summary>
public sealed record MessageStored(string RoomId, ulong Epoch, ulong Generation, ulong RoomSeq) : ClientEvent;

/// <summary>
/// The room told the server it has every message through <paramref name="RoomSeq"/> (ACK). A client that stores its state
/// keeps <see cref="Rooms.ClientRoom.Position"/> at least this far: a resume asks for what comes after it.
/// </summary>
public sealed record PositionAcknowledged(string RoomId, ulong RoomSeq) : ClientEvent;

/// <summary>A message sent and not yet STORED, as a client that stores its state keeps it (<see cref="Rooms.ClientRoom.Unstored"/>).</summary>
public sealed record UnstoredMessage(ulong Epoch, ulong Generation, Envelope Envelope, string Text);

/// <summary>The connection is gone; <paramref name="RetryIn"/> says when the next attempt is, null when none will be made.</summary>
/// <param name="Detail">The link's own description of a <see cref="DisconnectCause.LinkFailed"/> (a socket or TLS error); null otherwise.</param>
public sealed record Disconnected(DisconnectCause Cause, string? Detail, TimeSpan? RetryIn) : ClientEvent
{
    /// <summary>With several servers: the address the next attempt goes to (null with one server).</summary>
    public string? NextServer { get; init; }
}

/// <summary>A new connection is up after a loss; rooms are being resumed (or joined afresh where a session was lost).</summary>
public sealed record Reconnected(int Attempt) : ClientEvent
{
    /// <summary>With several servers: the address of the one now connected (null with one server).</summary>
    public string? Server { get; init; }
}

/// <summary>
/// The session stopped reconnecting: <paramref name="Cause"/> is a failure that another attempt would meet again
/// (<see cref="ReconnectRule"/>). Rooms are offline, what was sent and not confirmed was reported as
/// <see cref="MessageNotDelivered"/>, and what is queued stays queued; <see cref="ClientCommands.Reconnect"/> tries again.
/// </summary>
/// <param name="Server">The server it was connecting to (HOST:PORT).</param>
/// <param name="Detail">Our own description (the link's, or what we found before connecting); null when the server's ERROR said it.</param>
public sealed record ConnectionStopped(StopCause Cause, string Server, string? Detail) : ClientEvent
{
    /// <summary>The text of the server's ERROR, when one stopped us.</summary>
    public string? UntrustedServerReason { get; init; }
}

public enum DisconnectCause
{
    /// <summary>The connection failed or was closed (see <see cref="Disconnected.Detail"/>).</summary>
    LinkFailed,

    /// <summary>No WELCOME arrived within <see cref="ClientSessionSettings.WelcomeTimeout"/> after HELLO.</summary>
    WelcomeTimeout,

    /// <summary>The link's outbound queue was full: the server does not read fast enough.</summary>
    OutboundQueueFull,

    /// <summary>The server broke the protocol during the greeting (reported just before as a <see cref="ErrorReported"/>).</summary>
    ProtocolViolation,
}

// ---------------------------------------------------------------- warnings

/// <summary>Something the user should know that did not stop anything (queue full, dropped message, rejoining).</summary>
public abstract record Warning(string? RoomId) : ClientEvent;

/// <summary>JOINED came, but no commit admitted us within <paramref name="Waited"/>; the room keeps waiting.</summary>
public sealed record StillWaitingForAdmission(string RoomId, TimeSpan Waited) : Warning(RoomId);

/// <summary>A commit we were asked for leaves <paramref name="ClientId"/> out: its bundle did not verify, or it is already a member.</summary>
public sealed record JoinerNotAdmitted(string RoomId, string ClientId) : Warning(RoomId);

/// <summary>The room starts again with a new session and a new JOIN (<see cref="CommitRefused.Rejoining"/> covers lost keys).</summary>
/// <param name="UntrustedServerReason">The server's ERROR text when it said we are not a member; null otherwise.</param>
public sealed record Rejoining(string RoomId, RejoinReason Reason, string? UntrustedServerReason) : Warning(RoomId)
{
    /// <summary>For <see cref="RejoinReason.RemovedFromRoom"/>: the reason the removing commit gave, signed by its committer.</summary>
    public RemoveReason? Removal { get; init; }

    /// <summary>For <see cref="RejoinReason.RemovedFromRoom"/>: the member whose commit removed us.</summary>
    public string? RemovedBy { get; init; }
}

public enum RejoinReason
{
    /// <summary>A commit removed us from the roster.</summary>
    RemovedFromRoom,

    /// <summary>The server answered NOT_A_MEMBER while we held the room's keys.</summary>
    ServerSaysNotAMember,

    /// <summary>A resume could not bring our session up to date (JOINED REJOIN_NEEDED, or the server refused the resume).</summary>
    ResumeNotPossible,
}

/// <summary>A message waits: the identity key of <paramref name="BlockingMembers"/> changed and the user has not accepted it.</summary>
public sealed record SendHeldForKeyChange(string RoomId, IReadOnlyList<string> BlockingMembers) : Warning(RoomId);

/// <summary><paramref name="Queued"/> messages already wait for the room's keys; the new one was not kept.</summary>
public sealed record SendQueueFull(string RoomId, int Queued) : Warning(RoomId);

/// <summary>A message that could not be read for a harmless reason: a replay, or keys already erased.</summary>
/// <param name="SenderId">The sender the envelope names.</param>
public sealed record MessageDropped(string RoomId, string SenderId, DecryptRejection Reason) : Warning(RoomId);

/// <summary>
/// <paramref name="Count"/> messages <paramref name="SenderId"/> sent in <paramref name="Epoch"/> never reached us: the server
/// withheld them (a gap that did not fill in time, the sender's own signed count, or what was missing when the epoch's keys
/// were erased). Each is reported once; one that still arrives later is marked <see cref="MessageReceived.ArrivedAfterWithheldReport"/>.
/// </summary>
public sealed record ServerWithheldMessages(string RoomId, string SenderId, ulong Epoch, ulong Count, IReadOnlyList<GenerationRange> Generations)
    : Warning(RoomId);

/// <summary>
/// <paramref name="Missed"/> messages of the room sent after our position <paramref name="AfterSeq"/> are gone: the server's log
/// no longer held them when we came back (its bounds), or (rejoining) our keys cannot open them. The server's count.
/// </summary>
public sealed record HistoryGap(string RoomId, ulong Missed, ulong AfterSeq) : Warning(RoomId);

/// <summary>Too many messages waited for keys not yet received; the oldest (from <paramref name="SenderId"/>) was dropped.</summary>
public sealed record HeldMessageDropped(string RoomId, string SenderId) : Warning(RoomId);

/// <summary>The connection is gone; what the user types is kept until the room is rekeyed.</summary>
public sealed record RoomOffline(string RoomId) : Warning(RoomId);

/// <summary>The room was left, or the user dropped held messages (/drop-queued): <paramref name="Count"/> messages were not sent.</summary>
public sealed record QueuedSendsDropped(string RoomId, int Count) : Warning(RoomId);

/// <summary>
/// <paramref name="Held"/> messages typed for an earlier roster wait: since they were typed, <paramref name="JoinedSince"/>
/// joined the room. They go only when the user says so (/send-queued) or are dropped (/drop-queued).
/// </summary>
public sealed record QueuedSendsHeld(string RoomId, IReadOnlyList<string> JoinedSince, int Held) : Warning(RoomId);

/// <summary>/send-queued or /drop-queued, but no message was held for a roster change.</summary>
public sealed record NothingHeld(string RoomId) : Warning(RoomId);

/// <summary>/invite, /remove or /policy in a room whose keys we do not hold, or naming no valid id, or changing nothing.</summary>
public sealed record MembershipChangeNotMade(string RoomId, string Why) : Warning(RoomId);

public sealed record AlreadyInRoom(string RoomId) : Warning(RoomId);

/// <summary>The pacer's queue was full: a frame of <paramref name="Frame"/> type was not sent.</summary>
public sealed record FrameDropped(string? RoomId, MessageType Frame) : Warning(RoomId);

/// <summary><paramref name="Count"/> frames waiting for the pacer were lost with the connection.</summary>
public sealed record PacedFramesLost(int Count) : Warning(RoomId: null);

// ---------------------------------------------------------------- errors

/// <summary>A failure: an error frame from the server or one found locally. <see cref="Code"/> names which.</summary>
public abstract record ErrorReported(string? RoomId, ClientErrorCode Code) : ClientEvent;

/// <summary>An ERROR frame from the server that no room handled itself.</summary>
public sealed record ServerError(string? RoomId, ErrorCode WireCode, string UntrustedReason, bool Fatal)
    : ErrorReported(RoomId, ClientErrorCode.Server);

/// <summary>The server refused our JOIN.</summary>
public sealed record JoinRefused(string RoomId, ErrorCode WireCode, string UntrustedReason) : ErrorReported(RoomId, ClientErrorCode.JoinRefused);

/// <summary>The server sent <paramref name="Frame"/> before WELCOME.</summary>
public sealed record FrameBeforeWelcome(MessageType Frame) : ErrorReported(null, ClientErrorCode.Protocol);

/// <summary>A message that will never be read.</summary>
/// <param name="SenderId">The sender the envelope names (not authenticated: the message failed).</param>
public sealed record DecryptFailed(string RoomId, string SenderId, DecryptRejection Reason) : ErrorReported(RoomId, ClientErrorCode.DecryptFailed);

/// <summary>The engine refused a commit for <paramref name="Epoch"/>; <paramref name="Rejoining"/> when it means the keys are lost.</summary>
public sealed record CommitRefused(string RoomId, CommitRejection Reason, ulong Epoch, bool Rejoining) : ErrorReported(RoomId, ClientErrorCode.CommitRefused);

/// <summary>The engine could not build the commit the server asked for.</summary>
public sealed record CommitRequestRefused(string RoomId, CommitRefusal Reason) : ErrorReported(RoomId, ClientErrorCode.CommitRequestRefused);

/// <summary>
/// No member was online, and our external commit (admitting ourselves, PROTOCOL.md §8.9) failed: the engine would not build it
/// from the room's state (<paramref name="Refusal"/>), or the server refused it (<paramref name="UntrustedServerReason"/>). We
/// stay waiting: a member who comes back admits us, or the server asks for an external commit again.
/// </summary>
public sealed record ExternalCommitFailed(string RoomId, CommitRefusal? Refusal, string? UntrustedServerReason)
    : ErrorReported(RoomId, ClientErrorCode.ExternalCommitFailed);

/// <summary>
/// <paramref name="ClientId"/>'s identity key is not the pinned one. Sending to the room waits until the user
/// accepts it (<see cref="ClientCommands.Trust"/> with <paramref name="NewFingerprint"/>) after comparing fingerprints.
/// </summary>
public sealed record KeyChanged(string RoomId, string ClientId, string PinnedFingerprint, string NewFingerprint)
    : ErrorReported(RoomId, ClientErrorCode.KeyChanged);

/// <summary>The engine refused to send a message, and it never will (too long, or we are no longer a member).</summary>
public sealed record MessageNotSent(string RoomId, SendRefusal Reason) : ErrorReported(RoomId, ClientErrorCode.MessageNotSent);

/// <summary>
/// A message we sent that the relay did not confirm relaying (RELAYED, PROTOCOL.md §4.4): it may have reached no one, or
/// (when only the confirmation was lost) some or all of the members. It is not sent again by itself.
/// </summary>
/// <param name="Epoch">The epoch it was sent in; with <paramref name="Generation"/> it names the message on the wire.</param>
/// <param name="Generation">Its sequence number: the sender's generation in <paramref name="Epoch"/>.</param>
/// <param name="Preview">Its text, or when longer than <see cref="MaxPreviewLength"/> characters its start and "...".</param>
/// <param name="WireCode">For <see cref="NotDeliveredReason.Refused"/>: the ERROR's code.</param>
/// <param name="UntrustedServerReason">For <see cref="NotDeliveredReason.Refused"/>: the ERROR's text.</param>
public sealed record MessageNotDelivered(string RoomId, ulong Epoch, ulong Generation, string Preview, NotDeliveredReason Reason,
    ErrorCode WireCode = ErrorCode.Unspecified, string? UntrustedServerReason = null) : ErrorReported(RoomId, ClientErrorCode.MessageNotDelivered)
{
    public const int MaxPreviewLength = 64;
}

public enum NotDeliveredReason
{
    /// <summary>No RELAYED within <see cref="ClientSessionSettings.AckTimeout"/>.</summary>
    NoAcknowledgement,

    /// <summary>The connection dropped before RELAYED came (with a message log: before STORED, and the message could not be sent again).</summary>
    LinkLost,

    /// <summary>The relay refused it with an ERROR naming its epoch and generation.</summary>
    Refused,

    /// <summary>The user left the room before RELAYED came.</summary>
    RoomLeft,

    /// <summary>Another client with our id signed in, and the server closed this connection before it confirmed the message.</summary>
    SignedInElsewhere,

    /// <summary>The session stopped reconnecting (<see cref="ConnectionStopped"/>) before the server confirmed the message.</summary>
    ConnectionStopped,
}

/// <summary>
/// /trust named a fingerprint that is not the fingerprint of any changed key waiting for <paramref name="ClientId"/>
/// (<paramref name="Pending"/> lists those that are): nothing was accepted.
/// </summary>
public sealed record TrustRefused(string ClientId, string TypedFingerprint, IReadOnlyList<PendingKey> Pending)
    : ErrorReported(null, ClientErrorCode.TrustRefused);

/// <summary>A command for a room this session has not joined.</summary>
public sealed record NotInRoom(string RoomId) : ErrorReported(RoomId, ClientErrorCode.NotInRoom);

/// <summary>A room name that is not a valid id (1-64 characters of A-Z a-z 0-9 . _ @ -).</summary>
public sealed record InvalidRoomName(string Name) : ErrorReported(null, ClientErrorCode.InvalidRoomName);

/// <summary>The session already has <paramref name="Max"/> rooms.</summary>
public sealed record TooManyRooms(string RoomId, int Max) : ErrorReported(RoomId, ClientErrorCode.TooManyRooms);
