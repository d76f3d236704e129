namespace SecureChat.Cli.Chat;

/// <summary>What one key did to the line being typed.</summary>
internal abstract record KeyOutcome
{
    /// <summary>The line or the cursor changed (or might have): redraw the input row.</summary>
    public sealed record Edited : KeyOutcome;

    /// <summary>Enter: the line is done (it may be empty); the input is empty again.</summary>
    public sealed record Submitted(string Line) : KeyOutcome;

    /// <summary>Ctrl-D on an empty line: no more input.</summary>
    public sealed record EndOfInput : KeyOutcome;

    /// <summary>A second Tab with several completions: show them above the input.</summary>
    public sealed record ShowCandidates(IReadOnlyList<string> Candidates) : KeyOutcome;

    /// <summary>Ctrl-L: redraw everything the editor owns.</summary>
    public sealed record Repaint : KeyOutcome;

    /// <summary>Nothing changed (an unbound key, Backspace at the start, ...).</summary>
    public sealed record Ignored : KeyOutcome;

    public static KeyOutcome Changed { get; } = new Edited();

    public static KeyOutcome Nothing { get; } = new Ignored();
}

/// <summary>Offers the words that could complete the word under the cursor.</summary>
internal interface ICompleter
{
    /// <summary>
    /// Candidates for the word that starts with <paramref name="prefix"/>, given the text before that word
    /// (<paramref name="before"/>: "" for the first word). Each is a whole word, ordered as they should be shown.
    /// </summary>
    IReadOnlyList<string> Complete(string before, string prefix);
}

/// <summary>
/// The line being typed, as a plain state machine: keys in, text and cursor out. It knows the emacs keys a shell
/// user expects (Ctrl-A/E/B/F/U/K/W/Y/D/L, arrows, Home/End, Delete, Alt/Ctrl-arrows by word), input history on
/// Up/Down (and Ctrl-P/N), and Tab completion through an <see cref="ICompleter"/>. It never touches a terminal: the
/// <see cref="LineEditor"/> draws it.
/// </summary>
/// <remarks>
/// The text is kept as a list of cells, one per character as typed (a surrogate pair is one cell, and a combining
/// mark joins the cell before it), so the cursor is always between whole characters. A character the terminal would
/// have to escape (<see cref="TerminalText.IsSafeToType"/>) is not taken: what is shown while typing is exactly what
/// the line holds.
/// </remarks>
internal sealed class InputLine
{
    public const int MaxLineLength = 4000;

    private readonly List<string> _cells = [];
    private readonly InputHistory _history;
    private readonly ICompleter? _completer;
    private int _length;
    private char? _pendingHighSurrogate;
    private string _killed = string.Empty;
    private bool _lastWasTab;

    // While browsing history: the line typed before the first Up, given back when Down goes past the newest entry.
    private string? _draft;
    private int _historyIndex = -1;

    public InputLine(InputHistory? history = null, ICompleter? completer = null)
    {
        _history = history ?? new InputHistory();
        _completer = completer;
    }

    /// <summary>The text of the line.</summary>
    public string Text => string.Concat(_cells);

    /// <summary>The cursor, as the number of characters (cells) before it.</summary>
    public int Cursor { get; private set; }

    /// <summary>The line's characters as the terminal shows them, one cell each.</summary>
    public IReadOnlyList<string> Cells => _cells;

    public InputHistory History => _history;

    public KeyOutcome Apply(ConsoleKeyInfo key)
    {
        var wasTab = _lastWasTab;
        _lastWasTab = false;
        if (key.Key != ConsoleKey.Tab && key.KeyChar != '\t')
        {
            // Any other key ends an ongoing Tab sequence.
            wasTab = false;
        }

        if (!char.IsHighSurrogate(key.KeyChar) && !char.IsLowSurrogate(key.KeyChar))
        {
            _pendingHighSurrogate = null;
        }

        var control = key.Modifiers.HasFlag(ConsoleModifiers.Control);
        var alt = key.Modifiers.HasFlag(ConsoleModifiers.Alt);
        if (control && !alt && ControlKey(key) is { } letter)
        {
            return ApplyControl(letter);
        }

        if (alt && !control)
        {
            switch (key.Key)
            {
                case ConsoleKey.B or ConsoleKey.LeftArrow:
                    return MoveTo(WordStartBefore(Cursor));
                case ConsoleKey.F or ConsoleKey.RightArrow:
                    return MoveTo(WordEndAfter(Cursor));
                case ConsoleKey.Backspace:
                    return KillBack(WordStartBefore(Cursor));
                case ConsoleKey.D:
                    return KillForward(WordEndAfter(Cursor));
            }
        }

        switch (key.Key)
        {
            case ConsoleKey.Enter:
                return Submit();
            case ConsoleKey.Backspace:
                return Cursor == 0 ? KeyOutcome.Nothing : Delete(Cursor - 1, Cursor);
            case ConsoleKey.Delete:
                return Cursor == _cells.Count ? KeyOutcome.Nothing : Delete(Cursor, Cursor + 1);
            case ConsoleKey.LeftArrow:
                return MoveTo(control ? WordStartBefore(Cursor) : Cursor - 1);
            case ConsoleKey.RightArrow:
                return MoveTo(control ? WordEndAfter(Cursor) : Cursor + 1);
            case ConsoleKey.Home:
                return MoveTo(0);
            case ConsoleKey.End:
                return MoveTo(_cells.Count);
            case ConsoleKey.UpArrow:
                return HistoryStep(+1);
            case ConsoleKey.DownArrow:
                return HistoryStep(-1);
            case ConsoleKey.Escape:
                return Replace(string.Empty);
            case ConsoleKey.Tab:
                return Complete(wasTab);
        }

        return key.KeyChar switch
        {
            '\r' or '\n' => Submit(),
            '\b' or '\u007f' => Cursor == 0 ? KeyOutcome.Nothing : Delete(Cursor - 1, Cursor),
            '\t' => Complete(wasTab),
            < ' ' => ApplyControl((char)('A' + key.KeyChar - 1)),
            _ => Type(key.KeyChar),
        };
    }

