using System.Text;

namespace SecureChat.Adversarial.Tests.Plaintext;

/// <summary>
/// Every shape in which a plaintext marker could leak: UTF-8, UTF-16 (both byte orders), lowercase and
/// uppercase hex, and base64 at each of the three byte alignments (only the characters that depend on the
/// marker alone, so a marker embedded anywhere in a base64 blob is still found).
/// </summary>
public static class MarkerForms
{
    public static IReadOnlyList<(string Form, byte[] Bytes)> Of(string marker)
    {
        var utf8 = Encoding.UTF8.GetBytes(marker);
        var forms = new List<(string, byte[])>
        {
            ("utf-8", utf8),
            ("utf-16le", Encoding.Unicode.GetBytes(marker)),
            ("utf-16be", Encoding.BigEndianUnicode.GetBytes(marker)),
            ("hex", Encoding.ASCII.GetBytes(Convert.ToHexStringLower(utf8))),
            ("HEX", Encoding.ASCII.GetBytes(Convert.ToHexString(utf8))),
        };
        for (var offset = 0; utf8.Length >= 20 && offset < 3; offset++)
        {
            var shifted = new byte[offset].Concat(utf8).ToArray();
            var base64 = Convert.ToBase64String(shifted);
            var start = offset == 0 ? 0 : 4;
            forms.Add(($"base64+{offset}", Encoding.ASCII.GetBytes(base64.Substring(start, 16))));
        }

        return forms;
    }

    /// <summary>The forms of <paramref name="marker"/> found in <paramref name="haystack"/>.</summary>
    public static IReadOnlyList<string> FoundIn(ReadOnlySpan<byte> haystack, string marker)
    {
        var found = new List<string>();
        foreach (var (form, bytes) in Of(marker))
        {
            if (haystack.IndexOf(bytes) >= 0)
            {
                found.Add(form);
            }
        }

        return found;
    }

    public static IReadOnlyList<string> FoundIn(IEnumerable<string> lines, string marker)
    {
        var text = string.Join("\n", lines);
        var found = new List<string>();
        foreach (var (form, bytes) in Of(marker))
        {
            if (form.StartsWith("utf-16", StringComparison.Ordinal))
            {
                continue; // a .NET string holds the marker as itself: covered by the utf-8 form below
            }

            if (text.Contains(Encoding.ASCII.GetString(bytes), StringComparison.Ordinal) || text.Contains(marker, StringComparison.Ordinal))
            {
                found.Add(form);
            }
        }

        return found;
    }
}
