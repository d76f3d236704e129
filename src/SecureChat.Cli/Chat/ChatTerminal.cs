namespace SecureChat.Cli.Chat;

/// <summary>
/// Where the chat prints and reads. Printing may happen from any thread while a line is being
/// typed; implementations keep the two from garbling each other.
/// </summary>
internal interface IChatTerminal : IDisposable
{
    /// <summary>
    /// Prints one complete line above whatever is being typed, neutralised by <see cref="TerminalText.Neutralise"/>;
    /// returns an id for <see cref="TryRewrite"/>.
    /// </summary>
    long WriteLine(string line);

    /// <summary>Replaces a printed line in place where the terminal allows; false when it does not (print a follow-up line).</summary>
    bool TryRewrite(long lineId, string line);

    /// <summary>The next line the user entered, or null at end of input.</summary>
    Task<string?> ReadLineAsync(CancellationToken cancellationToken);

    void SetPrompt(string prompt);

    /// <summary>The status row (connection, current room, unread counts); terminals without one ignore it.</summary>
    void SetStatus(string status);
}

/// <summary>For pipes and tests: plain line reading, one output line per event, each neutralised (<see cref="TerminalText"/>).</summary>
internal sealed class PlainTerminal(TextReader input, TextWriter output) : IChatTerminal
{
    private readonly Lock _gate = new();
    private long _nextLineId;

    public long WriteLine(string line)
    {
        lock (_gate)
        {
            output.WriteLine(TerminalText.Neutralise(line));
            output.Flush();
            return _nextLineId++;
        }
    }

    public bool TryRewrite(long lineId, string line) => false;

    public async Task<string?> ReadLineAsync(CancellationToken cancellationToken) =>
        await input.ReadLineAsync(cancellationToken).ConfigureAwait(false);

    public void SetPrompt(string prompt)
    {
    }

    public void SetStatus(string status)
    {
    }

    public void Dispose()
    {
    }
}
