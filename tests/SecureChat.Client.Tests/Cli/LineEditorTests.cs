using SecureChat.Cli.Chat;

namespace SecureChat.Client.Tests.Cli;

/// <summary>The terminal side of the editor: what it writes for the status row, the input row and lines printed above.</summary>
public sealed class LineEditorTests
{
    private const string ClearRow = "\r\u001b[2K";

    [Fact]
    public void A_line_printed_while_typing_goes_above_and_the_typed_text_is_redrawn_with_the_cursor_where_it_was()
    {
        var output = new StringWriter();
        using var editor = Editor(output, "lobby> ");
        editor.Apply(Keys.Char('h'));
        editor.Apply(Keys.Char('i'));
        editor.Apply(Keys.Left);
        output.GetStringBuilder().Clear();

        editor.WriteLine("[lobby] bob: hello");

        Assert.Equal(ClearRow + "[lobby] bob: hello\nlobby> hi\r\u001b[8C", output.ToString());
    }

    [Fact]
    public void The_status_row_sits_above_the_input_row_and_both_are_redrawn_below_a_printed_line()
    {
        var output = new StringWriter();
        using var editor = Editor(output, "dev> ");
        editor.SetStatus("online | dev");
        output.GetStringBuilder().Clear();

        editor.WriteLine("hello");

        Assert.Equal(ClearRow + "\u001b[1A" + ClearRow + "hello\n\u001b[7monline | dev\u001b[0m\ndev> \r\u001b[5C", output.ToString());
    }

