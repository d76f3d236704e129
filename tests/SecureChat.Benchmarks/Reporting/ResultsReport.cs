using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using SecureChat.Benchmarks.Load;

namespace SecureChat.Benchmarks.Reporting;

/// <summary>Everything one command measured: printed as markdown on stdout and written as JSON (and .md) to the output folder.</summary>
internal sealed class ResultsReport
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public ResultsReport(string command)
    {
        Command = command;
    }

    public string Command { get; }

    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    public MachineInfo Machine { get; } = MachineInfo.Describe();

    public List<string> Targets { get; } = [];

    public List<RelayResult> Relay { get; } = [];

    public List<Ratio> Ratios { get; } = [];

    public List<Cli.ConnectionResult> Connections { get; } = [];

    public List<Targets.SecureChat.JoinResult> Joins { get; } = [];

    public List<Cli.StormResult> Storms { get; } = [];

    /// <summary>BenchmarkDotNet's own summary tables (markdown), one per benchmark class.</summary>
    public List<string> Micro { get; } = [];

    public List<string> Notes { get; } = [];

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"## SecureChat benchmarks: `{Command}`");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"{StartedAt:yyyy-MM-dd HH:mm} UTC; {Machine}");
        text.AppendLine();
        foreach (var target in Targets)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- {target}");
        }

        if (Relay.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("| target | workload | M | mode | pinned (relay / generator CPUs) | delivered / expected | sent msg/s | deliveries/s | p50 µs | p99 µs | p99.9 µs | max µs | p50 / p99 µs from send | server CPU s | server peak MiB | load gen CPU s (client crypto s) | problems |");
            text.AppendLine("|---|---|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
            foreach (var r in Relay)
            {
                var problems = r.Problems.Count == 0 ? "" : string.Join("; ", r.Problems.Select(p => $"{p.Key} ×{p.Value}"));
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"| {r.Target} | {r.Shape} | {r.MessagesPerMember:N0} | {r.Mode} | {(r.Pinned ? $"yes ({r.ServerCpus} / {r.GeneratorCpus})" : "no")} | {r.Delivered:N0} / {r.Expected:N0} ({r.DeliveredRatio:P1}) | {r.SentPerSecond:N0} | {r.DeliveredPerSecond:N0} | {r.P50Micros:N0} | {r.P99Micros:N0} | {r.P999Micros:N0} | {r.MaxMicros:N0} | {r.FromSendP50Micros:N0} / {r.FromSendP99Micros:N0} | {Format(r.ServerCpuSeconds, "0.00")} | {Format(r.ServerPeakBytes / (1024.0 * 1024.0), "0.0")} | {Format(r.GeneratorCpuSeconds, "0.00")}{(r.ClientCryptoSeconds is { } crypto ? $" ({crypto:0.00})" : "")} | {problems} |");
            }
        }

        if (Ratios.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("| ratio | workload | pinned | closed-loop msg/s | p99 at 50% of peak |");
            text.AppendLine("|---|---|---|---:|---:|");
            foreach (var ratio in Ratios)
            {
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"| {ratio.Name} | {ratio.Shape} | {(ratio.Pinned ? "yes" : "no")} | {Format(ratio.Throughput, "0.00")} | {Format(ratio.P99AtHalfPeak, "0.00")} |");
            }
        }

        if (Connections.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("| target | connected / requested | seconds | accepted/s | greeting p50 ms | p99 ms | server CPU ms per accept | server RSS before → after MiB | KiB per connection | lost | stopped by |");
            text.AppendLine("|---|---|---:|---:|---:|---:|---:|---|---:|---:|---|");
            foreach (var c in Connections)
            {
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"| {c.Target} | {c.Connected:N0} / {c.Requested:N0} | {c.Seconds:0.0} | {(c.Seconds > 0 ? c.Connected / c.Seconds : 0):N0} | {c.P50Millis:0.0} | {c.P99Millis:0.0} | {Format(c.ServerCpuMillisPerConnection, "0.00")} | {Format(c.ServerRssBeforeBytes / (1024.0 * 1024.0), "0.0")} → {Format(c.ServerRssAfterBytes / (1024.0 * 1024.0), "0.0")} | {Format(c.BytesPerConnection / 1024.0, "0.0")} | {c.Lost} | {c.StoppedBy} |");
            }
        }

        if (Storms.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("| reconnect storm: clients | back | initial connects s | kill → listening s | kill → all back s | back p50 ms | p99 ms | attempts | server CPU s | server CPU ms per reconnect | failure |");
            text.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
            foreach (var s in Storms)
            {
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"| {s.Clients:N0} | {s.Back:N0} | {s.RampSeconds:0.0} | {s.SecondsToListening:0.0} | {s.SecondsToAllBack:0.0} | {s.P50BackMillis:N0} | {s.P99BackMillis:N0} | {s.Attempts:N0} | {Format(s.ServerCpuSeconds, "0.00")} | {Format(s.ServerCpuMillisPerReconnect, "0.00")} | {s.Failure} |");
            }
        }

        if (Joins.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("| join: members N | N-th member ready after ms | bytes relayed for the join | admitting commit bytes | server CPU s | failure |");
            text.AppendLine("|---:|---:|---:|---:|---:|---|");
            foreach (var j in Joins)
            {
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"| {j.Members} | {Format(j.MillisToReady, "0.0")} | {j.BytesRelayed:N0} | {j.CommitBytes:N0} | {Format(j.ServerCpuSeconds, "0.00")} | {j.Failure} |");
            }
        }

        foreach (var table in Micro)
        {
            text.AppendLine();
            text.AppendLine(table);
        }

        if (Notes.Count > 0)
        {
            text.AppendLine();
            foreach (var note in Notes)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"- {note}");
            }
        }

        return text.ToString();
    }

    /// <summary>Writes results-TIME.json and results-TIME.md into <paramref name="folder"/>; returns the JSON path.</summary>
    public string Save(string folder)
    {
        Directory.CreateDirectory(folder);
        var stem = Path.Combine(folder, $"results-{StartedAt:yyyyMMdd-HHmmss}");
        File.WriteAllText(stem + ".json", JsonSerializer.Serialize(this, Json));
        File.WriteAllText(stem + ".md", ToMarkdown());
        return stem + ".json";
    }

    private static string Format(double? value, string format) =>
        value is { } v && double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "–";
}

/// <param name="Throughput">ours / theirs for closed-loop sent msg/s: above 1 means ours is faster.</param>
/// <param name="P99AtHalfPeak">ours / theirs for p99 latency at 50% of each one's own peak: below 1 means ours is quicker.</param>
internal sealed record Ratio(string Name, string Shape, bool Pinned, double? Throughput, double? P99AtHalfPeak);

internal sealed record MachineInfo(string Cpu, int Cores, long MemoryBytes, string Os, string Runtime)
{
    public static MachineInfo Describe()
    {
        var cpu = "unknown CPU";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException)
        {
            // Not Linux: the CPU name stays unknown.
        }

        return new MachineInfo(cpu, Environment.ProcessorCount, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes,
            RuntimeInformation.OSDescription, RuntimeInformation.FrameworkDescription);
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Cpu}, {Cores} cores, {MemoryBytes / (1024.0 * 1024 * 1024):0} GiB, {Os}, {Runtime}");
}
