namespace SecureChat.Client.Rooms;

/// <summary>
/// Where a <see cref="ClientRoom"/> stands. Normal life: Offline → Joining (JOIN out) → AwaitingAdmission
/// (JOINED in) → Ready (a commit admitted us) ⇄ Committing (a commit of ours waits for the relay's echo);
/// every new epoch returns to Ready. A lost connection goes back to Offline, and a member resumes from there through
/// Joining (JOIN with its roster entry) straight to Ready; losing the room's keys
/// (a missed commit, a fork, removal) starts again at Joining with a new session. Left is final.
/// </summary>
public enum RoomPhase
{
    /// <summary>No connection: sends are queued until the link is back and the room is rejoined.</summary>
    Offline,

    /// <summary>JOIN is out with a fresh session; waiting for JOINED or a refusal.</summary>
    Joining,

    /// <summary>The server took the join; waiting for the commit that admits us (or a request to create the room).</summary>
    AwaitingAdmission,

    /// <summary>Keys for the current epoch: messages flow both ways.</summary>
    Ready,

    /// <summary>Our commit is out; the relay's echo (or a competing commit, or a refusal) ends it. Messages still flow.</summary>
    Committing,

    /// <summary>The room was left (by the user, or the server refused the join): the room takes no more input.</summary>
    Left,
}
