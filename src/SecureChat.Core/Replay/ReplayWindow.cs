namespace SecureChat.Core.Replay;

public enum ReplayVerdict
{
    /// <summary>First sight of this number: accept (and it is now recorded).</summary>
    Accepted,

    /// <summary>Seen before.</summary>
    Duplicate,

    /// <summary>Older than the window; cannot be told apart from a replay.</summary>
    TooOld,
}

/// <summary>
/// Sliding-window anti-replay (as in IPsec, RFC 4303 §3.4.3) for one sender's sequence numbers:
/// a bitmap of the last <see cref="Size"/> numbers below the highest seen.
/// </summary>
public sealed class ReplayWindow
{
    public const int DefaultSize = 1024;

    private readonly ulong[] _bits;
    private bool _any;

    public ReplayWindow(int size = DefaultSize)
    {
        if (size <= 0 || size % 64 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(size), "window size must be a positive multiple of 64");
        }

        Size = size;
        _bits = new ulong[size / 64];
    }

    public int Size { get; }

    public ulong Highest { get; private set; }

    /// <summary>What <see cref="Check"/> would answer, without recording anything.</summary>
    public ReplayVerdict Peek(ulong sequence)
    {
        if (!_any || sequence > Highest)
        {
            return ReplayVerdict.Accepted;
        }

        var age = Highest - sequence;
        if (age >= (ulong)Size)
        {
            return ReplayVerdict.TooOld;
        }

        return IsSet(sequence) ? ReplayVerdict.Duplicate : ReplayVerdict.Accepted;
    }

    /// <summary>Checks and, when accepted, records <paramref name="sequence"/>.</summary>
    public ReplayVerdict Check(ulong sequence)
    {
        var verdict = Peek(sequence);
        if (verdict != ReplayVerdict.Accepted)
        {
            return verdict;
        }

        if (!_any || sequence > Highest)
        {
            Advance(sequence);
        }

        Set(sequence);
        return ReplayVerdict.Accepted;
    }

    private void Advance(ulong newHighest)
    {
        if (_any)
        {
            var shift = newHighest - Highest;
            if (shift >= (ulong)Size)
            {
                Array.Clear(_bits);
            }
            else
            {
                // Clear the slots that now stand for numbers newly inside the window.
                for (ulong step = 1; step <= shift; step++)
                {
                    Clear(Highest + step);
                }
            }
        }

        Highest = newHighest;
        _any = true;
    }

    private int Slot(ulong sequence) => (int)(sequence % (ulong)Size);

    private bool IsSet(ulong sequence)
    {
        var slot = Slot(sequence);
        return (_bits[slot >> 6] & (1UL << (slot & 63))) != 0;
    }

    private void Set(ulong sequence)
    {
        var slot = Slot(sequence);
        _bits[slot >> 6] |= 1UL << (slot & 63);
    }

    private void Clear(ulong sequence)
    {
        var slot = Slot(sequence);
        _bits[slot >> 6] &= ~(1UL << (slot & 63));
    }
}
