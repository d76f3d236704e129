using System.Globalization;
using System.Text;

namespace SecureChat.Cli.Chat;

/// <summary>
/// What may reach the terminal. Every line the CLI prints passes through <see cref="Neutralise"/> (the chat
/// terminals call it on each line; the simulator's report on each problem), because parts of nearly every line
/// came from someone else: chat text, ids, server reasons. A character that could move the cursor, end the
/// line, reorder what follows (bidi overrides and isolates), or hide (zero-width and invisible characters,
/// tag characters, fillers) is replaced by a visible escape such as <c>\u202e</c>, so a line can never pass
/// for another line or hide part of itself.
/// </summary>
internal static class TerminalText
{
    /// <summary>
    /// <paramref name="text"/> with every risky character as <c>\uXXXX</c> (<c>\UXXXXXXXX</c> above the BMP).
    /// A backslash is left alone, so neutralising twice changes nothing more.
    /// </summary>
    public static string Neutralise(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!NeedsEscaping(text))
        {
            return text;
        }

        var builder = new StringBuilder(text.Length + 16);
        var afterVisible = false;
        for (var i = 0; i < text.Length; i++)
        {
            int codePoint = text[i];
            var width = 1;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                codePoint = char.ConvertToUtf32(text[i], text[i + 1]);
                width = 2;
            }

            if (IsRisky(codePoint, afterVisible))
            {
                builder.Append(codePoint > 0xFFFF
                    ? string.Create(CultureInfo.InvariantCulture, $"\\U{codePoint:x8}")
                    : string.Create(CultureInfo.InvariantCulture, $"\\u{codePoint:x4}"));
                afterVisible = false;
            }
            else
            {
                builder.Append(text, i, width);
                afterVisible = !IsVariationSelector(codePoint);
            }

            i += width - 1;
        }

        return builder.ToString();
    }

    /// <summary>True when <see cref="Neutralise"/> would keep <paramref name="codePoint"/> as typed (for the line editor).</summary>
    public static bool IsSafeToType(int codePoint) => codePoint is not (>= 0xD800 and <= 0xDFFF) && !IsRisky(codePoint, afterVisible: true);

    private static bool NeedsEscaping(string text)
    {
        foreach (var c in text)
        {
            // Fast path: printable ASCII is always kept.
            if (c is < ' ' or > '~')
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsRisky(int codePoint, bool afterVisible)
    {
        if (IsVariationSelector(codePoint))
        {
            // One emoji presentation selector right after a visible character is how emoji are written (e.g. U+2764 U+FE0F);
            // anything else (runs of selectors, the supplementary ones) can carry hidden data.
            return !(codePoint is 0xFE0E or 0xFE0F && afterVisible);
        }

        if (codePoint is >= 0xD800 and <= 0xDFFF)
        {
            return true; // a lone surrogate half
        }

        switch (CharUnicodeInfo.GetUnicodeCategory(codePoint))
        {
            case UnicodeCategory.Control: // C0, DEL, C1 (NEL included)
            case UnicodeCategory.Format: // bidi marks, overrides and isolates, zero-width characters, word joiner, BOM, tags, ...
            case UnicodeCategory.LineSeparator:
            case UnicodeCategory.ParagraphSeparator:
                return true;
        }

        return codePoint is
            0x034F or // combining grapheme joiner
            0x115F or 0x1160 or 0x3164 or 0xFFA0 or // Hangul fillers: blank but not whitespace
            0x17B4 or 0x17B5 or // Khmer inherent vowels: invisible
            0x180E or // Mongolian vowel separator (a format character in older Unicode)
            (>= 0x180B and <= 0x180F) or // Mongolian free variation selectors
            (>= 0x2060 and <= 0x206F) or // word joiner, invisible operators, deprecated format characters
            0xFEFF or // zero-width no-break space
            (>= 0xE0000 and <= 0xE007F); // tag characters
    }

    private static bool IsVariationSelector(int codePoint) => codePoint is (>= 0xFE00 and <= 0xFE0F) or (>= 0xE0100 and <= 0xE01EF);
}
