namespace SecureChat.Client.Session;

/// <summary>Codes of <see cref="ErrorReported"/> events raised by the client itself (server errors carry the wire's ErrorCode name).</summary>
public static class ClientErrorCodes
{
    /// <summary>A message that will never decrypt: forged, corrupted, replayed or for keys this member never had.</summary>
    public const string DecryptFailed = "DECRYPT_FAILED";

    /// <summary>A commit that the engine refused (bad signature, wrong epoch, roster rule broken).</summary>
    public const string CommitRefused = "COMMIT_REFUSED";

    /// <summary>A member's identity key differs from the pinned one; /trust accepts it.</summary>
    public const string KeyChanged = "KEY_CHANGED";

    /// <summary>The server broke the protocol (unexpected frame, wrong id in WELCOME).</summary>
    public const string Protocol = "PROTOCOL";

    /// <summary>The room could not be joined (refused or no admission in time).</summary>
    public const string JoinFailed = "JOIN_FAILED";
}
