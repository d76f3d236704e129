using System.Globalization;
using System.Text;
using System.Threading.Channels;

namespace SecureChat.Cli.Chat;

/// <summary>Where keys come from; the console in real use, a script in tests.</summary>
internal interface IKeySource
{
    /// <summary>Blocks until the next key; null when there will be no more (or after <see cref="Stop"/>).</summary>
    ConsoleKeyInfo? ReadKey();

    /// <summary>Makes a waiting <see cref="ReadKey"/> return null.</summary>
    void Stop()
    {
    }
}

/// <summary>
/// The console's keys. It waits for a key to be available rather than blocking in Console.ReadKey: a thread left
/// blocked there can hold up the process's exit (the console restores the terminal's settings on exit).
/// </summary>
internal sealed class ConsoleKeySource : IKeySource
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(15);
    private volatile bool _stopped;

    public ConsoleKeyInfo? ReadKey()
    {
        while (!_stopped)
        {
            if (Console.KeyAvailable)
            {
                return Console.ReadKey(intercept: true);
            }

            Thread.Sleep(Poll);
        }

        return null;
    }

    public void Stop() => _stopped = true;
}

/// <summary>
/// The chat's terminal: the bottom two rows are the editor's (a status row, then the input row with the prompt and
/// the <see cref="InputLine"/> being typed); every line printed from elsewhere goes above them, after which both are
/// redrawn. Only plain ANSI sequences are used (clear line, cursor up/down/right), which every terminal and tmux
/// understand. Keys are read on a dedicated thread because Console.ReadKey blocks.
/// </summary>
internal sealed class LineEditor : IChatTerminal
{
    private const string ClearRow = "\r\u001b[2K";
    private const string Up = "\u001b[1A";
    private const string StatusOn = "\u001b[7m";
    private const string StatusOff = "\u001b[0m";

    private readonly TextWriter _output;
    private readonly IKeySource _keys;
    private readonly Func<int> _width;
    private readonly Func<int> _height;
    private readonly InputLine _line;
    private readonly Lock _gate = new();
    private readonly Channel<string?> _lines = Channel.CreateUnbounded<string?>();

    // The lines printed last (newest last), with the rows each took, for rewriting one in place.
    private readonly LinkedList<(long Id, int Rows)> _recent = new();

    private string _prompt;
    private string _status = string.Empty;
    private bool _frameDrawn;
    private bool _statusDrawn;
    private int _scroll;
    private long _nextLineId;
    private Thread? _reader;

    public LineEditor(TextWriter output, IKeySource keys, string prompt = "> ", InputHistory? history = null, ICompleter? completer = null,
        Func<int>? width = null, Func<int>? height = null)
    {
        _output = output;
        _keys = keys;
        _prompt = TerminalText.Neutralise(prompt);
        _line = new InputLine(history, completer);
        _width = width ?? (() => SafeConsoleSize(() => Console.WindowWidth, 80));
        _height = height ?? (() => SafeConsoleSize(() => Console.WindowHeight, 24));
    }

    /// <summary>The line being typed (for tests).</summary>
    public InputLine Line => _line;

    public long WriteLine(string line)
    {
        lock (_gate)
        {
            var text = TerminalText.Neutralise(line);
            EraseFrame();
            _output.Write(text);
            _output.Write('\n');
            var id = _nextLineId++;
            _recent.AddLast((id, Rows(text)));
            while (_recent.Count > Math.Max(_height(), 1))
            {
                _recent.RemoveFirst();
            }

            DrawFrame();
            return id;
        }
    }

    public bool TryRewrite(long lineId, string line)
    {
        lock (_gate)
        {
            var text = TerminalText.Neutralise(line);
            var below = 0;
            for (var node = _recent.Last; node is not null; node = node.Previous)
            {
                if (node.Value.Id != lineId)
                {
                    below += node.Value.Rows;
                    continue;
                }

                // Only a one-row line still on the screen is rewritten; anything else would move other lines.
                var up = below + 1;
                if (node.Value.Rows != 1 || Rows(text) != 1 || up + FrameRows > _height())
                {
                    return false;
                }

                EraseFrame();
                _output.Write(string.Create(CultureInfo.InvariantCulture, $"\u001b[{up}A{ClearRow}{text}\r\u001b[{up}B"));
                DrawFrame();
                return true;
            }

            return false;
        }
    }

