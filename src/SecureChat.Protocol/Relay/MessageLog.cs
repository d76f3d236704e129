using Google.Protobuf;

namespace SecureChat.Protocol.Relay;

/// <summary>
/// How long a room keeps what it relayed for members that are away (PROTOCOL.md §4.4.1): at most
/// <paramref name="MaxMessages"/> messages and <paramref name="MaxBytes"/> bytes of envelopes, none older than
/// <paramref name="MaxAge"/>; what every roster member acknowledged goes too.
/// </summary>
public sealed record MessageLogLimits(int MaxMessages, long MaxBytes, TimeSpan MaxAge)
{
    public static MessageLogLimits Default { get; } = new(10_000, 16L * 1024 * 1024, TimeSpan.FromDays(14));

    /// <summary>Messages of one catch-up chunk: the resumer acknowledges each chunk before the next is sent, so no outbound queue overflows.</summary>
    public int CatchUpChunkMessages { get; init; } = 1024;

    /// <summary>Envelope bytes of one catch-up chunk (a chunk ends at whichever limit it reaches first).</summary>
    public long CatchUpChunkBytes { get; init; } = 1024 * 1024;

    /// <summary>
    /// Messages the room relays before they are durable, at most; past it a publish is refused RATE_LIMITED. Each start of
    /// the room skips this many numbers, so that none a crashed run gave out live is given to another message.
    /// </summary>
    public int MaxUndurable { get; init; } = 65_536;
}

/// <summary>One relayed APPLICATION in a room's message log: its number, who sent it (epoch, generation), when, and its bytes as received.</summary>
public sealed record LoggedMessage(ulong Seq, string SenderId, ulong Epoch, ulong Generation, ulong AtMs, ByteString Envelope);

/// <summary>Numbers (<paramref name="AfterSeq"/>, <paramref name="NextSeq"/>) exclusive that a room start skipped: never a message.</summary>
public sealed record SkippedSeqs(ulong AfterSeq, ulong NextSeq);

/// <summary>A member's acknowledged position in a room's message log.</summary>
public sealed record MemberPosition(string ClientId, ulong Seq);

/// <summary>The messages of a room's log, oldest first, by increasing number: appended at the end, dropped from the front.</summary>
internal sealed class MessageLogEntries
{
    private readonly List<LoggedMessage> _entries = [];
    private readonly Dictionary<(string SenderId, ulong Epoch, ulong Generation), LoggedMessage> _bySender = [];
    private int _head;

    public int Count => _entries.Count - _head;

    public long Bytes { get; private set; }

    public LoggedMessage? First => Count > 0 ? _entries[_head] : null;

    public LoggedMessage this[int index] => _entries[_head + index];

    public IEnumerable<LoggedMessage> All => _entries.Skip(_head);

    public void Add(LoggedMessage message)
    {
        _entries.Add(message);
        _bySender[(message.SenderId, message.Epoch, message.Generation)] = message;
        Bytes += message.Envelope.Length;
    }

    /// <summary>The logged message <paramref name="senderId"/> sent as <paramref name="generation"/> of <paramref name="epoch"/>, if the log holds it.</summary>
    public LoggedMessage? Find(string senderId, ulong epoch, ulong generation) => _bySender.GetValueOrDefault((senderId, epoch, generation));

    public void RemoveFirst()
    {
        var first = _entries[_head];
        if (_bySender.TryGetValue((first.SenderId, first.Epoch, first.Generation), out var indexed) && indexed.Seq == first.Seq)
        {
            _bySender.Remove((first.SenderId, first.Epoch, first.Generation));
        }

        Bytes -= first.Envelope.Length;
        _entries[_head++] = null!;
        if (_head > 1024 && _head * 2 > _entries.Count)
        {
            _entries.RemoveRange(0, _head);
            _head = 0;
        }
    }

    public void Clear()
    {
        _entries.Clear();
        _bySender.Clear();
        _head = 0;
        Bytes = 0;
    }

    /// <summary>The index of the first message numbered above <paramref name="seq"/> (<see cref="Count"/> when none is).</summary>
    public int IndexAfter(ulong seq)
    {
        int low = _head, high = _entries.Count;
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            if (_entries[middle].Seq <= seq)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low - _head;
    }
}
