using SecureChat.Benchmarks.Load;
using SecureChat.Benchmarks.Reporting;
using SecureChat.Benchmarks.Targets;
using SecureChat.Benchmarks.Targets.SecureChat;

namespace SecureChat.Benchmarks.Cli;

/// <summary>What <c>relay</c> runs: for each target, pinned and unpinned, and each room shape, a closed-loop maximum and open-loop rates.</summary>
internal sealed record RelaySettings(
    IReadOnlyList<string> Targets,
    IReadOnlyList<int> RoomCounts,
    int Members,
    int MessagesPerMember,
    int PayloadBytes,
    IReadOnlyList<int> RatePercents,
    TimeSpan OpenLoopDuration,
    int Window,
    bool Pin,
    bool InProcess = false,
    int WarmupPerMember = RelaySettings.DefaultWarmupPerMember,
    int EndToEndMessagesPerMember = 2_000,
    IReadOnlyList<string>? ServerSettings = null,
    SecureChatDeployment? Deployment = null,
    string? BaselineServer = null)
{
    public const int DefaultWarmupPerMember = 2_000;
}

internal static class RelayBenchmark
{
    public const int ServerCpu = 0;
    public const int GeneratorCpu = 1;

    public static async Task RunAsync(RelaySettings settings, ResultsReport report, TextWriter progress, CancellationToken cancellationToken)
    {
        report.Notes.Add($"Relay: closed loop keeps at most {settings.Window} messages in flight per sender; open loop sends at the given share of that target's own closed-loop maximum for {settings.OpenLoopDuration.TotalSeconds:0.#} s. " +
            "Latency counts from each message's due time (coordinated omission corrected); 'from send' leaves out the load generator's own lateness (its pacer wakes about once a millisecond). " +
            "Server CPU comes from /proc/PID/stat (10 ms resolution), peak memory is VmHWM of the relay process since it started.");
        using var certificates = new BenchCertificates();
        IReadOnlyList<bool> pinnings = settings.Pin && Environment.ProcessorCount >= 2 ? [true, false] : [false];
        foreach (var name in settings.Targets)
        {
            foreach (var pinned in pinnings)
            {
                foreach (var rooms in settings.RoomCounts)
                {
                    // Clients doing real crypto are two orders of magnitude slower than the relay: fewer messages keep the run short.
                    var messages = name.EndsWith("-e2e", StringComparison.Ordinal) ? Math.Min(settings.MessagesPerMember, settings.EndToEndMessagesPerMember) : settings.MessagesPerMember;
                    var workload = new RelayWorkload(rooms, settings.Members, messages, settings.PayloadBytes, Window: settings.Window).Validate();
                    try
                    {
                        await RunShapeAsync(name, workload, settings, pinned, certificates, report, progress, cancellationToken);
                    }
                    catch (TargetUnavailableException ex)
                    {
                        progress.WriteLine($"{name}: unavailable: {ex.Message}");
                        report.Notes.Add($"{name}: not measured: {ex.Message}");
                        goto nextTarget;
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                    {
                        // Any failure of one target and shape (its client library's own exceptions included) is
                        // reported in the table's notes; the other targets still run.
                        progress.WriteLine($"{name} {workload.Shape}: failed: {ex.Message}");
                        report.Notes.Add($"{name} {workload.Shape} pinned={pinned}: failed: {ex.GetType().Name}: {FirstLine(ex.Message)}");
                    }
                }
            }

        nextTarget:;
        }

        AddRatios(report);
    }

    private static async Task RunShapeAsync(string name, RelayWorkload workload, RelaySettings settings, bool pinned,
        BenchCertificates certificates, ResultsReport report, TextWriter progress, CancellationToken cancellationToken)
    {
        progress.WriteLine($"{name}: {workload.Shape}{(pinned ? " pinned" : "")}: starting");
        if (pinned)
        {
            Affinity.PinSelf(GeneratorCpu);
        }

        try
        {
            await using var target = TargetFactory.Create(name, certificates, pinned ? ServerCpu : null, progress, settings.InProcess, settings.ServerSettings,
                settings.Deployment, settings.BaselineServer, TargetFactory.OptimisedJit);
            await target.StartAsync(cancellationToken);
            if (!report.Targets.Contains(target.Description))
            {
                report.Targets.Add(target.Description);
            }

            await using var session = await LoadSession.ConnectAsync(target, workload, cancellationToken);
            if (settings.WarmupPerMember > 0)
            {
                // Caches, pools, the journal's files and the load generator's own JIT warm before measuring; the relays
                // written in C# run without tiered compilation (TargetFactory.DotNetRelayEnvironment). At most a quarter
                // of the measured run.
                var warm = await session.RunAsync(Math.Max(1, Math.Min(settings.WarmupPerMember, workload.MessagesPerMember / 4)), null, pinned, cancellationToken);
                progress.WriteLine($"{name}: warm-up {warm.Delivered}/{warm.Expected}");
            }

            var closed = await session.RunAsync(workload.MessagesPerMember, null, pinned, cancellationToken);
            report.Relay.Add(closed);
            progress.WriteLine($"{name}: closed loop {closed.SentPerSecond:N0} msg/s, {closed.Delivered}/{closed.Expected} delivered, p99 {closed.P99Micros:N0} µs");
            foreach (var percent in settings.RatePercents)
            {
                if (closed.SentPerSecond <= 0)
                {
                    break;
                }

                var rate = closed.SentPerSecond * percent / 100.0;
                var perMember = (int)Math.Clamp(rate / workload.Senders * settings.OpenLoopDuration.TotalSeconds, 10, workload.MessagesPerMember);
                var open = await session.RunAsync(perMember, rate, pinned, cancellationToken);
                report.Relay.Add(open with { Mode = $"open {percent}% ({rate:N0} msg/s)" });
                progress.WriteLine($"{name}: open loop {percent}%: p50 {open.P50Micros:N0} µs p99 {open.P99Micros:N0} µs, {open.Delivered}/{open.Expected} delivered");
            }

            if (report.Relay.Any(r => r.Target == name && r.Shape == workload.Shape && r.Pinned == pinned && !r.Complete) && target.RecentLog.Length > 0)
            {
                // Why the relay lost messages is usually in its own last words.
                var lines = target.RecentLog.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(5);
                report.Notes.Add($"{name} {workload.Shape} pinned={pinned}: relay log: {string.Join(" ⏎ ", lines)}");
            }
        }
        finally
        {
            if (pinned)
            {
                Affinity.UnpinSelf();
            }
        }
    }

    /// <summary>ours / bare, ours / nats, ours / mosquitto for each shape and pinning that both measured.</summary>
    private static void AddRatios(ResultsReport report)
    {
        foreach (var ours in report.Relay.Where(r => r.Target == "securechat" && r.Mode == "closed"))
        {
            foreach (var peer in report.Relay.Where(r => !r.Target.StartsWith("securechat", StringComparison.Ordinal) && r.Mode == "closed" && r.Shape == ours.Shape && r.Pinned == ours.Pinned))
            {
                var oursHalf = HalfPeak(report, ours);
                var peerHalf = HalfPeak(report, peer);
                report.Ratios.Add(new Ratio($"securechat / {peer.Target}", ours.Shape, ours.Pinned,
                    peer.SentPerSecond > 0 ? ours.SentPerSecond / peer.SentPerSecond : null,
                    oursHalf is { } o && peerHalf is { } p && p > 0 ? o / p : null));
            }
        }
    }

    private static double? HalfPeak(ResultsReport report, RelayResult closed) =>
        report.Relay.FirstOrDefault(r => r.Target == closed.Target && r.Shape == closed.Shape && r.Pinned == closed.Pinned && r.Mode.StartsWith("open 50%", StringComparison.Ordinal))?.P99Micros;

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();
}

/// <summary>A target that cannot run here (package not installable, server not built): reported, not fatal.</summary>
internal sealed class TargetUnavailableException : Exception
{
    public TargetUnavailableException()
    {
    }

    public TargetUnavailableException(string message)
        : base(message)
    {
    }

    public TargetUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
