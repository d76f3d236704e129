using System.Diagnostics;
using System.Threading.Channels;

namespace SecureChat.Client.Tests.Support;

/// <summary>The built <c>securechat</c> program run as a child process with redirected standard streams.</summary>
internal sealed class CliProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly List<string> _seen = [];
    private readonly Task _stdout;
    private readonly Task _stderr;

    private CliProcess(Process process)
    {
        _process = process;
        _stdout = PumpAsync(process.StandardOutput, "");
        _stderr = PumpAsync(process.StandardError, "stderr: ");
    }

    /// <summary>What the test programs' local stores are encrypted with.</summary>
    public const string TestPassphrase = "correct horse battery staple";

    public static CliProcess Start(params string[] args) => Start(environment: null, args);

    /// <summary>Starts the program with <paramref name="environment"/> changes (a null value removes a variable).</summary>
    public static CliProcess Start(IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "securechat.dll");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";

        // The local store's passphrase (there is no terminal to ask on); a test that wants none removes it.
        info.Environment["SECURECHAT_PASSPHRASE"] = TestPassphrase;
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }

        return new CliProcess(Process.Start(info) ?? throw new InvalidOperationException("could not start dotnet"));
    }

    /// <summary>Every output line read so far by <see cref="WaitForLineAsync"/>, in order.</summary>
    public IReadOnlyList<string> Seen => _seen;

    public async Task SendLineAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Reads output lines until one contains <paramref name="text"/>.</summary>
    public Task<string> WaitForLineAsync(string text, TimeSpan? timeout = null) =>
        WaitForLineAsync(line => line.Contains(text, StringComparison.Ordinal), $"'{text}'", timeout);

    /// <summary>Reads output lines until <paramref name="match"/> accepts one; <paramref name="what"/> names it in the timeout's message.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, string what, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(match);
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            while (true)
            {
                var line = await _lines.Reader.ReadAsync(cts.Token);
                _seen.Add(line);
                if (match(line))
                {
                    return line;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
            throw new TimeoutException($"no output line with {what}; saw:{Environment.NewLine}{string.Join(Environment.NewLine, _seen)}");
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        await Task.WhenAll(_stdout, _stderr);
        _process.Dispose();
    }

    private async Task PumpAsync(StreamReader reader, string prefix)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            await _lines.Writer.WriteAsync(prefix + line);
        }
    }
}
