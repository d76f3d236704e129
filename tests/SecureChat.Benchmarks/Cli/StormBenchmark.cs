using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using HdrHistogram;
using SecureChat.Benchmarks.Processes;
using SecureChat.Benchmarks.Reporting;
using SecureChat.Benchmarks.Targets;
using SecureChat.Benchmarks.Targets.SecureChat;
using SecureChat.Client.Session;
using SecureChat.Server.Configuration;

namespace SecureChat.Benchmarks.Cli;

/// <summary>One reconnect storm: every client connected, the server killed and started again, the time until all are back.</summary>
internal sealed record StormResult
{
    public required int Clients { get; init; }

    /// <summary>Clients greeted again by the restarted server before the deadline.</summary>
    public required int Back { get; init; }

    /// <summary>Wall time of the initial connects (the clients' own first connection, <c>--parallel</c> at a time).</summary>
    public required double RampSeconds { get; init; }

    /// <summary>From the kill until the restarted server listens (its start-up, rooms restored on demand later).</summary>
    public required double SecondsToListening { get; init; }

    /// <summary>From the kill until the last client was greeted again: what a user of a restarted server waits at most.</summary>
    public required double SecondsToAllBack { get; init; }

    public required double P50BackMillis { get; init; }

    public required double P99BackMillis { get; init; }

    /// <summary>Connection attempts after the kill, all clients together (refused or failed ones included).</summary>
    public required long Attempts { get; init; }

    /// <summary>Server CPU (user + system) from listening until the last client was back.</summary>
    public double? ServerCpuSeconds { get; init; }

    public double? ServerCpuMillisPerReconnect => ServerCpuSeconds is { } cpu && Back > 0 ? cpu * 1000 / Back : null;

    public string? Failure { get; init; }
}

