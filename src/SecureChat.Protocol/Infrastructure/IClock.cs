namespace SecureChat.Protocol.Infrastructure;

/// <summary>Wall-clock time for the engine, injectable so that tests are deterministic.</summary>
public interface IClock
{
    /// <summary>Milliseconds since the Unix epoch, UTC.</summary>
    long UtcNowMs { get; }
}

public sealed class SystemClock : IClock
{
    public static SystemClock Instance { get; } = new();

    public long UtcNowMs => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
}

/// <summary>A clock that moves only when told to (tests, simulations).</summary>
public sealed class ManualClock : IClock
{
    public ManualClock(long startMs = 1_767_225_600_000)
    {
        UtcNowMs = startMs;
    }

    public long UtcNowMs { get; private set; }

    public void Advance(long milliseconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(milliseconds);
        UtcNowMs += milliseconds;
    }

    public void Set(long utcNowMs) => UtcNowMs = utcNowMs;
}

/// <summary>An <see cref="IClock"/> over a <see cref="TimeProvider"/> (the server's host injects one).</summary>
public sealed class TimeProviderClock(TimeProvider time) : IClock
{
    public long UtcNowMs => time.GetUtcNow().ToUnixTimeMilliseconds();
}
