using System.Globalization;
using Akka.Configuration;

namespace SecureChat.Server.Configuration;

/// <summary>
/// Whether a HOCON text parses. Akka's parser takes a file that ends inside an object or a list (a missing
/// <c>}</c> or <c>]</c>) as if it were closed, so the brackets are counted here too, outside strings and comments.
/// </summary>
public static class HoconCheck
{
    /// <summary>What is wrong with <paramref name="text"/>, or null when it parses.</summary>
    public static string? Problem(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (Unbalanced(text) is { } bracket)
        {
            return bracket;
        }

        try
        {
            _ = ConfigurationFactory.ParseString(text);
            return null;
        }
#pragma warning disable CA1031 // the parser throws what it likes; any failure means the file is refused
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return ex.Message.ReplaceLineEndings(" ");
        }
    }

    private static string? Unbalanced(string text)
    {
        var open = new Stack<(char Bracket, int Line)>();
        var line = 1;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\n')
            {
                line++;
            }
            else if (c == '#' || c == '/' && i + 1 < text.Length && text[i + 1] == '/')
            {
                while (i + 1 < text.Length && text[i + 1] != '\n')
                {
                    i++;
                }
            }
            else if (c == '"')
            {
                var triple = string.CompareOrdinal(text, i, "\"\"\"", 0, 3) == 0;
                var end = triple ? text.IndexOf("\"\"\"", i + 3, StringComparison.Ordinal) : ClosingQuote(text, i + 1);
                if (end < 0)
                {
                    return string.Create(CultureInfo.InvariantCulture, $"the string opened on line {line} is never closed");
                }

                line += text.AsSpan(i, end - i).Count('\n');
                i = triple ? end + 2 : end;
            }
            else if (c is '{' or '[')
            {
                open.Push((c, line));
            }
            else if (c is '}' or ']')
            {
                var expected = c == '}' ? '{' : '[';
                if (open.Count == 0 || open.Pop().Bracket != expected)
                {
                    return string.Create(CultureInfo.InvariantCulture, $"'{c}' on line {line} closes nothing that is open");
                }
            }
        }

        return open.Count == 0
            ? null
            : string.Create(CultureInfo.InvariantCulture, $"the '{open.Peek().Bracket}' opened on line {open.Peek().Line} is never closed");
    }

    private static int ClosingQuote(string text, int from)
    {
        for (var i = from; i < text.Length && text[i] != '\n'; i++)
        {
            if (text[i] == '\\')
            {
                i++;
            }
            else if (text[i] == '"')
            {
                return i;
            }
        }

        return -1;
    }
}