/// <summary>
/// A reconnect storm on our server: <c>clients</c> idle authenticated connections (TLS with their own certificates,
/// HELLO/WELCOME), the server killed (SIGKILL) and started again on the same port and storage, and every client coming
/// back on its own schedule: the chat client's reconnect backoff (<see cref="ReconnectBackoff"/> with the default
/// <see cref="ClientSessionSettings"/>), so the storm is the one real clients would make. The server keeps its default
/// handshake budget (<see cref="ServerOptions.MaxHandshakes"/>); only the per-address limits are lifted, since every
/// client here comes from 127.0.0.1.
/// </summary>
internal static class StormBenchmark
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(3);

    public static async Task RunAsync(int clients, int parallel, ResultsReport report, TextWriter progress, CancellationToken cancellationToken)
    {
        using var certificates = new BenchCertificates();
        var run = Guid.NewGuid().ToString("N")[..6];
        var ids = Enumerable.Range(0, clients).Select(i => $"storm{run}-{i}").ToArray();
        progress.WriteLine($"storm: issuing {ids.Length} client certificates");
        Parallel.ForEach(ids, id => certificates.Client(id));

        var defaultBudget = new ServerOptions().MaxHandshakes.ToString(CultureInfo.InvariantCulture);
        await using var target = new SecureChatTarget(certificates, cpu: null, [$"--Server:MaxHandshakes={defaultBudget}"]);
        try
        {
            await target.StartAsync(cancellationToken);
        }
        catch (TargetUnavailableException ex)
        {
            report.Notes.Add($"storm: not measured: {ex.Message}");
            return;
        }

        report.Targets.Add(target.Description);
        try
        {
            using var storm = new Storm(target, ids, parallel, progress);
            report.Storms.Add(await storm.RunAsync(cancellationToken));
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            progress.WriteLine($"storm: failed: {ex.Message}");
            report.Notes.Add($"storm: failed: {ex.GetType().Name}: {ex.Message.Split('\n')[0]}");
        }
    }

    private sealed class Storm(SecureChatTarget target, string[] ids, int parallel, TextWriter progress) : IDisposable
    {
        private static readonly ClientSessionSettings ClientDefaults = new();
        private readonly LongConcurrentHistogram _backMicros = new(1, 3_600_000_000, 3);
        private readonly ConcurrentDictionary<string, bool> _back = new(StringComparer.Ordinal);
        private readonly TaskCompletionSource _allConnected = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _allBack = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly SemaphoreSlim _rampGate = new(parallel);
        private long _killedAt; // Stopwatch timestamp; 0 before the kill
        private long _attemptsAfterKill;
        private int _connectedOnce;

        public async Task<StormResult> RunAsync(CancellationToken cancellationToken)
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var rampStarted = Stopwatch.GetTimestamp();
            progress.WriteLine($"storm: connecting {ids.Length} clients, {parallel} at a time");
            var loops = ids.Select(id => Task.Run(() => ClientLoopAsync(id, stop.Token), stop.Token)).ToList();
            try
            {
                await _allConnected.Task.WaitAsync(Deadline, cancellationToken);
                var ramp = Stopwatch.GetElapsedTime(rampStarted).TotalSeconds;
                progress.WriteLine($"storm: {ids.Length} connected in {ramp:0.0} s; killing the server");

                Volatile.Write(ref _killedAt, Stopwatch.GetTimestamp());
                await target.RestartAsync(cancellationToken);
                var listening = Stopwatch.GetElapsedTime(_killedAt).TotalSeconds;
                var cpuAtListening = ServerCpu();
                progress.WriteLine($"storm: server listening again {listening:0.0} s after the kill (pid {target.ServerProcessId})");

                string? failure = null;
                try
                {
                    await _allBack.Task.WaitAsync(Deadline, cancellationToken);
                }
                catch (TimeoutException)
                {
                    failure = $"{ids.Length - _back.Count} not back within {Deadline.TotalSeconds:0} s";
                }

                var allBack = Stopwatch.GetElapsedTime(_killedAt).TotalSeconds;
                var cpuAtEnd = ServerCpu();
                progress.WriteLine($"storm: {_back.Count}/{ids.Length} back {allBack:0.0} s after the kill, {Interlocked.Read(ref _attemptsAfterKill)} attempts");
                return new StormResult
                {
                    Clients = ids.Length,
                    Back = _back.Count,
                    RampSeconds = ramp,
                    SecondsToListening = listening,
                    SecondsToAllBack = allBack,
                    P50BackMillis = _backMicros.TotalCount > 0 ? _backMicros.GetValueAtPercentile(50) / 1000.0 : 0,
                    P99BackMillis = _backMicros.TotalCount > 0 ? _backMicros.GetValueAtPercentile(99) / 1000.0 : 0,
                    Attempts = Interlocked.Read(ref _attemptsAfterKill),
                    ServerCpuSeconds = cpuAtListening is { } a && cpuAtEnd is { } b ? b - a : null,
                    Failure = failure,
                };
            }
            finally
            {
                await stop.CancelAsync();
                await Task.WhenAll(loops.Select(l => l.ContinueWith(_ => { }, TaskScheduler.Default)));
            }
        }

        public void Dispose() => _rampGate.Dispose();

        private double? ServerCpu() => target.ServerProcessId is { } pid ? ProcessStats.Read(pid)?.CpuSeconds : null;

        /// <summary>One client: connect, stay until the server drops it, wait as the chat client would, connect again.</summary>
        private async Task ClientLoopAsync(string id, CancellationToken cancellationToken)
        {
            var failedRounds = 0;
            var ramping = true;
            while (!cancellationToken.IsCancellationRequested)
            {
                var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                IAsyncDisposable connection;
                if (ramping)
                {
                    await _rampGate.WaitAsync(cancellationToken);
                }

                try
                {
                    if (Volatile.Read(ref _killedAt) != 0)
                    {
                        Interlocked.Increment(ref _attemptsAfterKill);
                    }

                    connection = await target.ConnectIdleAsync(id, _ => lost.TrySetResult(), cancellationToken);
                }
                catch (Exception) when (!cancellationToken.IsCancellationRequested)
                {
                    await Task.Delay(Backoff(failedRounds++), cancellationToken);
                    continue;
                }
                finally
                {
                    if (ramping)
                    {
                        _rampGate.Release();
                    }
                }

                failedRounds = 0;
                if (ramping)
                {
                    ramping = false;
                    if (Interlocked.Increment(ref _connectedOnce) == ids.Length)
                    {
                        _allConnected.TrySetResult();
                    }
                }
                else if (Volatile.Read(ref _killedAt) is var killed and not 0 && _back.TryAdd(id, true))
                {
                    _backMicros.RecordValue(Math.Max(1, (long)Stopwatch.GetElapsedTime(killed).TotalMicroseconds));
                    if (_back.Count == ids.Length)
                    {
                        _allBack.TrySetResult();
                    }
                }

                try
                {
                    await lost.Task.WaitAsync(cancellationToken);
                }
                finally
                {
                    await connection.DisposeAsync();
                }

                await Task.Delay(Backoff(failedRounds++), cancellationToken);
            }
        }

        private static TimeSpan Backoff(int failedRounds) =>
            ReconnectBackoff.Delay(failedRounds, ClientDefaults.InitialBackoff, ClientDefaults.MaxBackoff, ClientDefaults.BackoffJitter, Random.Shared.NextDouble());
    }
}
