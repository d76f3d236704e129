using SecureChat.Core.Wire;

namespace SecureChat.Client.Session;

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

    /// <summary>A (new) connection is up and greeted: (re)join the room. <paramref name="ServerKeepsMessages"/>: WELCOME said message_log.</summary>
    public sealed record LinkReady(bool ServerKeepsMessages);

    /// <summary>The user accepted a changed identity key in the shared trust store: sends held for it may go.</summary>
    public sealed record TrustChanged
    {
        public static TrustChanged Instance { get; } = new();
    }

    /// <summary>A room child has left and is stopping.</summary>
    public sealed record RoomClosed(string RoomId);
}
