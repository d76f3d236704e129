using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace SecureChat.Testing.Hosting;

/// <summary>
/// The built server (SecureChat.Server.dll next to the test binary) as a child process, its output collected: a test
/// waits for a line (<see cref="WaitForLineAsync"/>), reads the ports it bound, and stops it with a signal or kills
/// it (SIGKILL, no shutdown at all). Dispose kills it if it still runs.
/// </summary>
public sealed partial class ServerProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly Lock _gate = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Found)> _waiters = [];

    private ServerProcess(Process process, string name)
    {
        _process = process;
        Name = name;
    }

    public string Name { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public IReadOnlyList<string> Lines { get { lock (_gate) { return [.. _lines]; } } }

    /// <summary>Starts the server with <paramref name="arguments"/> in <paramref name="workingDirectory"/>.</summary>
    public static ServerProcess Start(string name, string workingDirectory, IEnumerable<string> arguments)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "SecureChat.Server.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var server = new ServerProcess(new Process { StartInfo = start }, name);
        server._process.OutputDataReceived += (_, e) => server.OnLine(e.Data);
        server._process.ErrorDataReceived += (_, e) => server.OnLine(e.Data is null ? null : "stderr: " + e.Data);
        server._process.Start();
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        return server;
    }

    /// <summary>The first line (seen before or after the call) that <paramref name="match"/> accepts; fails after <paramref name="timeout"/> or when the process ends first.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (_lines.FirstOrDefault(match) is { } line)
            {
                return line;
            }

            _waiters.Add((match, found));
        }

        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(found.Task, exited).WaitAsync(timeout).ConfigureAwait(false);
        return first == found.Task
            ? await found.Task.ConfigureAwait(false)
            : await found.Task.WaitAsync(TimeSpan.FromMilliseconds(500)).ConfigureAwait(false); // its last lines may still be on the way
    }

    /// <summary>The client port the server listens on, from its log.</summary>
    public async Task<int> ListeningPortAsync(TimeSpan timeout) =>
        PortOf(ListeningLine().Match(await WaitForLineAsync(ListeningLine().IsMatch, timeout).ConfigureAwait(false)));

    /// <summary>The port of the metrics and health endpoint (<c>--metrics</c>), from its log.</summary>
    public async Task<int> MetricsPortAsync(TimeSpan timeout) =>
        PortOf(MetricsLine().Match(await WaitForLineAsync(MetricsLine().IsMatch, timeout).ConfigureAwait(false)));

    /// <summary>The port of the node's cluster transport, from its log.</summary>
    public async Task<int> ClusterPortAsync(TimeSpan timeout) =>
        PortOf(ClusterLine().Match(await WaitForLineAsync(ClusterLine().IsMatch, timeout).ConfigureAwait(false)));

    /// <summary>Ends it at once (SIGKILL on Linux): no shutdown, no goodbye to anyone.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
    }

    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

    /// <summary>A loopback port free now, for a server that must come back on the same port after a restart (port 0 would not).</summary>
    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Kills it (if it still runs), writes its last <paramref name="lines"/> output lines to the test's output, and disposes it.</summary>
    public void KillPrintAndDispose(ITestOutputHelper output, int lines = 60)
    {
        ArgumentNullException.ThrowIfNull(output);
        Kill();
        foreach (var line in Lines.TakeLast(lines))
        {
            output.WriteLine($"{Name}: {line}");
        }

        Dispose();
    }

    /// <summary>Once it has exited: waits until its last output lines are in <see cref="Lines"/>.</summary>
    public void WaitForOutput() => _process.WaitForExit();

    public void Dispose()
    {
        try
        {
            Kill();
            _process.WaitForExit(5_000);
        }
        catch (InvalidOperationException)
        {
            // never started
        }

        _process.Dispose();
    }

    private static int PortOf(Match match) => int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        List<TaskCompletionSource<string>> found = [];
        lock (_gate)
        {
            _lines.Add(line);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(line))
                {
                    found.Add(_waiters[i].Found);
                    _waiters.RemoveAt(i);
                }
            }
        }

        found.ForEach(f => f.TrySetResult(line));
    }

    [GeneratedRegex(@"listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningLine();

    [GeneratedRegex(@"Metrics and health on http://[^ ]+:(\d+) ")]
    private static partial Regex MetricsLine();

    [GeneratedRegex(@"Cluster node akka\.tcp://[^@]+@[^:]+:(\d+) ")]
    private static partial Regex ClusterLine();
}
