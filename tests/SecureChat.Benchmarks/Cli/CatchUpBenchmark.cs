using System.Globalization;
using SecureChat.Benchmarks.Reporting;
using SecureChat.Benchmarks.Targets;
using SecureChat.Benchmarks.Targets.SecureChat;

namespace SecureChat.Benchmarks.Cli;

/// <summary>How long a member that was away takes to receive what it missed from the room's message log (issue #14 item 8).</summary>
internal static class CatchUpBenchmark
{
    public static async Task RunAsync(IReadOnlyList<int> missedCounts, int payloadBytes, int repeats, ResultsReport report, TextWriter progress,
        CancellationToken cancellationToken)
    {
        using var certificates = new BenchCertificates();
        await using var target = new SecureChatTarget(certificates, cpu: null);
        try
        {
            await target.StartAsync(cancellationToken);
        }
        catch (TargetUnavailableException ex)
        {
            report.Notes.Add($"catchup: not measured: {ex.Message}");
            return;
        }

        report.Targets.Add(target.Description);
        foreach (var missed in missedCounts)
        {
            for (var i = 0; i < repeats; i++)
            {
                var roomId = string.Create(CultureInfo.InvariantCulture, $"catchup-{missed}-{Guid.NewGuid():N}")[..30];
                try
                {
                    var result = await target.MeasureCatchUpAsync(roomId, missed, payloadBytes, cancellationToken);
                    var line = string.Create(CultureInfo.InvariantCulture,
                        $"catchup: {result.Missed} missed ({payloadBytes} B each): caught up in {result.MillisToCaughtUp:0.0} ms, {result.Received} received in {result.Chunks} chunks, " +
                        $"{result.BytesReceived:N0} bytes, server CPU {result.ServerCpuSeconds:0.00} s{(result.Failure is null ? "" : "; " + result.Failure)}");
                    progress.WriteLine(line);
                    report.Notes.Add(line);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    progress.WriteLine($"catchup: {missed}: failed: {ex.Message}");
                    report.Notes.Add($"catchup: {missed}: failed: {ex.GetType().Name}: {ex.Message.Split('\n')[0]}");
                }
            }
        }
    }
}