    /// <summary>Replaces the whole line and puts the cursor at its end (history, tests).</summary>
    public KeyOutcome Replace(string text)
    {
        _cells.Clear();
        _length = 0;
        Cursor = 0;
        foreach (var cell in SplitCells(text))
        {
            Insert(cell);
        }

        Cursor = _cells.Count;
        return KeyOutcome.Changed;
    }

    /// <summary>The letter of a Ctrl key (A-Z), from the key or from the control character it typed.</summary>
    private static char? ControlKey(ConsoleKeyInfo key)
    {
        if (key.Key is >= ConsoleKey.A and <= ConsoleKey.Z)
        {
            return (char)('A' + (key.Key - ConsoleKey.A));
        }

        return key.KeyChar is >= '\u0001' and <= '\u001a' ? (char)('A' + key.KeyChar - 1) : null;
    }

    private KeyOutcome ApplyControl(char letter) => letter switch
    {
        'A' => MoveTo(0),
        'E' => MoveTo(_cells.Count),
        'B' => MoveTo(Cursor - 1),
        'F' => MoveTo(Cursor + 1),
        'U' => KillBack(0),
        'K' => KillForward(_cells.Count),
        'W' => KillBack(WhitespaceWordStartBefore(Cursor)),
        'Y' => Yank(),
        'H' => Cursor == 0 ? KeyOutcome.Nothing : Delete(Cursor - 1, Cursor),
        'D' when _cells.Count == 0 => new KeyOutcome.EndOfInput(),
        'D' => Cursor == _cells.Count ? KeyOutcome.Nothing : Delete(Cursor, Cursor + 1),
        'P' => HistoryStep(+1),
        'N' => HistoryStep(-1),
        'L' => new KeyOutcome.Repaint(),
        'I' => Complete(false),
        'M' or 'J' => Submit(),
        _ => KeyOutcome.Nothing,
    };

    private KeyOutcome.Submitted Submit()
    {
        var line = Text;
        _history.Add(line);
        _historyIndex = -1;
        _draft = null;
        _cells.Clear();
        _length = 0;
        Cursor = 0;
        return new KeyOutcome.Submitted(line);
    }

    private KeyOutcome Type(char c)
    {
        var high = _pendingHighSurrogate;
        _pendingHighSurrogate = null;
        if (char.IsHighSurrogate(c))
        {
            _pendingHighSurrogate = c;
            return KeyOutcome.Nothing;
        }

        if (char.IsLowSurrogate(c))
        {
            return high is { } h ? TypeCell(new string([h, c])) : KeyOutcome.Nothing;
        }

        return TypeCell(c.ToString());
    }

    private KeyOutcome TypeCell(string cell)
    {
        if (!TerminalText.IsSafeToType(char.ConvertToUtf32(cell, 0)) || _length + cell.Length > MaxLineLength)
        {
            return KeyOutcome.Nothing;
        }

        if (IsJoining(cell) && Cursor > 0)
        {
            _cells[Cursor - 1] += cell;
            _length += cell.Length;
            return KeyOutcome.Changed;
        }

        if (IsJoining(cell))
        {
            return KeyOutcome.Nothing; // a combining mark with nothing to combine with
        }

        _cells.Insert(Cursor, cell);
        _length += cell.Length;
        Cursor++;
        return KeyOutcome.Changed;
    }

    private void Insert(string cell)
    {
        if (_length + cell.Length > MaxLineLength || !TerminalText.IsSafeToType(char.ConvertToUtf32(cell, 0)))
        {
            return;
        }

        if (IsJoining(cell) && Cursor > 0)
        {
            _cells[Cursor - 1] += cell;
        }
        else if (!IsJoining(cell))
        {
            _cells.Insert(Cursor++, cell);
        }
        else
        {
            return;
        }

        _length += cell.Length;
    }

    private KeyOutcome MoveTo(int position)
    {
        var clamped = Math.Clamp(position, 0, _cells.Count);
        if (clamped == Cursor)
        {
            return KeyOutcome.Nothing;
        }

        Cursor = clamped;
        return KeyOutcome.Changed;
    }

