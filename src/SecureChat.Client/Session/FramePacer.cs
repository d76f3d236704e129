using System.Diagnostics;

namespace SecureChat.Client.Session;

/// <summary>A token bucket over frames: <c>burst</c> at once, then <c>ratePerSecond</c>. A rate of 0 never limits.</summary>
internal sealed class FramePacer
{
    private readonly double _ratePerSecond;
    private readonly double _capacity;
    private double _tokens;
    private long _lastRefill = Stopwatch.GetTimestamp();

    public FramePacer(double ratePerSecond, int burst)
    {
        _ratePerSecond = Math.Max(0, ratePerSecond);
        _capacity = Math.Max(1, burst);
        _tokens = _capacity;
    }

    public bool TryTake()
    {
        if (_ratePerSecond == 0)
        {
            return true;
        }

        Refill();
        if (_tokens < 1)
        {
            return false;
        }

        _tokens -= 1;
        return true;
    }

    public TimeSpan TimeUntilNextToken()
    {
        Refill();
        var missing = Math.Max(0, 1 - _tokens);
        return TimeSpan.FromSeconds(Math.Max(missing / _ratePerSecond, 0.001));
    }

    private void Refill()
    {
        var now = Stopwatch.GetTimestamp();
        var elapsed = Stopwatch.GetElapsedTime(_lastRefill, now).TotalSeconds;
        _lastRefill = now;
        _tokens = Math.Min(_capacity, _tokens + (elapsed * _ratePerSecond));
    }
}