    [Fact]
    public void A_status_longer_than_the_terminal_is_cut_so_it_never_wraps()
    {
        var output = new StringWriter();
        using var editor = Editor(output, "> ", width: 20);
        editor.SetStatus(new string('s', 50));

        Assert.Contains("\u001b[7m" + new string('s', 18) + "…\u001b[0m", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_long_line_scrolls_sideways_to_keep_the_cursor_in_view()
    {
        using var editor = Editor(new StringWriter(), "> ", width: 20);
        foreach (var c in "abcdefghijklmnopqrstuvwxyz")
        {
            editor.Apply(Keys.Char(c));
        }

        var (row, column) = editor.InputRow();
        Assert.Equal("> klmnopqrstuvwxyz", row);
        Assert.Equal(18, column);

        editor.Apply(Keys.Home);
        (row, column) = editor.InputRow();
        Assert.Equal(("> abcdefghijklmnopq", 2), (row, column));
    }

    [Fact]
    public void A_recent_line_is_rewritten_in_place_and_one_scrolled_away_is_not()
    {
        var output = new StringWriter();
        using var editor = Editor(output, "> ", height: 5);
        var mine = editor.WriteLine("me: hi [sent]");
        editor.WriteLine("bob: hello");
        output.GetStringBuilder().Clear();

        Assert.True(editor.TryRewrite(mine, "me: hi [✓ relayed]"));
        Assert.Equal(ClearRow + "\u001b[2A" + ClearRow + "me: hi [✓ relayed]\r\u001b[2B> \r\u001b[2C", output.ToString());

        editor.WriteLine("1");
        editor.WriteLine("2");
        editor.WriteLine("3");
        Assert.False(editor.TryRewrite(mine, "me: hi [✗]"));
    }

    [Fact]
    public void A_line_that_wraps_is_not_rewritten_in_place()
    {
        using var editor = Editor(new StringWriter(), "> ", width: 10);
        var mine = editor.WriteLine("a line longer than ten");

        Assert.False(editor.TryRewrite(mine, "short"));
    }

    [Fact]
    public void The_second_tab_lists_the_candidates_above_the_input()
    {
        var output = new StringWriter();
        using var editor = new LineEditor(output, new ScriptedKeys(), "> ", completer: new ChatCompleter(() => [], () => ["bob", "bea"]),
            width: () => 80, height: () => 24);
        editor.Apply(Keys.Char('b'));
        editor.Apply(Keys.Tab);
        output.GetStringBuilder().Clear();
        editor.Apply(Keys.Tab);

        Assert.StartsWith(ClearRow + "bea:  bob:\n> b", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Both_terminals_print_hostile_text_as_one_visible_line()
    {
        // What a server reason or a chat line may hold: a fake second line, a bidi override, a zero-width space, an escape sequence.
        const string hostile = "x\n[lobby] 12:00 bob: hi \u202eevil\u200b\u001b[2J";
        const string shown = "x\\u000a[lobby] 12:00 bob: hi \\u202eevil\\u200b\\u001b[2J";
        var editorOutput = new StringWriter();
        using var editor = Editor(editorOutput, "lobby> ");
        var plainOutput = new StringWriter();
        using var plain = new PlainTerminal(TextReader.Null, plainOutput);

        editor.WriteLine(hostile);
        plain.WriteLine(hostile);
        editor.SetStatus("status \u001b[2J");

        Assert.StartsWith(shown + "\nlobby> ", editorOutput.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b[2J", editorOutput.ToString(), StringComparison.Ordinal);
        Assert.Equal(shown + Environment.NewLine, plainOutput.ToString());
    }

    [Fact]
    public void The_editor_does_not_take_invisible_or_bidi_characters_into_the_line()
    {
        var output = new StringWriter();
        using var editor = Editor(output, "> ");
        foreach (var c in "a\u202eb\u200bc")
        {
            editor.Apply(Keys.Char(c));
        }

        Assert.Equal("abc", Assert.IsType<KeyOutcome.Submitted>(editor.Apply(Keys.Enter)).Line);
        Assert.DoesNotContain('\u202e', output.ToString());
    }

    [Fact]
    public async Task Lines_typed_on_the_key_source_come_out_of_ReadLineAsync_and_end_of_keys_ends_input()
    {
        var keys = new ScriptedKeys("/join lobby\r");
        using var reading = new LineEditor(new StringWriter(), keys, "> ", width: () => 80, height: () => 24);
        Assert.Equal("/join lobby", await reading.ReadLineAsync(CancellationToken.None));
        Assert.Null(await reading.ReadLineAsync(CancellationToken.None));
    }

    [Fact]
    public void History_is_kept_in_an_owner_only_file_and_read_back_by_the_next_run()
    {
        var folder = Directory.CreateTempSubdirectory("securechat-history-").FullName;
        try
        {
            var path = Path.Combine(folder, "history");
            var first = new InputLine(InputHistory.Open(path));
            first.Replace("/join dev");
            first.Apply(Keys.Enter);
            first.Replace("hello");
            first.Apply(Keys.Enter);
            first.Apply(Keys.Enter); // blank lines are not kept

            Assert.Equal(["/join dev", "hello"], File.ReadAllLines(path));
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            }

            var next = new InputLine(InputHistory.Open(path));
            next.Apply(Keys.Up);
            Assert.Equal("hello", next.Text);
            next.Apply(Keys.Up);
            Assert.Equal("/join dev", next.Text);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void The_history_file_stays_bounded()
    {
        var folder = Directory.CreateTempSubdirectory("securechat-history-").FullName;
        try
        {
            var path = Path.Combine(folder, "history");
            var history = InputHistory.Open(path);
            for (var i = 0; i < (InputHistory.MaxEntries * 2) + 10; i++)
            {
                history.Add("line " + i);
            }

            Assert.InRange(File.ReadAllLines(path).Length, InputHistory.MaxEntries, InputHistory.MaxEntries * 2);
            Assert.Equal(InputHistory.MaxEntries, InputHistory.Open(path).Count);
            Assert.Equal("line " + ((InputHistory.MaxEntries * 2) + 9), InputHistory.Open(path).FromNewest(0));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static LineEditor Editor(StringWriter output, string prompt, int width = 80, int height = 24) =>
        new(output, new ScriptedKeys(), prompt, width: () => width, height: () => height);

    private sealed class ScriptedKeys(string script = "") : IKeySource
    {
        private readonly Queue<char> _keys = new(script);

        public ConsoleKeyInfo? ReadKey() => _keys.TryDequeue(out var c) ? c == '\r' ? Keys.Enter : Keys.Char(c) : null;
    }
}
