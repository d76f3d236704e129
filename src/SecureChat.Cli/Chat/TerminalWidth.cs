using System.Globalization;
using System.Text;

namespace SecureChat.Cli.Chat;

/// <summary>
/// How many terminal columns text takes: 2 for wide East Asian characters and emoji, 0 for combining marks, 1 for the
/// rest. An estimate (terminals differ on a few emoji), good enough to keep the editor's rows from wrapping.
/// </summary>
internal static class TerminalWidth
{
    public static int Of(string text)
    {
        var width = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var codePoint = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])
                ? char.ConvertToUtf32(text[i], text[++i])
                : text[i];
            width += Of(codePoint);
        }

        return width;
    }

    /// <summary><paramref name="text"/> cut to at most <paramref name="columns"/> columns (with "…" when cut).</summary>
    public static string Fit(string text, int columns)
    {
        if (Of(text) <= columns)
        {
            return text;
        }

        var builder = new StringBuilder();
        var used = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var pair = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]);
            var codePoint = pair ? char.ConvertToUtf32(text[i], text[i + 1]) : text[i];
            if (used + Of(codePoint) > columns - 1)
            {
                break;
            }

            builder.Append(text, i, pair ? 2 : 1);
            used += Of(codePoint);
            i += pair ? 1 : 0;
        }

        return builder.Append('…').ToString();
    }

    private static int Of(int codePoint)
    {
        switch (CharUnicodeInfo.GetUnicodeCategory(codePoint))
        {
            case UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format:
                return 0;
        }

        return codePoint is
            (>= 0x1100 and <= 0x115F) or (>= 0x2E80 and <= 0x303E) or (>= 0x3041 and <= 0x33FF) or (>= 0x3400 and <= 0x4DBF)
            or (>= 0x4E00 and <= 0x9FFF) or (>= 0xA000 and <= 0xA4CF) or (>= 0xAC00 and <= 0xD7A3) or (>= 0xF900 and <= 0xFAFF)
            or (>= 0xFE30 and <= 0xFE4F) or (>= 0xFF00 and <= 0xFF60) or (>= 0xFFE0 and <= 0xFFE6)
            or (>= 0x1F300 and <= 0x1F64F) or (>= 0x1F900 and <= 0x1F9FF) or (>= 0x1F680 and <= 0x1F6FF) or (>= 0x20000 and <= 0x3FFFD)
            ? 2
            : 1;
    }
}
