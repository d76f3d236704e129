namespace SecureChat.Server.Listener;

/// <summary>
/// At most one log line per refusal reason per interval, with how many refusals of that reason went unlogged since
/// the last line: a flood of connects must not become a flood of log lines. Thread-safe; the clock is the caller's.
/// </summary>
public sealed class RefusalLogThrottle
{
    private readonly TimeSpan _interval;
    private readonly Lock _gate = new();
    private readonly Dictionary<AdmissionRefusal, (DateTimeOffset LastLine, long Unlogged)> _reasons = [];

    public RefusalLogThrottle(TimeSpan interval)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _interval = interval;
    }

    /// <summary>
    /// Whether a refusal for <paramref name="reason"/> at <paramref name="now"/> gets a line; when it does,
    /// <paramref name="unloggedBefore"/> is how many refusals for it were not logged since its last line.
    /// </summary>
    public bool ShouldLog(AdmissionRefusal reason, DateTimeOffset now, out long unloggedBefore)
    {
        lock (_gate)
        {
            if (_reasons.TryGetValue(reason, out var state) && now - state.LastLine < _interval)
            {
                _reasons[reason] = state with { Unlogged = state.Unlogged + 1 };
                unloggedBefore = 0;
                return false;
            }

            unloggedBefore = state.Unlogged;
            _reasons[reason] = (now, 0);
            return true;
        }
    }
}
