namespace SecureChat.Client.Session;

/// <summary>
/// How long a client waits before its next connection attempt: the step doubles per failed round of the server list up
/// to a cap, and each wait is drawn at random from the upper part of its step. Without the spread, every client a server
/// dropped at once (a restart) would come back at the same instants — 0.5 s, 1 s, 2 s … later, all together — and meet a
/// server that refuses most of them each time, then sits idle until the next wave.
/// </summary>
public static class ReconnectBackoff
{
    /// <summary>Doubling stops here; 2^16 steps of the initial delay exceed any sensible cap.</summary>
    private const int MaxDoublings = 16;

    /// <summary>The step after <paramref name="failedRounds"/> failed rounds: <paramref name="initial"/> × 2^rounds, at most <paramref name="max"/>.</summary>
    public static TimeSpan Step(int failedRounds, TimeSpan initial, TimeSpan max)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(failedRounds);
        var factor = Math.Pow(2, Math.Min(failedRounds, MaxDoublings));
        return TimeSpan.FromTicks((long)Math.Min(initial.Ticks * factor, max.Ticks));
    }

    /// <summary>
    /// The wait before the next attempt: the step shortened by up to <paramref name="jitter"/> of itself, by how much
    /// <paramref name="sample"/> (uniform in [0, 1)) says; jitter 0 gives the step exactly, 0.5 a wait in (step/2, step].
    /// </summary>
    public static TimeSpan Delay(int failedRounds, TimeSpan initial, TimeSpan max, double jitter, double sample)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(jitter, 0.0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(jitter, 1.0);
        ArgumentOutOfRangeException.ThrowIfLessThan(sample, 0.0);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(sample, 1.0);
        var step = Step(failedRounds, initial, max);
        return TimeSpan.FromTicks(step.Ticks - (long)(step.Ticks * jitter * sample));
    }
}
