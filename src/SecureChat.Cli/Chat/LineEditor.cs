using System.Text;

namespace SecureChat.Cli.Chat;

/// <summary>Where keys come from; the console in real use, a script in tests.</summary>
internal interface IKeySource
{
    /// <summary>Blocks until the next key; null when there will be no more.</summary>
    ConsoleKeyInfo? ReadKey();
}

internal sealed class ConsoleKeySource : IKeySource
{
    public ConsoleKeyInfo? ReadKey() => Console.ReadKey(intercept: true);
}

/// <summary>
/// A one-line editor for a terminal: the line being typed stays on the bottom row, and a line
/// printed from elsewhere is written above it, after which the prompt and the typed text are
/// redrawn. Keys are read on a dedicated thread because Console.ReadKey blocks.
/// </summary>
internal sealed class LineEditor : IChatTerminal
{
    private const string ClearLine = "\r\u001b[2K";
    private const int MaxLineLength = 4000;

    private readonly TextWriter _output;
    private readonly IKeySource _keys;
    private readonly Lock _gate = new();
    private readonly StringBuilder _buffer = new();
    private readonly System.Threading.Channels.Channel<string?> _lines =
        System.Threading.Channels.Channel.CreateUnbounded<string?>();

    private string _prompt;
    private char? _pendingHighSurrogate;
    private Thread? _reader;

    public LineEditor(TextWriter output, IKeySource keys, string prompt = "> ")
    {
        _output = output;
        _keys = keys;
        _prompt = TerminalText.Neutralise(prompt);
    }

    public void WriteLine(string line)
    {
        lock (_gate)
        {
            _output.Write(ClearLine);
            _output.Write(TerminalText.Neutralise(line));
            _output.Write('\n');
            Redraw();
        }
    }

    public void SetPrompt(string prompt)
    {
        lock (_gate)
        {
            _prompt = TerminalText.Neutralise(prompt);
            _output.Write(ClearLine);
            Redraw();
        }
    }

    public async Task<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        EnsureReader();
        try
        {
            return await _lines.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (System.Threading.Channels.ChannelClosedException)
        {
            return null;
        }
    }

    /// <summary>Feeds one key; returns the completed line when the key was Enter. Public for tests.</summary>
    public string? Apply(ConsoleKeyInfo key)
    {
        lock (_gate)
        {
            switch (key.Key)
            {
                case ConsoleKey.Enter:
                    var line = _buffer.ToString();
                    _buffer.Clear();
                    _output.Write(ClearLine);
                    if (line.Length > 0)
                    {
                        // Echo what was sent so the scrollback reads as a conversation.
                        _output.Write(_prompt);
                        _output.Write(TerminalText.Neutralise(line));
                        _output.Write('\n');
                    }

                    Redraw();
                    return line;
                case ConsoleKey.Backspace:
                    _pendingHighSurrogate = null;
                    if (_buffer.Length > 0)
                    {
                        var pair = _buffer.Length > 1 && char.IsLowSurrogate(_buffer[^1]) && char.IsHighSurrogate(_buffer[^2]);
                        _buffer.Length -= pair ? 2 : 1;
                        _output.Write("\b \b");
                        _output.Flush();
                    }

                    return null;
                case ConsoleKey.Escape:
                    _buffer.Clear();
                    _output.Write(ClearLine);
                    Redraw();
                    return null;
                default:
                    Type(key.KeyChar);
                    return null;
            }
        }
    }

    public void Dispose()
    {
        _lines.Writer.TryComplete();
        lock (_gate)
        {
            _output.Write(ClearLine);
            _output.Flush();
        }
    }

    /// <summary>
    /// Takes a typed character into the line unless the terminal would have to escape it (controls, bidi and
    /// invisible characters): what is echoed while typing is then exactly what the line holds. A surrogate pair
    /// (an emoji) arrives as two keys and is judged as one character.
    /// </summary>
    private void Type(char c)
    {
        var high = _pendingHighSurrogate;
        _pendingHighSurrogate = null;
        if (char.IsHighSurrogate(c))
        {
            _pendingHighSurrogate = c;
            return;
        }

        var typed = high is { } h && char.IsLowSurrogate(c) ? new string([h, c]) : c.ToString();
        if ((typed.Length == 1 && char.IsSurrogate(c)) || !TerminalText.IsSafeToType(char.ConvertToUtf32(typed, 0)) ||
            _buffer.Length + typed.Length > MaxLineLength)
        {
            return;
        }

        _buffer.Append(typed);
        _output.Write(typed);
        _output.Flush();
    }

    private void EnsureReader()
    {
        if (_reader is not null)
        {
            return;
        }

        lock (_gate)
        {
            Redraw();
        }

        _reader = new Thread(ReadKeys) { IsBackground = true, Name = "chat-keys" };
        _reader.Start();
    }

    private void ReadKeys()
    {
        while (true)
        {
            var key = _keys.ReadKey();
            if (key is null)
            {
                _lines.Writer.TryComplete();
                return;
            }

            if (key.Value.Key == ConsoleKey.D && key.Value.Modifiers.HasFlag(ConsoleModifiers.Control))
            {
                _lines.Writer.TryWrite(null);
                return;
            }

            var line = Apply(key.Value);
            if (line is not null && !_lines.Writer.TryWrite(line))
            {
                return;
            }
        }
    }

    private void Redraw()
    {
        _output.Write(_prompt);
        _output.Write(_buffer.ToString());
        _output.Flush();
    }
}
