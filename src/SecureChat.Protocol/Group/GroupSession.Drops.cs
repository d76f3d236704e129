using SecureChat.Core.Wire;

namespace SecureChat.Protocol.Group;

/// <summary>Drop detection (PROTOCOL.md §11.1): every generation known to be missing is reported once.</summary>
public sealed partial class GroupSession
{
    // Reports found and not yet handed out (by Tick, Decrypt or ProcessCommit).
    private readonly List<MessagesWithheld> _withheld = [];

    // No unreported range falls due before this (null: none is waiting); saves scanning every sender on every input.
    private long? _nextGapDueMs;

    /// <summary>
    /// Erases the receive chains of replaced epochs whose retention has elapsed, and returns every drop report that fell
    /// due since the last call: gaps older than <see cref="GroupOptions.GapTimeoutMs"/>, and whatever was still missing
    /// in the epochs just erased. Each missing generation is reported once, here or on a Decrypt/ProcessCommit outcome.
    /// </summary>
    public IReadOnlyList<MessagesWithheld> Tick()
    {
        ExpireEpochs();
        return TakeReports();
    }

    /// <summary>Erases what retention no longer keeps; reports found on the way wait for the next hand-out.</summary>
    private void ExpireEpochs()
    {
        var now = _clock.UtcNowMs;
        for (var i = _retired.Count - 1; i >= 0; i--)
        {
            if (now - _retired[i].RetiredAtMs >= Options.PreviousEpochRetentionMs)
            {
                Erase(i);
            }
        }
    }

    /// <summary>Reports everything still missing in the retired epoch at <paramref name="index"/>, then erases its keys.</summary>
    private void Erase(int index)
    {
        var state = _retired[index];
        foreach (var (senderId, gaps) in state.Gaps)
        {
            Report(senderId, state.Epoch, gaps.TakeDue(_clock.UtcNowMs, timeoutMs: null));
        }

        state.Dispose();
        _retired.RemoveAt(index);
    }

    private T WithReports<T>(T outcome)
        where T : class
    {
        var reports = TakeReports();
        return reports.Count == 0 ? outcome : outcome switch
        {
            DecryptOutcome d => (T)(object)(d with { Withheld = reports }),
            CommitOutcome c => (T)(object)(c with { Withheld = reports }),
            _ => outcome,
        };
    }

    private List<MessagesWithheld> TakeReports()
    {
        var now = _clock.UtcNowMs;
        if (_nextGapDueMs is { } due && now >= due)
        {
            long? next = null;
            foreach (var state in RetainedEpochs())
            {
                foreach (var (senderId, gaps) in state.Gaps)
                {
                    Report(senderId, state.Epoch, gaps.TakeDue(now, Options.GapTimeoutMs));
                    if (gaps.NextDueMs(Options.GapTimeoutMs) is { } at && (next is null || at < next))
                    {
                        next = at;
                    }
                }
            }

            _nextGapDueMs = next;
        }

        var reports = _withheld.ToList();
        _withheld.Clear();
        return reports;
    }

    /// <summary>A message of <paramref name="senderId"/> arrived; true when it had been reported as withheld.</summary>
    private bool RecordArrival(EpochState state, string senderId, ulong generation)
    {
        var gaps = state.Gaps[senderId];
        var before = gaps.Count;
        var reported = gaps.Arrived(generation, _clock.UtcNowMs);
        if (gaps.Count > before)
        {
            Tracked(state, senderId, gaps);
        }

        return reported;
    }

    /// <summary>
    /// <paramref name="senderId"/>'s authenticated count of what it sent in <paramref name="count"/>.Epoch, carried in
    /// epoch <paramref name="carriedIn"/>. Ignored for an epoch that is not an earlier one we still hold.
    /// </summary>
    private void RecordCount(string senderId, EpochCount count, ulong carriedIn)
    {
        if (count.Epoch >= carriedIn || RetainedEpochs().FirstOrDefault(s => s.Epoch == count.Epoch) is not { } state
            || !state.Gaps.TryGetValue(senderId, out var gaps))
        {
            return;
        }

        var before = gaps.Count;
        gaps.Counted(count.Count, _clock.UtcNowMs);
        if (gaps.Count > before)
        {
            Tracked(state, senderId, gaps);
        }
    }

    /// <summary>A new range is tracked: its timeout starts now; the caps hold (over one, the lowest range is reported at once).</summary>
    private void Tracked(EpochState state, string senderId, DeliveryGaps gaps)
    {
        var due = _clock.UtcNowMs + Options.GapTimeoutMs;
        if (_nextGapDueMs is null || due < _nextGapDueMs)
        {
            _nextGapDueMs = due;
        }

        while (gaps.Count > Options.MaxTrackedGapsPerSender)
        {
            ReportDropped(senderId, state.Epoch, gaps);
        }

        var states = RetainedEpochs().ToList();
        var total = states.Sum(s => s.GapCount);
        while (total > Options.MaxTrackedGapsPerRoom)
        {
            // Oldest epoch first, then the sender tracking most ranges (as the skipped-key cap).
            var oldest = states.First(s => s.GapCount > 0);
            var (victimId, victim) = oldest.Gaps.MaxBy(g => g.Value.Count);
            ReportDropped(victimId, oldest.Epoch, victim);
            total--;
        }
    }

    private void ReportDropped(string senderId, ulong epoch, DeliveryGaps gaps)
    {
        if (gaps.DropLowest() is { } range)
        {
            Report(senderId, epoch, [range]);
        }
    }

    private void Report(string senderId, ulong epoch, List<GenerationRange> ranges)
    {
        if (ranges.Count > 0)
        {
            _withheld.Add(new MessagesWithheld(senderId, epoch, ranges));
        }
    }

    /// <summary>Oldest first: the retired epochs, then the current one.</summary>
    private IEnumerable<EpochState> RetainedEpochs() => _current is null ? _retired : _retired.Append(_current);
}
