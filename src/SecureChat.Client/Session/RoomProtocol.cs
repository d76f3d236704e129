using SecureChat.Core.Wire;

namespace SecureChat.Client.Session;

/// <summary>What a server's WELCOME announced (PROTOCOL.md §4.1): its largest room and its frame limit; 0 = not announced.</summary>
public sealed record ServerLimits(uint MaxMembersPerRoom, uint MaxFrameBytes)
{
    public static ServerLimits Of(Welcome welcome)
    {
        ArgumentNullException.ThrowIfNull(welcome);
        return new ServerLimits(welcome.MaxMembersPerRoom, welcome.MaxFrameBytes);
    }
}

/// <summary>Messages between a <see cref="ClientSessionActor"/> and its per-room children.</summary>
public static class RoomProtocol
{
    /// <summary>A frame from the server for this room.</summary>
    public sealed record Inbound(Envelope Envelope);

    /// <summary>A frame the room wants sent to the server.</summary>
    public sealed record Outbound(Envelope Envelope);

    /// <summary>The connection is down; hold everything until <see cref="LinkReady"/>.</summary>
    public sealed record LinkLost
    {
        public static LinkLost Instance { get; } = new();
    }

    /// <summary>
    /// The session stopped reconnecting (<see cref="ConnectionStopped"/>): hold the sends, and report what the relay has not
    /// confirmed as not delivered for <paramref name="Reason"/> (no acknowledgement can come, and no resume is coming by itself).
    /// </summary>
    public sealed record LinkStopped(NotDeliveredReason Reason);

    /// <summary>
    /// A (new) connection is up and greeted: (re)join the room. <paramref name="ServerKeepsMessages"/>: WELCOME said message_log;
    /// <paramref name="Limits"/>: the room size and frame limit it announced, which this connection's commits are made to fit.
    /// </summary>
    public sealed record LinkReady(bool ServerKeepsMessages, ServerLimits? Limits = null);

    /// <summary>The user accepted a changed identity key in the shared trust store: sends held for it may go.</summary>
    public sealed record TrustChanged
    {
        public static TrustChanged Instance { get; } = new();
    }

    /// <summary>A room child has left and is stopping.</summary>
    public sealed record RoomClosed(string RoomId);
}
