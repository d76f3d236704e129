using SecureChat.Benchmarks.Cli;
using SecureChat.Benchmarks.Reporting;
using Xunit.Abstractions;

namespace SecureChat.Benchmarks.Tests;

/// <summary>
/// The benchmark harness still works: the smoke workload against the bare TLS relay, run inside the test
/// process (no child process, no apt), delivers exactly what it sent and produces a report. No timing is asserted.
/// </summary>
public sealed class SmokeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Smoke_run_against_the_in_process_bare_relay_delivers_every_message_and_holds_every_connection()
    {
        var report = new ResultsReport("smoke (test)");
        using var progress = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));

        var failures = await SmokeRun.RunAsync(["bare"], inProcess: true, report, progress, timeout.Token);

        output.WriteLine(progress.ToString());
        output.WriteLine(report.ToMarkdown());
        Assert.Empty(failures);
        var settings = SmokeRun.Settings(["bare"], inProcess: true);
        var runsPerShape = 1 + settings.RatePercents.Count;
        Assert.Equal(settings.RoomCounts.Count * runsPerShape, report.Relay.Count);
        Assert.All(report.Relay, result =>
        {
            Assert.Equal("bare", result.Target);
            Assert.True(result.Expected > 0);
            Assert.Equal(result.Expected, result.Delivered);
            Assert.Empty(result.Problems);
            Assert.True(result.P50Micros > 0, "every delivery was timed");
        });
        var connections = Assert.Single(report.Connections);
        Assert.Equal(connections.Requested, connections.Connected);
        Assert.Null(connections.StoppedBy);
    }

    [Fact]
    public void Report_renders_markdown_and_writes_json_with_the_same_results()
    {
        var report = new ResultsReport("test");
        report.Relay.Add(new Load.RelayResult
        {
            Target = "bare", Shape = "R=1 N=2 S=64", MessagesPerMember = 1, Mode = "closed", Pinned = false, Expected = 2, Delivered = 1,
            SentPerSecond = 1, DeliveredPerSecond = 1, Seconds = 1, P50Micros = 10, P99Micros = 20, P999Micros = 30, MaxMicros = 40,
        });
        var folder = Directory.CreateTempSubdirectory("securechat-bench-report-").FullName;
        try
        {
            var json = report.Save(folder);

            Assert.Contains("| bare | R=1 N=2 S=64 | 1 | closed | no | 1 / 2 (50.0 %)", report.ToMarkdown(), StringComparison.Ordinal);
            using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json));
            var relay = document.RootElement.GetProperty("Relay")[0];
            Assert.Equal(2, relay.GetProperty("Expected").GetInt64());
            Assert.Equal(1, relay.GetProperty("Delivered").GetInt64());
            Assert.Equal(0.5, relay.GetProperty("DeliveredRatio").GetDouble());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
