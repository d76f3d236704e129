using System.Globalization;
using SecureChat.Cli.Chat;

namespace SecureChat.Client.Tests.Cli;

/// <summary>The one function every printed line passes through.</summary>
public sealed class TerminalTextTests
{
    /// <summary>Each code point that could fake, reorder or hide text on a terminal.</summary>
    public static TheoryData<int> RiskyCodePoints()
    {
        var risky = new List<int>();
        risky.AddRange(Enumerable.Range(0x00, 0x20)); // C0
        risky.Add(0x7F); // DEL
        risky.AddRange(Enumerable.Range(0x80, 0x20)); // C1
        risky.AddRange(Enumerable.Range(0x202A, 5)); // LRE RLE PDF LRO RLO
        risky.AddRange(Enumerable.Range(0x2066, 4)); // LRI RLI FSI PDI
        risky.AddRange([0x200E, 0x200F, 0x061C]); // LRM RLM ALM
        risky.AddRange(Enumerable.Range(0x200B, 3)); // ZWSP ZWNJ ZWJ
        risky.AddRange(Enumerable.Range(0x2060, 5)); // word joiner, invisible operators
        risky.AddRange([0xFEFF, 0x180E, 0x115F, 0x1160, 0x3164, 0xFFA0, 0x00AD, 0x034F, 0x2028, 0x2029]);
        risky.AddRange([0xE0001, 0xE0020, 0xE0041, 0xE007F]); // tag characters
        risky.AddRange([0xFE00, 0xFE0D, 0xE0100, 0xE01EF]); // variation selectors that are not the emoji ones
        return [.. risky];
    }

    [Theory]
    [MemberData(nameof(RiskyCodePoints))]
    public void A_risky_character_becomes_a_visible_escape(int codePoint)
    {
        var text = "a" + char.ConvertFromUtf32(codePoint) + "b";

        var shown = TerminalText.Neutralise(text);

        var escape = codePoint > 0xFFFF
            ? "\\U" + codePoint.ToString("x8", CultureInfo.InvariantCulture)
            : "\\u" + codePoint.ToString("x4", CultureInfo.InvariantCulture);
        Assert.Equal("a" + escape + "b", shown);
        Assert.False(TerminalText.IsSafeToType(codePoint));
    }

    [Theory]
    [InlineData("plain ascii, with \\ and \"quotes\"")]
    [InlineData("שלום עולם")] // Hebrew letters: right-to-left text itself is fine, only the controls are not
    [InlineData("مرحبا")]
    [InlineData("日本語のテキスト")]
    [InlineData("café naïve Ærøskøbing")]
    [InlineData("love \u2764\uFE0F and a text-style \u263A\uFE0E")] // one emoji presentation selector after its character
    [InlineData("\U0001F600 \U0001F44D\U0001F3FD")] // astral emoji with a skin tone modifier
    public void Ordinary_text_in_any_script_is_kept_as_it_is(string text) => Assert.Equal(text, TerminalText.Neutralise(text));

    [Fact]
    public void A_run_of_variation_selectors_that_could_smuggle_data_is_escaped()
    {
        Assert.Equal("\u2764\uFE0F\\ufe0f\\ufe0e", TerminalText.Neutralise("\u2764\uFE0F\uFE0F\uFE0E"));
        Assert.Equal("\\ufe0f", TerminalText.Neutralise("\uFE0F"));
    }

    [Fact]
    public void Neutralising_twice_changes_nothing_more_and_a_lone_surrogate_is_escaped()
    {
        var once = TerminalText.Neutralise("x\u202e\n\uD800y");

        Assert.Equal("x\\u202e\\u000a\\ud800y", once);
        Assert.Equal(once, TerminalText.Neutralise(once));
    }
}
