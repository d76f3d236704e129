using SecureChat.Cli.Chat;

namespace SecureChat.Client.Tests.Cli;

/// <summary>The line editor's state machine: keys in, text and cursor out.</summary>
public sealed class InputLineTests
{
    [Fact]
    public void Arrows_move_the_cursor_and_typing_inserts_there()
    {
        var line = new InputLine();
        Type(line, "abc");
        line.Apply(Keys.Left);
        line.Apply(Keys.Left);
        Type(line, "Z");

        Assert.Equal(("aZbc", 2), (line.Text, line.Cursor));
        line.Apply(Keys.Right);
        line.Apply(Keys.Right);
        line.Apply(Keys.Right);
        Assert.Equal(4, line.Cursor);
    }

    [Fact]
    public void Home_End_and_ctrl_A_E_jump_to_the_ends()
    {
        var line = new InputLine();
        Type(line, "hello");
        line.Apply(Keys.Home);
        Type(line, ">");
        Assert.Equal((">hello", 1), (line.Text, line.Cursor));
        line.Apply(Keys.End);
        Assert.Equal(6, line.Cursor);
        line.Apply(Keys.Ctrl('A'));
        Assert.Equal(0, line.Cursor);
        line.Apply(Keys.Ctrl('E'));
        Assert.Equal(6, line.Cursor);
        line.Apply(Keys.Ctrl('B'));
        Assert.Equal(5, line.Cursor);
        line.Apply(Keys.Ctrl('F'));
        Assert.Equal(6, line.Cursor);
    }

    [Fact]
    public void Ctrl_U_K_W_kill_and_ctrl_Y_yanks_back()
    {
        var line = new InputLine();
        Type(line, "one two  three");
        line.Apply(Keys.Ctrl('W'));
        Assert.Equal("one two  ", line.Text);
        line.Apply(Keys.Ctrl('W'));
        Assert.Equal("one ", line.Text);
        line.Apply(Keys.Ctrl('Y'));
        Assert.Equal("one two  ", line.Text);

        line.Apply(Keys.Ctrl('A'));
        line.Apply(Keys.Right);
        line.Apply(Keys.Ctrl('K'));
        Assert.Equal(("o", 1), (line.Text, line.Cursor));

        Type(line, "ver");
        line.Apply(Keys.Ctrl('U'));
        Assert.Equal((string.Empty, 0), (line.Text, line.Cursor));
        line.Apply(Keys.Ctrl('Y'));
        Assert.Equal("over", line.Text);
    }

    [Fact]
    public void A_ctrl_key_that_arrives_only_as_its_control_character_works_too()
    {
        var line = new InputLine();
        Type(line, "abc def");
        line.Apply(new ConsoleKeyInfo('\u0017', 0, false, false, false)); // Ctrl-W as the terminal sends it
        Assert.Equal("abc ", line.Text);
        line.Apply(new ConsoleKeyInfo('\u0001', 0, false, false, false)); // Ctrl-A
        Assert.Equal(0, line.Cursor);
    }

    [Fact]
    public void Backspace_and_delete_remove_around_the_cursor_and_words_move_by_alt_and_ctrl_arrows()
    {
        var line = new InputLine();
        Type(line, "hello big world");
        line.Apply(Keys.Ctrl(ConsoleKey.LeftArrow));
        Assert.Equal(10, line.Cursor);
        line.Apply(Keys.Alt(ConsoleKey.B));
        Assert.Equal(6, line.Cursor);
        line.Apply(Keys.Backspace);
        line.Apply(Keys.Delete);
        Assert.Equal("helloig world", line.Text);
        line.Apply(Keys.Alt(ConsoleKey.F));
        Assert.Equal(7, line.Cursor);
        line.Apply(Keys.Home);
        Assert.IsType<KeyOutcome.Ignored>(line.Apply(Keys.Backspace));
    }

    [Fact]
    public void Enter_submits_the_whole_line_wherever_the_cursor_is_and_empties_it()
    {
        var line = new InputLine();
        Type(line, "hi there");
        line.Apply(Keys.Home);

        Assert.Equal("hi there", Assert.IsType<KeyOutcome.Submitted>(line.Apply(Keys.Enter)).Line);
        Assert.Equal((string.Empty, 0), (line.Text, line.Cursor));
    }

    [Fact]
    public void Ctrl_D_ends_input_only_on_an_empty_line()
    {
        var line = new InputLine();
        Type(line, "ab");
        line.Apply(Keys.Home);
        Assert.IsType<KeyOutcome.Edited>(line.Apply(Keys.Ctrl('D')));
        Assert.Equal("b", line.Text);
        line.Apply(Keys.Ctrl('D'));
        Assert.IsType<KeyOutcome.EndOfInput>(line.Apply(Keys.Ctrl('D')));
    }

    [Fact]
    public void Up_and_down_walk_the_history_and_give_back_the_draft()
    {
        var line = new InputLine();
        Submit(line, "first");
        Submit(line, "second");
        Submit(line, "second"); // a repeat is kept once
        Type(line, "draft");

        line.Apply(Keys.Up);
        Assert.Equal(("second", 6), (line.Text, line.Cursor));
        line.Apply(Keys.Up);
        Assert.Equal("first", line.Text);
        Assert.IsType<KeyOutcome.Ignored>(line.Apply(Keys.Up));
        line.Apply(Keys.Down);
        Assert.Equal("second", line.Text);
        line.Apply(Keys.Down);
        Assert.Equal("draft", line.Text);
        Assert.IsType<KeyOutcome.Ignored>(line.Apply(Keys.Down));

        line.Apply(Keys.Ctrl('P'));
        Type(line, "!");
        Assert.Equal("second!", Assert.IsType<KeyOutcome.Submitted>(line.Apply(Keys.Enter)).Line);
        line.Apply(Keys.Up);
        Assert.Equal("second!", line.Text);
    }

