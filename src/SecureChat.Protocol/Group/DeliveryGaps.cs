namespace SecureChat.Protocol.Group;

/// <summary>
/// Drop detection for one sender in one epoch (PROTOCOL.md §11.1): which generations are known to exist but have not
/// arrived. A generation is known to exist when a later one arrived, or when the sender's authenticated count says so.
/// Kept as disjoint ranges, so a count of 2^64 costs one entry; the number of ranges is capped by the session.
/// </summary>
internal sealed class DeliveryGaps
{
    // Sorted by First, disjoint, never empty.
    private readonly List<Gap> _gaps = [];

    /// <summary>Every generation below this is known to exist (arrived, or missing and listed).</summary>
    public ulong KnownEnd { get; private set; }

    /// <summary>Ranges tracked (waiting for their timeout or already reported).</summary>
    public int Count => _gaps.Count;

    /// <summary>The tracked ranges (first, end, when noticed, reported), lowest first, for the owner's store.</summary>
    public IEnumerable<(ulong First, ulong End, long NoticedAtMs, bool Reported)> Export() =>
        _gaps.Select(g => (g.First, g.End, g.NoticedAtMs, g.Reported)).ToList();

    /// <summary>Gaps back from the owner's store (<see cref="Export"/>).</summary>
    public static DeliveryGaps Restore(ulong knownEnd, IEnumerable<(ulong First, ulong End, long NoticedAtMs, bool Reported)> gaps)
    {
        var restored = new DeliveryGaps { KnownEnd = knownEnd };
        foreach (var (first, end, noticedAtMs, reported) in gaps)
        {
            restored._gaps.Add(new Gap(first, end, noticedAtMs) { Reported = reported });
        }

        return restored;
    }

    /// <summary>Generation <paramref name="generation"/> arrived. True when it had been reported as withheld before.</summary>
    public bool Arrived(ulong generation, long nowMs)
    {
        if (generation >= KnownEnd)
        {
            if (generation > KnownEnd)
            {
                _gaps.Add(new Gap(KnownEnd, generation, nowMs));
            }

            KnownEnd = generation + 1;
            return false;
        }

        var index = IndexContaining(generation);
        if (index < 0)
        {
            // Dropped from tracking by the caps: nothing to say about it.
            return false;
        }

        var gap = _gaps[index];
        if (gap.First == generation && gap.End == generation + 1)
        {
            _gaps.RemoveAt(index);
        }
        else if (gap.First == generation)
        {
            gap.First++;
        }
        else if (gap.End == generation + 1)
        {
            gap.End--;
        }
        else
        {
            _gaps.Insert(index + 1, new Gap(generation + 1, gap.End, gap.NoticedAtMs) { Reported = gap.Reported });
            gap.End = generation;
        }

        return gap.Reported;
    }

    /// <summary>The sender's authenticated count: generations 0 … <paramref name="count"/> − 1 exist.</summary>
    public void Counted(ulong count, long nowMs)
    {
        if (count > KnownEnd)
        {
            _gaps.Add(new Gap(KnownEnd, count, nowMs));
            KnownEnd = count;
        }
    }

    /// <summary>Marks as reported, and returns, the unreported ranges noticed at least <paramref name="timeoutMs"/> ago (all of them when null).</summary>
    public List<GenerationRange> TakeDue(long nowMs, long? timeoutMs)
    {
        var due = new List<GenerationRange>();
        foreach (var gap in _gaps)
        {
            if (!gap.Reported && (timeoutMs is not { } timeout || nowMs - gap.NoticedAtMs >= timeout))
            {
                gap.Reported = true;
                due.Add(new GenerationRange(gap.First, gap.End));
            }
        }

        return due;
    }

    /// <summary>When the earliest unreported range falls due; null when there is none.</summary>
    public long? NextDueMs(long timeoutMs)
    {
        long? next = null;
        foreach (var gap in _gaps)
        {
            if (!gap.Reported && (next is null || gap.NoticedAtMs + timeoutMs < next))
            {
                next = gap.NoticedAtMs + timeoutMs;
            }
        }

        return next;
    }

    /// <summary>Stops tracking the lowest range (over a cap); returns it when it had not been reported yet (it must be now).</summary>
    public GenerationRange? DropLowest()
    {
        if (_gaps.Count == 0)
        {
            return null;
        }

        var gap = _gaps[0];
        _gaps.RemoveAt(0);
        return gap.Reported ? null : new GenerationRange(gap.First, gap.End);
    }

    private int IndexContaining(ulong generation)
    {
        int low = 0, high = _gaps.Count - 1;
        while (low <= high)
        {
            var mid = low + ((high - low) / 2);
            var gap = _gaps[mid];
            if (generation < gap.First)
            {
                high = mid - 1;
            }
            else if (generation >= gap.End)
            {
                low = mid + 1;
            }
            else
            {
                return mid;
            }
        }

        return -1;
    }

    private sealed class Gap(ulong first, ulong end, long noticedAtMs)
    {
        public ulong First { get; set; } = first;

        public ulong End { get; set; } = end;

        /// <summary>When the range became known to be missing: its timeout runs from here.</summary>
        public long NoticedAtMs { get; } = noticedAtMs;

        public bool Reported { get; set; }
    }
}
