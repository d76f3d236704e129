using SecureChat.Benchmarks.Reporting;

namespace SecureChat.Benchmarks.Cli;

/// <summary>
/// Every implemented target with tiny counts, in a few seconds: proves the harness still works. It fails
/// when our server or the bare relay delivers anything other than exactly what was sent; nats-server and
/// mosquitto are measured when installed (it never installs them) and only reported.
/// </summary>
internal static class SmokeRun
{
    /// <summary>Targets whose smoke run must deliver everything.</summary>
    public static readonly IReadOnlySet<string> Required = new HashSet<string>(StringComparer.Ordinal) { "securechat", "securechat-e2e", "bare" };

    public static RelaySettings Settings(IReadOnlyList<string> targets, bool inProcess) => new(
        Targets: targets,
        RoomCounts: [1, 2],
        Members: 3,
        MessagesPerMember: 200,
        PayloadBytes: 64,
        RatePercents: [50],
        OpenLoopDuration: TimeSpan.FromSeconds(0.5),
        Window: 32,
        Pin: false,
        InProcess: inProcess,
        WarmupPerMember: 5);

    /// <returns>The failures of required targets; empty when the smoke run passed.</returns>
    public static async Task<IReadOnlyList<string>> RunAsync(IReadOnlyList<string> targets, bool inProcess, ResultsReport report, TextWriter progress, CancellationToken cancellationToken)
    {
        await RelayBenchmark.RunAsync(Settings(targets, inProcess), report, progress, cancellationToken);
        await ConnectionsBenchmark.RunAsync(new ConnectionSettings(targets, Count: 20, Parallel: 8, inProcess), report, progress, cancellationToken);
        var failures = new List<string>();
        foreach (var target in targets.Where(Required.Contains))
        {
            var results = report.Relay.Where(r => r.Target == target).ToList();
            if (results.Count == 0)
            {
                failures.Add($"{target}: no result");
            }

            failures.AddRange(results.Where(r => !r.Complete).Select(r => $"{target} {r.Shape} {r.Mode}: delivered {r.Delivered} of {r.Expected}"));
            failures.AddRange(report.Connections.Where(c => c.Target == target && (c.Connected != c.Requested || c.Lost > 0))
                .Select(c => $"{target} connections: {c.Connected} of {c.Requested} connected, {c.Lost} lost{(c.StoppedBy is null ? "" : $", stopped by {c.StoppedBy}")}"));
            if (!target.EndsWith("-e2e", StringComparison.Ordinal) && !report.Connections.Any(c => c.Target == target))
            {
                failures.Add($"{target}: no connections result");
            }
        }

        failures.AddRange(report.Notes.Where(n => Required.Any(t => n.StartsWith(t + " ", StringComparison.Ordinal) || n.StartsWith(t + ":", StringComparison.Ordinal))));
        return failures;
    }
}