    public void SetPrompt(string prompt)
    {
        lock (_gate)
        {
            _prompt = TerminalText.Neutralise(prompt);
            Redraw();
        }
    }

    public void SetStatus(string status)
    {
        lock (_gate)
        {
            var text = TerminalText.Neutralise(status);
            if (text == _status)
            {
                return;
            }

            _status = text;
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
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    /// <summary>Feeds one key and draws what it changed; returns the line when the key ended one. Public for tests.</summary>
    public KeyOutcome Apply(ConsoleKeyInfo key)
    {
        lock (_gate)
        {
            var outcome = _line.Apply(key);
            switch (outcome)
            {
                case KeyOutcome.Edited or KeyOutcome.Submitted or KeyOutcome.Repaint:
                    Redraw();
                    break;
                case KeyOutcome.ShowCandidates show:
                    WriteLine(string.Join("  ", show.Candidates));
                    break;
            }

            return outcome;
        }
    }

    public void Dispose()
    {
        _lines.Writer.TryComplete();
        _keys.Stop();
        _reader?.Join(TimeSpan.FromSeconds(1));
        lock (_gate)
        {
            EraseFrame();
            _output.Flush();
        }
    }

    /// <summary>The input row as drawn: the visible part of the prompt and line, and the cursor's column. Public for tests.</summary>
    public (string Row, int CursorColumn) InputRow()
    {
        lock (_gate)
        {
            var width = Math.Max(_width(), 8);
            var prompt = TerminalWidth.Fit(_prompt, Math.Max(width / 2, 1));
            var available = Math.Max(width - 1 - TerminalWidth.Of(prompt), 1);
            var cells = _line.Cells;
            var cursor = _line.Cursor;
            var total = cells.Sum(TerminalWidth.Of);
            if (total < available)
            {
                _scroll = 0;
            }
            else
            {
                _scroll = Math.Min(_scroll, cursor);
                while (_scroll < cursor && WidthOf(cells, _scroll, cursor) + 1 > available)
                {
                    _scroll++;
                }
            }

            var builder = new StringBuilder(prompt);
            var used = 0;
            for (var i = _scroll; i < cells.Count && used + TerminalWidth.Of(cells[i]) <= available; i++)
            {
                builder.Append(cells[i]);
                used += TerminalWidth.Of(cells[i]);
            }

            return (builder.ToString(), TerminalWidth.Of(prompt) + WidthOf(cells, _scroll, cursor));
        }
    }

    private int FrameRows => _status.Length > 0 ? 2 : 1;

    private static int WidthOf(IReadOnlyList<string> cells, int from, int to)
    {
        var width = 0;
        for (var i = from; i < to; i++)
        {
            width += TerminalWidth.Of(cells[i]);
        }

        return width;
    }

    private int Rows(string text)
    {
        var width = Math.Max(_width(), 1);
        return Math.Max(1, (TerminalWidth.Of(text) + width - 1) / width);
    }

    private void Redraw()
    {
        EraseFrame();
        DrawFrame();
    }

    /// <summary>Clears the editor's rows; the cursor is left at the start of the first of them.</summary>
    private void EraseFrame()
    {
        if (!_frameDrawn)
        {
            return;
        }

        _output.Write(ClearRow);
        if (_statusDrawn)
        {
            _output.Write(Up);
            _output.Write(ClearRow);
        }

        _frameDrawn = false;
        _statusDrawn = false;
    }

    private void DrawFrame()
    {
        if (_status.Length > 0)
        {
            _output.Write(StatusOn);
            _output.Write(TerminalWidth.Fit(_status, Math.Max(_width() - 1, 1)));
            _output.Write(StatusOff);
            _output.Write('\n');
            _statusDrawn = true;
        }

        var (row, column) = InputRow();
        _output.Write(row);
        _output.Write('\r');
        if (column > 0)
        {
            _output.Write(string.Create(CultureInfo.InvariantCulture, $"\u001b[{column}C"));
        }

        _output.Flush();
        _frameDrawn = true;
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

            switch (Apply(key.Value))
            {
                case KeyOutcome.EndOfInput:
                    _lines.Writer.TryWrite(null);
                    return;
                case KeyOutcome.Submitted submitted when !_lines.Writer.TryWrite(submitted.Line):
                    return;
            }
        }
    }

    private static int SafeConsoleSize(Func<int> read, int fallback)
    {
        try
        {
            var size = read();
            return size > 0 ? size : fallback;
        }
        catch (IOException)
        {
            return fallback;
        }
    }
}
