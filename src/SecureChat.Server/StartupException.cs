namespace SecureChat.Server;

/// <summary>
/// The server cannot start, for a reason its message says in one line naming the resource (an address and port, a
/// file, a setting and its value). Program prints that line and exits 1; the stack trace only with <c>--verbose</c>.
/// </summary>
public sealed class StartupException : Exception
{
    public StartupException()
    {
    }

    public StartupException(string message)
        : base(message)
    {
    }

    public StartupException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
