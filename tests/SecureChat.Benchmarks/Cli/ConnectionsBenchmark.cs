using System.Collections.Concurrent;
using System.Diagnostics;
using HdrHistogram;
using SecureChat.Benchmarks.Processes;
using SecureChat.Benchmarks.Reporting;
using SecureChat.Benchmarks.Targets;

namespace SecureChat.Benchmarks.Cli;

/// <param name="HoldSeconds">How long the connections stay open after the last greeting before the server's memory is
/// read: 1 s by default, longer to look at the server with a profiler (dotnet-gcdump, /proc/PID/smaps).</param>
internal sealed record ConnectionSettings(IReadOnlyList<string> Targets, int Count, int Parallel, bool InProcess = false, double HoldSeconds = 1);

/// <summary>What holding many idle authenticated connections costs a relay, and how fast it accepts them.</summary>
internal sealed record ConnectionResult
{
    public required string Target { get; init; }

    public required int Requested { get; init; }

    public required int Connected { get; init; }

    /// <summary>Wall time from the first connect to the last completed greeting.</summary>
    public required double Seconds { get; init; }

    public required double P50Millis { get; init; }

    public required double P99Millis { get; init; }

    public long? ServerRssBeforeBytes { get; init; }

    public long? ServerRssAfterBytes { get; init; }

    /// <summary>(RSS with the connections open − RSS before) / connections; includes garbage not yet collected.</summary>
    public double? BytesPerConnection { get; init; }

    /// <summary>Why fewer than requested connected (the first error), or null.</summary>
    public string? StoppedBy { get; init; }

    /// <summary>
    /// Server CPU time (user + system) from before the first connect until the last greeting, per connection: the
    /// cost of an accept, less disturbed than the accept rate by what else the machine runs.
    /// </summary>
    public double? ServerCpuMillisPerConnection { get; init; }

    /// <summary>Connections the relay dropped while they were being held.</summary>
    public int Lost { get; init; }
}

internal static class ConnectionsBenchmark
{
    public static async Task RunAsync(ConnectionSettings settings, ResultsReport report, TextWriter progress, CancellationToken cancellationToken)
    {
        using var certificates = new BenchCertificates();
        var run = Guid.NewGuid().ToString("N")[..6];
        var ids = Enumerable.Range(0, settings.Count).Select(i => $"idle{run}-{i}").ToArray();

        // Certificates are issued before anything is timed: that is the CA's cost, not the relay's.
        progress.WriteLine($"connections: issuing {ids.Length} client certificates");
        Parallel.ForEach(ids, id => certificates.Client(id));

        // The end-to-end variant holds connections exactly like "securechat"; measuring it twice adds nothing.
        foreach (var name in settings.Targets.Where(t => !t.EndsWith("-e2e", StringComparison.Ordinal)))
        {
            try
            {
                report.Connections.Add(await MeasureAsync(name, ids, settings, certificates, report, progress, cancellationToken));
            }
            catch (TargetUnavailableException ex)
            {
                progress.WriteLine($"{name}: unavailable: {ex.Message}");
                report.Notes.Add($"{name}: connections not measured: {ex.Message}");
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                progress.WriteLine($"{name}: connections failed: {ex.Message}");
                report.Notes.Add($"{name} connections: failed: {ex.GetType().Name}: {ex.Message.Split('\n')[0]}");
            }
        }
    }

    private static async Task<ConnectionResult> MeasureAsync(string name, string[] ids, ConnectionSettings settings, BenchCertificates certificates,
        ResultsReport report, TextWriter progress, CancellationToken cancellationToken)
    {
        await using var target = TargetFactory.Create(name, certificates, serverCpu: null, progress, settings.InProcess);
        await target.StartAsync(cancellationToken);
        if (!report.Targets.Contains(target.Description))
        {
            report.Targets.Add(target.Description);
        }

        var before = target.ServerProcessId is { } pid ? ProcessStats.Read(pid) : null;
        var open = new ConcurrentBag<IAsyncDisposable>();
        var times = new LongConcurrentHistogram(1, 600_000_000, 3);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var gate = new SemaphoreSlim(settings.Parallel);
        string? stoppedBy = null;
        var lost = 0;
        var holding = true; // losses count only until we start closing the connections ourselves
        var started = Stopwatch.GetTimestamp();
        progress.WriteLine($"{name}: opening {ids.Length} connections, {settings.Parallel} at a time");
        var attempts = ids.Select(async id =>
        {
            try
            {
                await gate.WaitAsync(stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                var begin = Stopwatch.GetTimestamp();
                open.Add(await target.ConnectIdleAsync(id, _ =>
                {
                    if (Volatile.Read(ref holding))
                    {
                        Interlocked.Increment(ref lost);
                    }
                }, stop.Token));
                times.RecordValue(Math.Max(1, (long)Stopwatch.GetElapsedTime(begin).TotalMicroseconds));
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // The first failure names the limit; later ones are its consequences.
                Interlocked.CompareExchange(ref stoppedBy, $"{ex.GetType().Name}: {ex.Message.Split('\n')[0]}", null);
                await stop.CancelAsync();
            }
            finally
            {
                gate.Release();
            }
        }).ToList();
        await Task.WhenAll(attempts);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var accepted = target.ServerProcessId is { } cpuPid ? ProcessStats.Read(cpuPid) : null;

        // Let the relay finish the work of the last greetings before its memory is read.
        if (settings.HoldSeconds > 1)
        {
            progress.WriteLine($"{name}: holding the connections for {settings.HoldSeconds:0} s (server pid {target.ServerProcessId})");
        }

        await Task.Delay(TimeSpan.FromSeconds(settings.HoldSeconds), cancellationToken);
        var after = target.ServerProcessId is { } pid2 ? ProcessStats.Read(pid2) : null;
        var connected = open.Count;
        Volatile.Write(ref holding, false);
        progress.WriteLine($"{name}: {connected}/{ids.Length} connected in {seconds:0.0} s{(stoppedBy is null ? "" : $"; stopped by {stoppedBy}")}");
        await Parallel.ForEachAsync(open, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (connection, _) => await connection.DisposeAsync());

        return new ConnectionResult
        {
            Target = name,
            Requested = ids.Length,
            Connected = connected,
            Seconds = seconds,
            P50Millis = times.TotalCount > 0 ? times.GetValueAtPercentile(50) / 1000.0 : 0,
            P99Millis = times.TotalCount > 0 ? times.GetValueAtPercentile(99) / 1000.0 : 0,
            ServerRssBeforeBytes = before?.ResidentBytes,
            ServerRssAfterBytes = after?.ResidentBytes,
            BytesPerConnection = before is { } b && after is { } a && connected > 0 ? (a.ResidentBytes - b.ResidentBytes) / (double)connected : null,
            ServerCpuMillisPerConnection = before is { } b0 && accepted is { } c && connected > 0 ? (c.CpuSeconds - b0.CpuSeconds) * 1000 / connected : null,
            StoppedBy = stoppedBy,
            Lost = lost,
        };
    }
}