    [Fact]
    public void Invisible_and_bidi_characters_are_not_taken_and_an_emoji_is_one_character()
    {
        var line = new InputLine();
        Type(line, "a\u202eb\u200bc\u001b");
        Assert.Equal("abc", line.Text);

        Type(line, "\ud83d\ude00e\u0301");
        Assert.Equal(["a", "b", "c", "\ud83d\ude00", "e\u0301"], line.Cells);
        line.Apply(Keys.Left);
        line.Apply(Keys.Backspace);
        Assert.Equal("abce\u0301", line.Text);
    }

    [Fact]
    public void The_line_is_bounded()
    {
        var line = new InputLine();
        line.Replace(new string('x', InputLine.MaxLineLength));
        Type(line, "y");
        Assert.Equal(InputLine.MaxLineLength, line.Text.Length);
    }

    [Fact]
    public void Tab_completes_a_unique_word_extends_a_common_prefix_and_lists_on_the_second_tab()
    {
        var line = new InputLine(completer: new FixedCompleter(["/join", "/invite", "/who", "/whois"]));
        Type(line, "/jo");
        line.Apply(Keys.Tab);
        Assert.Equal("/join ", line.Text);

        line.Replace("/w");
        Assert.IsType<KeyOutcome.Edited>(line.Apply(Keys.Tab));
        Assert.Equal("/who", line.Text);
        Assert.Equal(["/who", "/whois"], Assert.IsType<KeyOutcome.ShowCandidates>(line.Apply(Keys.Tab)).Candidates);

        line.Apply(Keys.End); // any other key ends the Tab sequence: the first Tab again only rings
        Assert.IsType<KeyOutcome.Ignored>(line.Apply(Keys.Tab));
        Assert.IsType<KeyOutcome.ShowCandidates>(line.Apply(Keys.Tab));

        line.Replace("/x");
        Assert.IsType<KeyOutcome.Ignored>(line.Apply(Keys.Tab));
        Assert.Equal("/x", line.Text);
    }

    [Fact]
    public void Tab_in_the_middle_of_a_line_completes_the_word_before_the_cursor()
    {
        var line = new InputLine(completer: new FixedCompleter(["carol"]));
        Type(line, "hi ca how are you");
        for (var i = 0; i < " how are you".Length; i++)
        {
            line.Apply(Keys.Left);
        }

        line.Apply(Keys.Tab);
        Assert.Equal(("hi carol how are you", 8), (line.Text, line.Cursor));
    }

    [Fact]
    public void The_chat_completer_offers_commands_rooms_and_members_by_position()
    {
        var completer = new ChatCompleter(() => ["lobby", "dev"], () => ["bob", "carol"]);

        Assert.Contains("/kick", completer.Complete(string.Empty, "/k"));
        Assert.Equal(["dev", "lobby"], completer.Complete("/join ", string.Empty));
        Assert.Equal(["bob", "carol"], completer.Complete("/kick ", "b"));
        Assert.Equal(["bob:", "carol:"], completer.Complete(string.Empty, "c"));
        Assert.Equal(["bob", "carol"], completer.Complete("hello ", "c"));
        Assert.Empty(completer.Complete("/code ", string.Empty));

        var line = new InputLine(completer: completer);
        Type(line, "ca");
        line.Apply(Keys.Tab);
        Assert.Equal("carol: ", line.Text);
    }

    private static void Type(InputLine line, string text)
    {
        foreach (var c in text)
        {
            line.Apply(Keys.Char(c));
        }
    }

    private static void Submit(InputLine line, string text)
    {
        line.Replace(text);
        Assert.IsType<KeyOutcome.Submitted>(line.Apply(Keys.Enter));
    }

    private sealed class FixedCompleter(string[] words) : ICompleter
    {
        public IReadOnlyList<string> Complete(string before, string prefix) => words;
    }
}

/// <summary>Keys as Console.ReadKey reports them.</summary>
internal static class Keys
{
    public static ConsoleKeyInfo Enter => new('\r', ConsoleKey.Enter, false, false, false);

    public static ConsoleKeyInfo Tab => new('\t', ConsoleKey.Tab, false, false, false);

    public static ConsoleKeyInfo Backspace => new('\u007f', ConsoleKey.Backspace, false, false, false);

    public static ConsoleKeyInfo Delete => new('\0', ConsoleKey.Delete, false, false, false);

    public static ConsoleKeyInfo Left => new('\0', ConsoleKey.LeftArrow, false, false, false);

    public static ConsoleKeyInfo Right => new('\0', ConsoleKey.RightArrow, false, false, false);

    public static ConsoleKeyInfo Up => new('\0', ConsoleKey.UpArrow, false, false, false);

    public static ConsoleKeyInfo Down => new('\0', ConsoleKey.DownArrow, false, false, false);

    public static ConsoleKeyInfo Home => new('\0', ConsoleKey.Home, false, false, false);

    public static ConsoleKeyInfo End => new('\0', ConsoleKey.End, false, false, false);

    public static ConsoleKeyInfo Char(char c) => new(c, c is >= 'a' and <= 'z' ? ConsoleKey.A + (c - 'a') : 0, false, false, false);

    public static ConsoleKeyInfo Ctrl(char letter) => new((char)(letter - 'A' + 1), ConsoleKey.A + (letter - 'A'), false, false, true);

    public static ConsoleKeyInfo Ctrl(ConsoleKey key) => new('\0', key, false, false, true);

    public static ConsoleKeyInfo Alt(ConsoleKey key) => new('\0', key, false, true, false);
}
