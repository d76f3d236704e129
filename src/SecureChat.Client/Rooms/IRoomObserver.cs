using SecureChat.Protocol.Group;

namespace SecureChat.Client.Rooms;

/// <summary>
/// Sees every engine outcome a <see cref="ClientRoom"/> acts on, before the room decides what to do with it.
/// For test harnesses and measurements that check the engine's verdicts (the room itself turns them into
/// events and frames); it must not call back into the room.
/// </summary>
public interface IRoomObserver
{
    /// <summary>An APPLICATION was decrypted (or refused, or held), including each retry of a held one.</summary>
    void Decrypted(DecryptOutcome outcome);

    /// <summary>A COMMIT was processed.</summary>
    void CommitProcessed(CommitOutcome outcome);

    /// <summary>A commit was built (asked for by the server, a rekey) or refused.</summary>
    void CommitBuilt(CommitCreation creation);

    /// <summary>A message was encrypted (or refused) for sending.</summary>
    void Encrypted(SendOutcome outcome);
}
