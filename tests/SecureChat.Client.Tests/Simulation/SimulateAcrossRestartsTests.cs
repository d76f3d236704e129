using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using SecureChat.Client.Tests.Support;
using SecureChat.Testing.Hosting;
using Xunit.Abstractions;

namespace SecureChat.Client.Tests.Simulation;

/// <summary>
/// <c>securechat simulate</c> (the built program) against the real server executable on its embedded SQLite store: the run goes on
/// across server restarts and dropped connections, and its report counts every message per receiver as delivered once, reported
/// failed to its sender, or lost. The test moves when the simulator's progress lines (stderr) and the server's log say so.
/// </summary>
public sealed partial class SimulateAcrossRestartsTests(ITestOutputHelper output)
{
    private const int Clients = 6;

    [Fact]
    public async Task A_run_during_which_the_server_is_killed_and_restarted_twice_ends_with_nothing_lost_and_nothing_duplicated()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // SIGKILL
        }

        using var certificates = new TestCertificates();
        using var data = new TempDirectory();
        var port = ServerProcess.FreeLoopbackPort();
        var server = await StartServerAsync("server", certificates, data, port);
        try
        {
            await using var simulate = StartSimulate(certificates, port, "--messages", "100", "--rate", "4");
            const long expected = Clients * 100 * 2; // two rooms of three: each message to two receivers
            const long sendTotal = Clients * 100;
            for (var restart = 1; restart <= 2; restart++)
            {
                // Mid-run: the first kill once a quarter of the deliveries are made; the second once every client is back from the
                // first with its room resumed (the restarted server restores the rooms from its store first) and more than half the
                // messages are sent, before the run ends.
                var line = restart == 1
                    ? await simulate.WaitForLineAsync(l => Progress(l) is { Phase: "sending" } p && p.Delivered >= expected / 4,
                        $"progress: sending, ≥ {expected / 4} delivered", TimeSpan.FromSeconds(120))
                    : await simulate.WaitForLineAsync(l => Progress(l) is { Phase: "sending" or "delivering" } p && p.Resumes >= Clients && p.Sent > sendTotal / 2,
                        $"progress: sending or delivering, ≥ {Clients} rooms resumed, > {sendTotal / 2} sent", TimeSpan.FromSeconds(120));
                output.WriteLine($"kill {restart} at: {line}");
                server.Kill(); // SIGKILL: no shutdown, whatever was not written is gone
                using (var exited = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
                {
                    await server.WaitForExitAsync(exited.Token);
                }

                server.KillPrintAndDispose(output, 40);
                server = await StartServerAsync($"server-{restart}", certificates, data, port);
            }

            var report = await ReportAsync(simulate);

            // Nothing lost without a word, nothing shown twice; and with the message log not even a reported failure: what the
            // killed server had not stored, its senders sent again after the resume.
            Assert.Equal((expected, 0L, 0L), (report.GetProperty("expected").GetInt64(), report.GetProperty("lost").GetInt64(),
                report.GetProperty("duplicates").GetInt64()));
            Assert.Equal((expected, 0L), (report.GetProperty("delivered").GetInt64(), report.GetProperty("reported_failed").GetInt64()));
            Assert.True(report.GetProperty("reconnects").GetInt64() >= 2 * Clients, "every client came back after each restart");
            Assert.True(report.GetProperty("resumes").GetInt64() >= 2 * Clients, "and resumed its room");
            Assert.Equal(["sim-room-0", "sim-room-1"], report.GetProperty("rooms").EnumerateArray().Select(r => r.GetProperty("name").GetString()));
        }
        finally
        {
            server.KillPrintAndDispose(output, 40);
        }
    }

    [Fact]
    public async Task A_run_with_churn_drops_that_fraction_of_the_clients_once_each_and_they_resume_with_nothing_lost_or_duplicated()
    {
        using var certificates = new TestCertificates();
        using var data = new TempDirectory();
        var port = ServerProcess.FreeLoopbackPort();
        var server = await StartServerAsync("server", certificates, data, port);
        try
        {
            await using var simulate = StartSimulate(certificates, port, "--messages", "30", "--rate", "5", "--churn", "0.5", "--churn-pause", "1");

            var report = await ReportAsync(simulate);

            const long expected = Clients * 30 * 2;
            Assert.Equal((expected, expected, 0L, 0L, 0L), (report.GetProperty("expected").GetInt64(), report.GetProperty("delivered").GetInt64(),
                report.GetProperty("reported_failed").GetInt64(), report.GetProperty("lost").GetInt64(), report.GetProperty("duplicates").GetInt64()));
            Assert.Equal(Clients / 2, report.GetProperty("churned").GetInt64());
            Assert.True(report.GetProperty("reconnects").GetInt64() >= Clients / 2, "each churned client came back");
            Assert.True(report.GetProperty("resumes").GetInt64() >= Clients / 2, "and resumed its room");
            Assert.True(report.GetProperty("passed").GetBoolean());
        }
        finally
        {
            server.KillPrintAndDispose(output, 40);
        }
    }

    [Fact]
    public async Task A_churn_run_with_a_store_restarts_the_churned_clients_from_their_stores_with_nothing_lost_or_duplicated()
    {
        using var certificates = new TestCertificates();
        using var data = new TempDirectory();
        using var stores = new TempDirectory();
        var port = ServerProcess.FreeLoopbackPort();
        var server = await StartServerAsync("server", certificates, data, port);
        try
        {
            await using var simulate = StartSimulate(certificates, port, "--messages", "30", "--rate", "5", "--churn", "0.5", "--churn-pause", "1",
                "--store", stores.Path);

            var report = await ReportAsync(simulate);

            const long expected = Clients * 30 * 2;
            Assert.Equal((expected, expected, 0L, 0L, 0L), (report.GetProperty("expected").GetInt64(), report.GetProperty("delivered").GetInt64(),
                report.GetProperty("reported_failed").GetInt64(), report.GetProperty("lost").GetInt64(), report.GetProperty("duplicates").GetInt64()));
            Assert.Equal(Clients / 2, report.GetProperty("churned").GetInt64());
            Assert.True(report.GetProperty("resumes").GetInt64() >= Clients / 2, "each restarted client resumed its room from its store");
            Assert.True(report.GetProperty("passed").GetBoolean());

            // Each client kept its state in its own encrypted store.
            Assert.Equal(Clients, Directory.GetFiles(stores.Path, "store.sc", SearchOption.AllDirectories).Length);
        }
        finally
        {
            server.KillPrintAndDispose(output, 40);
        }
    }

    /// <summary>Six clients in two rooms against the server on <paramref name="port"/>, the report as JSON on stdout.</summary>
    private static CliProcess StartSimulate(TestCertificates certificates, int port, params string[] more) =>
        CliProcess.Start(["simulate", "--server", $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", "--certs", certificates.Directory,
            "--clients", Clients.ToString(CultureInfo.InvariantCulture), "--rooms", "2", "--timeout", "150", "--json", .. more]);

    /// <summary>The server on its embedded store in <paramref name="data"/> (the same folder and port after each restart).</summary>
    private static async Task<ServerProcess> StartServerAsync(string name, TestCertificates certificates, TempDirectory data, int port)
    {
        var server = ServerProcess.Start(name, data.Path, ["--host", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture),
            "--certs", certificates.Directory, "--data", Path.Combine(data.Path, "rooms")]);
        await server.ListeningPortAsync(TimeSpan.FromSeconds(90));
        return server;
    }

    private async Task<JsonElement> ReportAsync(CliProcess simulate)
    {
        var json = await simulate.WaitForLineAsync(l => l.StartsWith('{'), "the JSON report", TimeSpan.FromSeconds(240));
        output.WriteLine(json);
        await simulate.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    private static long Number(Group group) => long.Parse(group.Value, CultureInfo.InvariantCulture);

    private static SimulateProgress? Progress(string line) =>
        ProgressLine().Match(line) is { Success: true } m
            ? new SimulateProgress(m.Groups[1].Value, Number(m.Groups[2]), Number(m.Groups[3]), Number(m.Groups[4]), Number(m.Groups[5]))
            : null;

    [GeneratedRegex(@"^stderr: (\w+) .* sent (\d+)/\d+  delivered (\d+)/\d+  reconnects (\d+)  resumed (\d+)$")]
    private static partial Regex ProgressLine();

    private sealed record SimulateProgress(string Phase, long Sent, long Delivered, long Reconnects, long Resumes);
}
