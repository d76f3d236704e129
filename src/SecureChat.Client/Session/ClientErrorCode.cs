namespace SecureChat.Client.Session;

/// <summary>
/// What kind of failure an <see cref="ErrorReported"/> event is; each value has its own event type carrying
/// the details. Where the server sent the ERROR, the event also carries the wire <c>ErrorCode</c>.
/// </summary>
public enum ClientErrorCode
{
    /// <summary>An ERROR frame from the server (<see cref="ServerError.WireCode"/> says which).</summary>
    Server,

    /// <summary>The server refused our JOIN (<see cref="JoinRefused.WireCode"/> says why).</summary>
    JoinRefused,

    /// <summary>The server broke the protocol (a frame before WELCOME).</summary>
    Protocol,

    /// <summary>A message that will never decrypt: forged, corrupted, or for keys this member never had.</summary>
    DecryptFailed,

    /// <summary>A commit that the engine refused (bad signature, wrong epoch, roster rule broken).</summary>
    CommitRefused,

    /// <summary>The engine could not build the commit the server asked for.</summary>
    CommitRequestRefused,

    /// <summary>Our external commit (admitting ourselves while no member is online) was not built, or the server refused it.</summary>
    ExternalCommitFailed,

    /// <summary>A member's identity key differs from the pinned one; /trust accepts it.</summary>
    KeyChanged,

    /// <summary>/trust named a fingerprint that no changed key waiting for the id has; nothing was accepted.</summary>
    TrustRefused,

    /// <summary>A message the engine will never send (too long, or we are no longer a member).</summary>
    MessageNotSent,

    /// <summary>A message sent that the relay did not confirm relaying (refused, no RELAYED in time, link lost, room left).</summary>
    MessageNotDelivered,

    /// <summary>A command for a room the session has not joined.</summary>
    NotInRoom,

    /// <summary>A room name that is not a valid id.</summary>
    InvalidRoomName,

    /// <summary>The session is in as many rooms as it may be.</summary>
    TooManyRooms,
}
