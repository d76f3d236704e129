using System.Globalization;
using SecureChat.Benchmarks.Reporting;
using SecureChat.Benchmarks.Targets;
using SecureChat.Benchmarks.Targets.SecureChat;

namespace SecureChat.Benchmarks.Cli;

/// <summary>Join cost on our server: time until the N-th member can read and send, and the bytes relayed for it.</summary>
internal static class JoinBenchmark
{
    /// <summary>
    /// A room of 250 does not fit the server's defaults (100 members per room, 64 KiB frames: the admitting
    /// commit of the 250th member is larger), so the join benchmark raises both and says so.
    /// </summary>
    public const int MaxFrameBytes = 1024 * 1024;

    public static async Task RunAsync(IReadOnlyList<int> sizes, ResultsReport report, TextWriter progress, CancellationToken cancellationToken)
    {
        using var certificates = new BenchCertificates();
        var maxMembers = Math.Max(100, sizes.DefaultIfEmpty(0).Max());
        await using var target = new SecureChatTarget(certificates, cpu: null,
            [$"--Server:MaxMembersPerRoom={maxMembers.ToString(CultureInfo.InvariantCulture)}", $"--Server:MaxFrameBytes={MaxFrameBytes.ToString(CultureInfo.InvariantCulture)}"]);
        try
        {
            await target.StartAsync(cancellationToken);
        }
        catch (TargetUnavailableException ex)
        {
            report.Notes.Add($"join: not measured: {ex.Message}");
            return;
        }

        report.Targets.Add(target.Description);
        foreach (var members in sizes)
        {
            progress.WriteLine($"join: room of {members - 1}, measuring member {members}");
            try
            {
                var result = await target.MeasureJoinAsync(string.Create(CultureInfo.InvariantCulture, $"join-{members}-{Guid.NewGuid():N}")[..30], members, MaxFrameBytes, cancellationToken);
                report.Joins.Add(result);
                progress.WriteLine($"join: N={members}: ready after {result.MillisToReady:0.0} ms, {result.BytesRelayed:N0} bytes relayed");
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                progress.WriteLine($"join: N={members}: failed: {ex.Message}");
                report.Joins.Add(new JoinResult(members, double.NaN, 0, 0, null, $"{ex.GetType().Name}: {ex.Message.Split('\n')[0]}"));
            }
        }
    }
}
