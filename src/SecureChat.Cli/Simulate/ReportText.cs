using System.Globalization;
using SecureChat.Client.Simulation;

namespace SecureChat.Cli.Simulate;

/// <summary>The summary <c>simulate</c> prints without <c>--json</c>: one figure a line, then the problems in words.</summary>
internal static class ReportText
{
    /// <summary>The summary names this many rooms at most (the JSON has them all).</summary>
    public const int MaxRooms = 10;

    public static string Format(SimulationReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var r = report;
        var c = CultureInfo.InvariantCulture;
        var lines = new List<string>
        {
            string.Create(c, $"clients {r.Clients}, rooms {r.Rooms.Count}"),
            string.Create(c, $"room epochs         {string.Join(", ", r.Rooms.Take(MaxRooms).Select(room => $"{room.Name} {room.Epoch}"))}") +
                (r.Rooms.Count > MaxRooms ? ", ..." : string.Empty),
            string.Create(c, $"sent                {r.Sent}"),
            string.Create(c, $"expected deliveries {r.Expected}"),
            string.Create(c, $"delivered           {r.Delivered}"),
            string.Create(c, $"lost                {r.Lost} (senders not told)"),
            string.Create(c, $"reported failed     {r.ReportedFailed} deliveries of {r.NotDelivered} messages (their senders were told)"),
            string.Create(c, $"duplicates          {r.Duplicates}"),
            string.Create(c, $"reconnects          {r.Reconnects} after {r.Disconnects} lost connections ({r.Churned} churned clients); " +
                             $"{r.Resumes} rooms resumed, {r.CopiesDropped} resent copies dropped"),
            string.Create(c, $"decrypt failures    {r.DecryptFailures}"),
            string.Create(c, $"reported withheld   {r.Withheld}"),
            string.Create(c, $"errors/warnings     {r.Errors}"),
            string.Create(c, $"join -> keys (ms)   p50 {r.JoinMs.P50:0.0}  p99 {r.JoinMs.P99:0.0}  max {r.JoinMs.Max:0.0}  (all rooms keyed after {r.KeyEstablishmentMs:0} ms)"),
            string.Create(c, $"latency (ms)        p50 {r.LatencyMs.P50:0.0}  p99 {r.LatencyMs.P99:0.0}  max {r.LatencyMs.Max:0.0}"),
            string.Create(c, $"throughput          {r.MessagesPerSecond:0} deliveries/s over {r.ElapsedMs / 1000:0.00} s"),
            r.Passed ? "result              OK" : "result              FAILED",
        };
        lines.AddRange(r.Problems.Select(p => "  " + p));
        return string.Join(Environment.NewLine, lines);
    }
}
