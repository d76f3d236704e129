using System.Diagnostics;
using Xunit.Abstractions;

namespace SecureChat.Testing.Hosting;

/// <summary>
/// Samples the managed heap and the working set of this process (the server runs in it) while an attack
/// runs, so a test can report the peak and bound its growth. Sampling is observation, not synchronisation.
/// </summary>
public sealed class MemorySampler : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _peakManaged;
    private long _peakWorkingSet;

    private MemorySampler()
    {
        BaselineManaged = GC.GetTotalMemory(forceFullCollection: true);
        BaselineWorkingSet = WorkingSet();
        _peakManaged = BaselineManaged;
        _peakWorkingSet = BaselineWorkingSet;
        _loop = Task.Run(SampleAsync);
    }

    public long BaselineManaged { get; }

    public long BaselineWorkingSet { get; }

    public long PeakManaged => Interlocked.Read(ref _peakManaged);

    public long PeakWorkingSet => Interlocked.Read(ref _peakWorkingSet);

    public long ManagedGrowth => PeakManaged - BaselineManaged;

    public static MemorySampler Start() => new();

    public async Task<string> StopAsync(ITestOutputHelper output, string attack)
    {
        await _stop.CancelAsync();
        await _loop;
        var after = GC.GetTotalMemory(forceFullCollection: true);
        var report = $"memory during '{attack}': managed heap baseline {Mb(BaselineManaged)} peak {Mb(PeakManaged)} after {Mb(after)}; " +
                     $"working set baseline {Mb(BaselineWorkingSet)} peak {Mb(PeakWorkingSet)}";
        output.WriteLine(report);
        return report;
    }

    private async Task SampleAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Raise(ref _peakManaged, GC.GetTotalMemory(forceFullCollection: false));
            Raise(ref _peakWorkingSet, WorkingSet());
            try
            {
                await Task.Delay(25, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static long WorkingSet()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }

    private static void Raise(ref long peak, long sample)
    {
        long seen;
        while (sample > (seen = Interlocked.Read(ref peak)) && Interlocked.CompareExchange(ref peak, sample, seen) != seen)
        {
        }
    }

    private static string Mb(long bytes) => $"{bytes / (1024.0 * 1024.0):F1} MiB";

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
