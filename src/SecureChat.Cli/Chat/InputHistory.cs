using System.Text;

namespace SecureChat.Cli.Chat;

/// <summary>
/// The lines the user entered, newest last, for Up/Down. With a file it is kept per identity across runs: the file
/// is readable by its owner only (it holds what was typed, messages included) and holds at most
/// <see cref="MaxEntries"/> lines (older ones are dropped when it is rewritten).
/// </summary>
internal sealed class InputHistory
{
    public const int MaxEntries = 500;

    private readonly List<string> _entries = [];
    private readonly string? _path;
    private int _appendedSinceLoad;

    public InputHistory()
    {
    }

    private InputHistory(string path, IEnumerable<string> entries)
    {
        _path = path;
        foreach (var entry in entries)
        {
            Remember(entry);
        }
    }

    public int Count => _entries.Count;

    /// <summary>The entry <paramref name="stepsBack"/> from the newest (0 is the newest).</summary>
    public string FromNewest(int stepsBack) => _entries[_entries.Count - 1 - stepsBack];

    /// <summary>The history kept in <paramref name="path"/> (created on the first entry). A file that cannot be read starts empty.</summary>
    public static InputHistory Open(string path)
    {
        string[] lines;
        try
        {
            lines = File.Exists(path) ? File.ReadAllLines(path, Encoding.UTF8) : [];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            lines = [];
        }

        return new InputHistory(path, lines.Where(IsKeepable));
    }

    /// <summary>Adds an entered line (not blank lines, nor a repeat of the newest entry) and appends it to the file.</summary>
    public void Add(string line)
    {
        if (!IsKeepable(line) || (_entries.Count > 0 && _entries[^1] == line))
        {
            return;
        }

        Remember(line);
        if (_path is null)
        {
            return;
        }

        try
        {
            if (++_appendedSinceLoad > MaxEntries)
            {
                // Rewritten now and then so the file stays bounded.
                _appendedSinceLoad = 0;
                Write(FileMode.Create, _entries);
            }
            else
            {
                Write(FileMode.Append, [line]);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // History is a convenience: a full disk or a read-only home does not stop the chat.
        }
    }

    private void Write(FileMode mode, IEnumerable<string> lines)
    {
        var options = new FileStreamOptions { Mode = mode, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(_path!, options);
        if (!OperatingSystem.IsWindows())
        {
            // A file made by an older version or by hand is narrowed too.
            File.SetUnixFileMode(stream.SafeFileHandle, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        using var writer = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        foreach (var line in lines)
        {
            writer.Write(line);
            writer.Write('\n');
        }
    }

    private void Remember(string line)
    {
        _entries.Add(line);
        if (_entries.Count > MaxEntries)
        {
            _entries.RemoveRange(0, _entries.Count - MaxEntries);
        }
    }

    private static bool IsKeepable(string line) =>
        !string.IsNullOrWhiteSpace(line) && line.Length <= InputLine.MaxLineLength && !line.Any(c => c is '\n' or '\r');
}
