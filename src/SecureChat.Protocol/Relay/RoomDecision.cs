using Google.Protobuf;
using SecureChat.Core.Wire;

namespace SecureChat.Protocol.Relay;

/// <summary>
/// What one command to a <see cref="RoomState{TConnection}"/> decided: the durable <see cref="Events"/> (already
/// applied to the state; a persistent room journals them before it carries out the rest), the <see cref="Effects"/>
/// to carry out in order, for a publish the <see cref="Fanout"/>, and the <see cref="Logged"/> events of the message
/// log, which do not wait: a persistent room writes them in batches after carrying out the rest, and tells the room
/// when they are durable (<see cref="RoomState{TConnection}.Stored"/>).
/// </summary>
public sealed class RoomDecision<TConnection>
    where TConnection : notnull
{
    internal static readonly RoomDecision<TConnection> Nothing = new([], [], null);

    internal RoomDecision(IReadOnlyList<RoomEvent> events, IReadOnlyList<RoomEffect> effects, RoomFanout<TConnection>? fanout,
        IReadOnlyList<RoomEvent>? logged = null)
    {
        Events = events;
        Effects = effects;
        Fanout = fanout;
        Logged = logged ?? [];
    }

    public IReadOnlyList<RoomEvent> Events { get; }

    /// <summary>Message-log events (already applied): journaled in the next batch, after the effects are carried out.</summary>
    public IReadOnlyList<RoomEvent> Logged { get; }

    public IReadOnlyList<RoomEffect> Effects { get; }

    /// <summary>A relayed application message: <c>Frame</c> to every recipient but its sender, then <c>Relayed</c> to the sender.</summary>
    public RoomFanout<TConnection>? Fanout { get; }
}

/// <summary>
/// An application envelope to hand, unchanged, to each of <paramref name="Recipients"/> (the room's cached list of
/// connected roster members, not to be modified) except <paramref name="SenderId"/>; after them, the RELAYED frame
/// <paramref name="Relayed"/> to the sender's connection <paramref name="Sender"/> (PROTOCOL.md §4.4).
/// </summary>
public readonly record struct RoomFanout<TConnection>(ByteString Frame, IReadOnlyList<RoomRecipient<TConnection>> Recipients, string SenderId,
    TConnection Sender, ByteString Relayed)
    where TConnection : notnull;

/// <summary>A connected roster member and its connection.</summary>
public sealed record RoomRecipient<TConnection>(string ClientId, TConnection Connection)
    where TConnection : notnull;

/// <summary>Something the room's host must do: send, refuse, watch, set a timer, passivate, log.</summary>
public abstract record RoomEffect;

/// <summary>Hand <paramref name="Frame"/> (a serialized Envelope) to one connection.</summary>
public sealed record SendFrame<TConnection>(TConnection To, ByteString Frame) : RoomEffect
    where TConnection : notnull;

/// <summary>
/// The room refused a request: the connection answers ERROR{code, reason} (not fatal) with <paramref name="Epoch"/>
/// and <paramref name="Sequence"/> as the envelope's, and logs it. <paramref name="NotInRoom"/>: the client is not (or no
/// longer) in the room. A refused commit names its epoch; a refused APPLICATION its epoch and sequence (the sender's generation).
/// </summary>
public sealed record RefuseRequest<TConnection>(TConnection To, ErrorCode Code, string Reason, bool NotInRoom, ulong Epoch = 0,
    RelayCommitRejection CommitRejection = RelayCommitRejection.None, ulong Sequence = 0) : RoomEffect
    where TConnection : notnull;

/// <summary>Tell the room when this connection ends (then call <see cref="RoomState{TConnection}.Disconnect"/>).</summary>
public sealed record WatchConnection<TConnection>(TConnection Connection) : RoomEffect
    where TConnection : notnull;

public sealed record UnwatchConnection<TConnection>(TConnection Connection) : RoomEffect
    where TConnection : notnull;

/// <summary>After <paramref name="Delay"/>, call <see cref="RoomState{TConnection}.CommitDeadline"/> with <paramref name="Due"/> (replaces an earlier one).</summary>
public sealed record StartCommitDeadline(CommitDeadlineDue Due, TimeSpan Delay) : RoomEffect;

public sealed record CancelCommitDeadline : RoomEffect
{
    public static readonly CancelCommitDeadline Instance = new();
}

/// <summary>
/// After <paramref name="Delay"/>, call <see cref="RoomState{TConnection}.CommitRetryDue"/>: the backoff after a round in which
/// every candidate failed the commit (replaces an earlier one).
/// </summary>
public sealed record StartCommitRetry(TimeSpan Delay) : RoomEffect;

public sealed record CancelCommitRetry : RoomEffect
{
    public static readonly CancelCommitRetry Instance = new();
}

/// <summary>After <paramref name="Delay"/>, call <see cref="RoomState{TConnection}.PassivationDue"/> (replaces an earlier one).</summary>
public sealed record StartPassivationTimer(TimeSpan Delay) : RoomEffect;

public sealed record CancelPassivationTimer : RoomEffect
{
    public static readonly CancelPassivationTimer Instance = new();
}

/// <summary>After <paramref name="Delay"/>, call <see cref="RoomState{TConnection}.AbsenceCheckDue"/> (replaces an earlier one).</summary>
public sealed record StartAbsenceTimer(TimeSpan Delay) : RoomEffect;

public sealed record CancelAbsenceTimer : RoomEffect
{
    public static readonly CancelAbsenceTimer Instance = new();
}

/// <summary>The room has been empty for its grace period: stop it (it resumes counting at <paramref name="LastEpoch"/>).</summary>
public sealed record PassivateRoom(ulong LastEpoch) : RoomEffect;

/// <summary>A line for the log: what the room did and why (no secret ever reaches a room).</summary>
public sealed record RoomNote(string Text) : RoomEffect;

/// <summary>The commit deadline for <paramref name="NewEpoch"/> given to <paramref name="CommitterId"/> has passed.</summary>
public sealed record CommitDeadlineDue(ulong NewEpoch, string CommitterId);

/// <summary>A room as tests and operators see it. <paramref name="Recovered"/>: restored from storage when it started.</summary>
public sealed record RoomSnapshot(
    string RoomId,
    ulong Epoch,
    IReadOnlyList<string> Roster,
    IReadOnlyList<string> Connected,
    string? AskedCommitter,
    IReadOnlyList<string> PendingAdds,
    IReadOnlyList<string> PendingRemoves,
    bool Recovered = false);
