using SecureChat.Cli.Chat;
using SecureChat.Client.Session;

namespace SecureChat.Client.Tests.Cli;

public sealed class LineEditorTests
{
    private const string ClearLine = "\r\u001b[2K";

    [Fact]
    public void A_line_printed_while_typing_goes_above_and_the_typed_text_is_redrawn()
    {
        var output = new StringWriter();
        using var editor = new LineEditor(output, new ScriptedKeys(), "lobby> ");
        editor.Apply(Key('h'));
        editor.Apply(Key('i'));
        output.GetStringBuilder().Clear();

        editor.WriteLine("[lobby] bob: hello");

        Assert.Equal(ClearLine + "[lobby] bob: hello\nlobby> hi", output.ToString());
    }

    [Fact]
    public void Both_terminals_print_hostile_text_as_one_visible_line()
    {
        // What a server reason or a chat line may hold: a fake second line, a bidi override, a zero-width space, an escape sequence.
        const string hostile = "x\n[lobby] 12:00 bob: hi \u202eevil\u200b\u001b[2J";
        const string shown = "x\\u000a[lobby] 12:00 bob: hi \\u202eevil\\u200b\\u001b[2J";
        var editorOutput = new StringWriter();
        using var editor = new LineEditor(editorOutput, new ScriptedKeys(), "lobby> ");
        var plainOutput = new StringWriter();
        using var plain = new PlainTerminal(TextReader.Null, plainOutput);

        editor.WriteLine(hostile);
        plain.WriteLine(hostile);

        Assert.Equal(ClearLine + shown + "\nlobby> ", editorOutput.ToString());
        Assert.Equal(shown + Environment.NewLine, plainOutput.ToString());
    }

    [Fact]
    public void The_editor_does_not_take_invisible_or_bidi_characters_into_the_line()
    {
        var output = new StringWriter();
        using var editor = new LineEditor(output, new ScriptedKeys(), "> ");
        foreach (var c in "a\u202eb\u200bc")
        {
            editor.Apply(Key(c));
        }

        Assert.Equal("abc", editor.Apply(new ConsoleKeyInfo('\r', ConsoleKey.Enter, false, false, false)));
        Assert.DoesNotContain('\u202e', output.ToString());
    }

    [Fact]
    public void Enter_returns_the_line_and_backspace_edits_it()
    {
        using var editor = new LineEditor(new StringWriter(), new ScriptedKeys(), "> ");
        foreach (var c in "helo")
        {
            Assert.Null(editor.Apply(Key(c)));
        }

        editor.Apply(new ConsoleKeyInfo('\b', ConsoleKey.Backspace, false, false, false));
        editor.Apply(Key('l'));
        editor.Apply(Key('o'));

        Assert.Equal("hello", editor.Apply(new ConsoleKeyInfo('\r', ConsoleKey.Enter, false, false, false)));
        Assert.Equal(string.Empty, editor.Apply(new ConsoleKeyInfo('\r', ConsoleKey.Enter, false, false, false)));
    }

    [Fact]
    public async Task Lines_typed_on_the_key_source_come_out_of_ReadLineAsync_and_end_of_keys_ends_input()
    {
        var keys = new ScriptedKeys("/join lobby\r");
        using var editor = new LineEditor(new StringWriter(), keys, "> ");

        Assert.Equal("/join lobby", await editor.ReadLineAsync(CancellationToken.None));
        Assert.Null(await editor.ReadLineAsync(CancellationToken.None));
    }

    private static ConsoleKeyInfo Key(char c) => new(c, ConsoleKey.A, false, false, false);

    private sealed class ScriptedKeys(string script = "") : IKeySource
    {
        private readonly Queue<char> _keys = new(script);

        public ConsoleKeyInfo? ReadKey()
        {
            if (!_keys.TryDequeue(out var c))
            {
                return null;
            }

            return c == '\r' ? new ConsoleKeyInfo('\r', ConsoleKey.Enter, false, false, false) : Key(c);
        }
    }
}
