using System.Collections.Concurrent;
using System.Diagnostics;
using HdrHistogram;

namespace SecureChat.Benchmarks.Load;

/// <summary>
/// Counts and times what one receiver gets. Each member's deliveries come from that member's reader
/// alone, so its histogram needs no lock; the shared counters are interlocked.
/// </summary>
internal sealed class DeliveryRecorder : IDeliverySink
{
    /// <summary>Latencies are recorded in microseconds, up to a minute, to 3 significant digits.</summary>
    public const long HighestMicros = 60_000_000;

    private readonly DeliveryTotals _totals;

    public DeliveryRecorder(DeliveryTotals totals)
    {
        _totals = totals;
    }

    /// <summary>From the time the message was due: includes any lateness of the generator (coordinated omission corrected).</summary>
    public LongHistogram Latency { get; } = new(HighestMicros, 3);

    /// <summary>From the time the generator actually queued the message: the relay and the wire alone.</summary>
    public LongHistogram SendLatency { get; } = new(HighestMicros, 3);

    public void Delivered(ReadOnlySpan<byte> stamp)
    {
        var now = Stopwatch.GetTimestamp();
        var sent = Stamp.ReadFrom(stamp);
        if (_totals.Measuring)
        {
            var micros = (now - sent.DueTicks) * 1_000_000 / Stopwatch.Frequency;
            Latency.RecordValue(Math.Clamp(micros, 0, HighestMicros));
            SendLatency.RecordValue(Math.Clamp(micros - sent.LateMicros, 0, HighestMicros));
        }

        _totals.Count(sent.Sender, now);
    }

    public void Problem(string description) => _totals.Problem(description);

    public void Reset()
    {
        Latency.Reset();
        SendLatency.Reset();
    }
}

/// <summary>Deliveries of the whole run, per sender (for the closed-loop window) and in total.</summary>
internal sealed class DeliveryTotals
{
    private readonly long[] _perSender;
    private readonly SemaphoreSlim[] _windows;
    private readonly int _fanOut;
    private long _total;
    private long _lastDeliveryTicks;
    private volatile bool _measuring;

    public DeliveryTotals(int senders, int fanOut, int window)
    {
        _perSender = new long[senders];
        _fanOut = fanOut;
        _windows = Enumerable.Range(0, senders).Select(_ => new SemaphoreSlim(window, int.MaxValue)).ToArray();
    }

    public ConcurrentDictionary<string, int> Problems { get; } = new(StringComparer.Ordinal);

    public long Total => Interlocked.Read(ref _total);

    public long LastDeliveryTicks => Interlocked.Read(ref _lastDeliveryTicks);

    public bool Measuring
    {
        get => _measuring;
        set => _measuring = value;
    }

    /// <summary>A sender takes one slot per message; a slot comes back each time N-1 of its messages were delivered.</summary>
    public SemaphoreSlim Window(int sender) => _windows[sender];

    public void Count(int sender, long nowTicks)
    {
        Interlocked.Increment(ref _total);
        Interlocked.Exchange(ref _lastDeliveryTicks, nowTicks);
        if ((uint)sender < (uint)_perSender.Length && Interlocked.Increment(ref _perSender[sender]) % _fanOut == 0)
        {
            _windows[sender].Release();
        }
    }

    public void Problem(string description) => Problems.AddOrUpdate(description, 1, (_, n) => n + 1);

    public void ResetCounts()
    {
        Interlocked.Exchange(ref _total, 0);
        Problems.Clear();
    }
}
