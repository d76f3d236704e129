namespace SecureChat.Client.Simulation;

/// <summary>Collects durations and reports nearest-rank percentiles. Thread-safe.</summary>
public sealed class LatencyRecorder
{
    private readonly Lock _gate = new();
    private readonly List<double> _milliseconds = [];

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _milliseconds.Count;
            }
        }
    }

    public void Record(TimeSpan duration)
    {
        lock (_gate)
        {
            _milliseconds.Add(Math.Max(0, duration.TotalMilliseconds));
        }
    }

    /// <summary>Nearest-rank percentile (0..100) in milliseconds; 0 when nothing was recorded.</summary>
    public double Percentile(double percentile)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(percentile, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percentile, 100);
        double[] sorted;
        lock (_gate)
        {
            if (_milliseconds.Count == 0)
            {
                return 0;
            }

            sorted = [.. _milliseconds];
        }

        Array.Sort(sorted);
        var rank = (int)Math.Ceiling(percentile / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    public double Max() => Percentile(100);
}