    private KeyOutcome Delete(int from, int to)
    {
        _length -= _cells.Skip(from).Take(to - from).Sum(c => c.Length);
        _cells.RemoveRange(from, to - from);
        Cursor = from;
        return KeyOutcome.Changed;
    }

    private KeyOutcome KillBack(int from)
    {
        if (from >= Cursor)
        {
            return KeyOutcome.Nothing;
        }

        _killed = string.Concat(_cells.Skip(from).Take(Cursor - from));
        return Delete(from, Cursor);
    }

    private KeyOutcome KillForward(int to)
    {
        if (to <= Cursor)
        {
            return KeyOutcome.Nothing;
        }

        var from = Cursor;
        _killed = string.Concat(_cells.Skip(from).Take(to - from));
        Delete(from, to);
        Cursor = from;
        return KeyOutcome.Changed;
    }

    private KeyOutcome Yank()
    {
        if (_killed.Length == 0)
        {
            return KeyOutcome.Nothing;
        }

        foreach (var cell in SplitCells(_killed))
        {
            Insert(cell);
        }

        return KeyOutcome.Changed;
    }

    /// <summary>Up (+1) goes to older entries, Down (-1) to newer ones and finally back to the draft.</summary>
    private KeyOutcome HistoryStep(int direction)
    {
        var next = _historyIndex + direction;
        if (next >= _history.Count || next < -1 || (next == -1 && _historyIndex == -1))
        {
            return KeyOutcome.Nothing;
        }

        if (_historyIndex == -1)
        {
            _draft = Text;
        }

        _historyIndex = next;
        Replace(next == -1 ? _draft ?? string.Empty : _history.FromNewest(next));
        if (next == -1)
        {
            _draft = null;
        }

        return KeyOutcome.Changed;
    }

    private KeyOutcome Complete(bool secondTab)
    {
        if (_completer is null)
        {
            return KeyOutcome.Nothing;
        }

        var start = WhitespaceWordStartBefore(Cursor);
        if (start < Cursor && string.IsNullOrWhiteSpace(_cells[Cursor - 1]))
        {
            start = Cursor;
        }

        var before = string.Concat(_cells.Take(start));
        var prefix = string.Concat(_cells.Skip(start).Take(Cursor - start));
        var candidates = _completer.Complete(before, prefix)
            .Where(c => c.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        switch (candidates.Count)
        {
            case 0:
                return KeyOutcome.Nothing;
            case 1:
                return ReplaceWord(start, candidates[0] + (Cursor == _cells.Count ? " " : string.Empty));
        }

        var common = CommonPrefix(candidates);
        if (common.Length > prefix.Length)
        {
            _lastWasTab = true;
            return ReplaceWord(start, common);
        }

        _lastWasTab = true;
        return secondTab ? new KeyOutcome.ShowCandidates(candidates) : KeyOutcome.Nothing;
    }

    private KeyOutcome ReplaceWord(int start, string word)
    {
        Delete(start, Cursor);
        foreach (var cell in SplitCells(word))
        {
            Insert(cell);
        }

        return KeyOutcome.Changed;
    }

    private static string CommonPrefix(List<string> words)
    {
        var common = words[0];
        foreach (var word in words.Skip(1))
        {
            var n = 0;
            while (n < common.Length && n < word.Length && char.ToLowerInvariant(common[n]) == char.ToLowerInvariant(word[n]))
            {
                n++;
            }

            common = common[..n];
        }

        return common;
    }

    /// <summary>Ctrl-W's word: back over spaces, then back to the previous space (as in a shell).</summary>
    private int WhitespaceWordStartBefore(int position)
    {
        var i = position;
        while (i > 0 && IsSpace(i - 1))
        {
            i--;
        }

        while (i > 0 && !IsSpace(i - 1))
        {
            i--;
        }

        return i;
    }

    /// <summary>Alt-B's word: back over non-letters, then back over letters and digits.</summary>
    private int WordStartBefore(int position)
    {
        var i = position;
        while (i > 0 && !IsWordCell(i - 1))
        {
            i--;
        }

        while (i > 0 && IsWordCell(i - 1))
        {
            i--;
        }

        return i;
    }

    private int WordEndAfter(int position)
    {
        var i = position;
        while (i < _cells.Count && !IsWordCell(i))
        {
            i++;
        }

        while (i < _cells.Count && IsWordCell(i))
        {
            i++;
        }

        return i;
    }

    private bool IsSpace(int index) => string.IsNullOrWhiteSpace(_cells[index]);

    private bool IsWordCell(int index) => char.IsLetterOrDigit(_cells[index], 0);

    private static bool IsJoining(string cell) =>
        System.Globalization.CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(cell, 0)) is
            System.Globalization.UnicodeCategory.NonSpacingMark or System.Globalization.UnicodeCategory.EnclosingMark
            or System.Globalization.UnicodeCategory.SpacingCombiningMark
        || cell is "\ufe0f" or "\ufe0e";

    private static IEnumerable<string> SplitCells(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                yield return text.Substring(i++, 2);
            }
            else if (!char.IsSurrogate(text[i]))
            {
                yield return text[i].ToString();
            }
        }
    }
}
