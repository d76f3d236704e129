using SecureChat.Client.Rooms;
using SecureChat.Core.Wire;

namespace SecureChat.Client.Session;

/// <summary>What the owner of a session asks of it. Queries are answered to the sender.</summary>
public static class ClientCommands
{
    public sealed record Join(string RoomId);

    /// <summary>Try to connect now: after a stop (<see cref="ConnectionStopped"/>), or at once instead of waiting out the backoff.</summary>
    public sealed record Reconnect
    {
        public static Reconnect Instance { get; } = new();
    }

    public sealed record Leave(string RoomId);

    /// <summary>Encrypted for the room's members; queued (bounded) until the room's keys are ready.</summary>
    public sealed record Send(string RoomId, string Text);

    /// <summary>
    /// Accepts the changed identity key of <paramref name="ClientId"/> whose fingerprint is <paramref name="Fingerprint"/>
    /// (digits compared, spaces ignored); without a fingerprint, lists the changed keys waiting and accepts nothing.
    /// </summary>
    public sealed record Trust(string ClientId, string? Fingerprint = null);

    /// <summary>Sends the messages held because the room gained members since they were typed.</summary>
    public sealed record SendQueued(string RoomId);

    /// <summary>Invites <paramref name="InviteeId"/> to the room: a signed invite the server keeps for the invitee's admission.</summary>
    public sealed record Invite(string RoomId, string InviteeId);

    /// <summary>Removes <paramref name="ClientId"/> from the room by a signed commit (any member may; the server cannot veto it).</summary>
    public sealed record Remove(string RoomId, string ClientId);

    /// <summary>Changes the room's admission policy by a commit (OPEN or INVITE).</summary>
    public sealed record SetPolicy(string RoomId, Admission Admission);

    /// <summary>Gives the room new keys by a commit of ours (a new epoch, the same members).</summary>
    public sealed record Rekey(string RoomId);

    /// <summary>Drops the messages held because the room gained members since they were typed.</summary>
    public sealed record DropQueued(string RoomId);

    /// <summary>Answered with <see cref="RosterReply"/>.</summary>
    public sealed record QueryRoster(string RoomId);

    /// <summary>Answered with <see cref="EpochCodeReply"/>.</summary>
    public sealed record QueryEpochCode(string RoomId);

    /// <summary>Answered with <see cref="RoomsReply"/>.</summary>
    public sealed record QueryRooms
    {
        public static QueryRooms Instance { get; } = new();
    }

    public sealed record Member(string ClientId, string Fingerprint);

    public sealed record RosterReply(string RoomId, ulong Epoch, IReadOnlyList<Member> Members);

    /// <summary><paramref name="Code"/> is null while the room has no keys yet.</summary>
    public sealed record EpochCodeReply(string RoomId, ulong Epoch, string? Code);

    /// <param name="Unacknowledged">Messages sent that the relay has not yet confirmed relaying (RELAYED).</param>
    public sealed record RoomInfo(string RoomId, RoomPhase Phase, ulong Epoch, int Members, int Unacknowledged = 0);

    public sealed record RoomsReply(IReadOnlyList<RoomInfo> Rooms);
}
