namespace SecureChat.Server.Connections;

/// <summary>
/// A token bucket: up to <c>capacity</c> tokens, refilled at <c>ratePerSecond</c>. Not thread-safe:
/// each connection's read loop owns its own.
/// </summary>
public sealed class TokenBucket
{
    private readonly double _capacity;
    private readonly double _ratePerSecond;
    private readonly TimeProvider _clock;
    private double _tokens;
    private long _lastTimestamp;

    public TokenBucket(double capacity, double ratePerSecond, TimeProvider? clock = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ratePerSecond);
        _capacity = capacity;
        _ratePerSecond = ratePerSecond;
        _clock = clock ?? TimeProvider.System;
        _tokens = capacity;
        _lastTimestamp = _clock.GetTimestamp();
    }

    public bool TryTake(double tokens)
    {
        Refill();
        if (tokens > _tokens)
        {
            return false;
        }

        _tokens -= tokens;
        return true;
    }

    private void Refill()
    {
        var now = _clock.GetTimestamp();
        var elapsed = _clock.GetElapsedTime(_lastTimestamp, now).TotalSeconds;
        _lastTimestamp = now;
        _tokens = Math.Min(_capacity, _tokens + (elapsed * _ratePerSecond));
    }
}

/// <summary>A connection's inbound budget: frames per second and bytes per second, each with a burst.</summary>
public sealed class FrameBudget
{
    private readonly TokenBucket _frames;
    private readonly TokenBucket _bytes;

    public FrameBudget(int framesPerSecond, int frameBurst, int bytesPerSecond, int byteBurst, TimeProvider? clock = null)
    {
        _frames = new TokenBucket(Math.Max(frameBurst, 1), framesPerSecond, clock);
        _bytes = new TokenBucket(Math.Max(byteBurst, 1), bytesPerSecond, clock);
    }

    /// <summary>Takes one frame of <paramref name="frameBytes"/> from both budgets, or nothing if either is short.</summary>
    public bool TryTake(int frameBytes)
    {
        // Check frames first and only spend bytes once the frame itself is allowed.
        // A refused byte check after a taken frame token only makes the client wait a little longer.
        return _frames.TryTake(1) && _bytes.TryTake(frameBytes);
    }
}
