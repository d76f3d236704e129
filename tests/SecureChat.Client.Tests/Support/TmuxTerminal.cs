using System.Diagnostics;
using System.Globalization;

namespace SecureChat.Client.Tests.Support;

/// <summary>
/// The built <c>securechat</c> program in a real terminal: a detached tmux session of its own (its own server socket
/// in a temp folder), driven by send-keys and read by capture-pane, as a person at a terminal would use it.
/// </summary>
internal sealed class TmuxTerminal : IAsyncDisposable
{
    public const int Width = 120;
    public const int Height = 30;

    private readonly string _folder;
    private readonly string _socket;
    private readonly string _exitFile;

    private TmuxTerminal(string folder)
    {
        _folder = folder;
        _socket = Path.Combine(folder, "tmux.sock");
        _exitFile = Path.Combine(folder, "exit-status");
    }

    /// <summary>
    /// Starts <c>securechat ARGS</c> in a new terminal of <see cref="Width"/> x <see cref="Height"/>. A shell between tmux
    /// and the program writes the program's exit status to a file: tmux 3.3a now and then leaves an exited pane process
    /// unreaped (a zombie, the pane never marked dead), so its pane state cannot tell whether the program ended.
    /// </summary>
    public static async Task<TmuxTerminal> StartAsync(params string[] args)
    {
        var terminal = new TmuxTerminal(Directory.CreateTempSubdirectory("securechat-tmux-").FullName);
        var dll = Path.Combine(AppContext.BaseDirectory, "securechat.dll");
        await terminal.TmuxAsync(
        [
            "-f", "/dev/null", "new-session", "-d", "-s", "chat", "-x", Width.ToString(CultureInfo.InvariantCulture),
            "-y", Height.ToString(CultureInfo.InvariantCulture), "-e", "DOTNET_CLI_TELEMETRY_OPTOUT=1", "-e", "TERM=tmux-256color",
            "-e", $"EXIT_FILE={terminal._exitFile}",
            "-e", $"SECURECHAT_PASSPHRASE={CliProcess.TestPassphrase}",
            "sh", "-c", "dotnet \"$@\" && echo 0 > \"$EXIT_FILE.tmp\" || echo $? > \"$EXIT_FILE.tmp\"\nmv \"$EXIT_FILE.tmp\" \"$EXIT_FILE\"",
            "securechat", dll, .. args, ";", "set-option", "-g", "remain-on-exit", "on",
        ]);
        return terminal;
    }

    /// <summary>Keys by tmux name ("Enter", "Left", "C-a", "Home", "Tab") or literal text, in order.</summary>
    public Task SendKeysAsync(params string[] keys) => TmuxAsync(["send-keys", "-t", "chat", .. keys]);

    /// <summary>Text typed as it is (no key names).</summary>
    public Task TypeAsync(string text) => TmuxAsync(["send-keys", "-t", "chat", "-l", text]);

    /// <summary>The visible screen, one string per row (trailing spaces cut).</summary>
    public async Task<IReadOnlyList<string>> ScreenAsync()
    {
        var text = await TmuxAsync(["capture-pane", "-p", "-t", "chat"]);
        return [.. text.Split('\n').Select(row => row.TrimEnd())];
    }

    /// <summary>The cursor's column on the screen.</summary>
    public async Task<int> CursorColumnAsync() =>
        int.Parse((await TmuxAsync(["display-message", "-p", "-t", "chat", "#{cursor_x}"])).Trim(), CultureInfo.InvariantCulture);

    /// <summary>The bottom row in use: the input row (prompt and what is typed).</summary>
    public async Task<string> InputRowAsync() => (await ScreenAsync()).Last(row => row.Length > 0);

    /// <summary>The row above the input row: the status row.</summary>
    public async Task<string> StatusRowAsync()
    {
        var rows = (await ScreenAsync()).Where(row => row.Length > 0).ToList();
        return rows.Count > 1 ? rows[^2] : string.Empty;
    }

    /// <summary>Waits until a row of the screen contains <paramref name="text"/>, and returns that row.</summary>
    public async Task<string> WaitForRowAsync(string text, TimeSpan? timeout = null)
    {
        string? found = null;
        await WaitForScreenAsync(rows => (found = rows.LastOrDefault(r => r.Contains(text, StringComparison.Ordinal))) is not null,
            $"a row with '{text}'", timeout);
        return found!;
    }

    /// <summary>Waits until the input row is <paramref name="row"/> exactly.</summary>
    public Task WaitForInputRowAsync(string row, TimeSpan? timeout = null) =>
        WaitForScreenAsync(rows => rows.LastOrDefault(r => r.Length > 0) == row, $"the input row '{row}'", timeout);

    /// <summary>Reads the screen until <paramref name="condition"/> holds (a real condition of what is shown, with a deadline).</summary>
    public async Task WaitForScreenAsync(Func<IReadOnlyList<string>, bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        await PollAsync(async () => condition(await ScreenAsync()) ? true : (bool?)null, limit,
            rows => $"no {what} within {limit.TotalSeconds:0} s; the screen:{Environment.NewLine}{rows}");
    }

    /// <summary>The program's exit status once it ended (the pane is kept), or null while it runs.</summary>
    public Task<int?> ExitStatusAsync() =>
        Task.FromResult(File.Exists(_exitFile) && int.TryParse(File.ReadAllText(_exitFile).Trim(), CultureInfo.InvariantCulture, out var code)
            ? code
            : (int?)null);

    public Task<int> WaitForExitAsync(TimeSpan? timeout = null) =>
        PollAsync(ExitStatusAsync, timeout ?? TimeSpan.FromSeconds(30),
            rows => $"the program did not exit; the screen:{Environment.NewLine}{rows}");

    /// <summary>
    /// Asks <paramref name="probe"/> every 50 ms until it has an answer: tmux gives no signal when the screen or the pane
    /// changes, so this is the wait (as AwaitAssert polls). Past <paramref name="limit"/> it fails with the screen as shown.
    /// </summary>
    private async Task<T> PollAsync<T>(Func<Task<T?>> probe, TimeSpan limit, Func<string, string> failure)
        where T : struct
    {
        var deadline = Stopwatch.StartNew();
        T? answer;
        while ((answer = await probe()) is null)
        {
            if (deadline.Elapsed > limit)
            {
                throw new TimeoutException(failure(string.Join(Environment.NewLine, await ScreenAsync())));
            }

            await Task.Delay(50);
        }

        return answer.Value;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await TmuxAsync(["kill-server"]);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        Directory.Delete(_folder, recursive: true);
    }

    private async Task<string> TmuxAsync(string[] args)
    {
        var info = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-S");
        info.ArgumentList.Add(_socket);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException("could not start tmux");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("tmux is not installed (apt-get install tmux; .ci/run installs it)", ex);
        }

        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"tmux {string.Join(' ', args)} failed: {await error}");
            }

            return await output;
        }
    }
}
