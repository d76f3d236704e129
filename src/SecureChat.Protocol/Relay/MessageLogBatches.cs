namespace SecureChat.Protocol.Relay;

/// <summary>
/// The message-log events (<see cref="RoomDecision{TConnection}.Logged"/>) a persistent room applied and has not handed to its
/// journal yet, cut into journal events (<see cref="MessageLogBatch"/>) of at most <see cref="MaxEntries"/> entries and about
/// <see cref="MaxBytes"/> bytes each: a room whose journal fell behind writes several bounded events in its next write, never
/// one that nears a row or message limit (SQLite and PostgreSQL take up to a GB in a row, Protobuf 2 GB in a message). A
/// message larger than the byte bound goes in an event of its own. Order is kept, within and across events.
/// </summary>
public sealed class MessageLogBatches
{
    /// <summary>Entries of one journal event, at most (ACKs and truncations are small; messages reach the byte bound first).</summary>
    public const int DefaultMaxEntries = 4096;

    /// <summary>
    /// Bytes of one journal event, about (envelopes, sender ids and the numbers of each entry): below .NET's large-object
    /// threshold (85,000 bytes), so that serializing a batch never allocates on the large-object heap, whose churn costs full
    /// collections. About 180 messages of 256 bytes; a journal that keeps up writes one such event per write.
    /// </summary>
    public const long DefaultMaxBytes = 64 * 1024;

    // What an entry costs beyond its envelope and sender id, at most about: its numbers, field tags and lengths.
    private const int EntryOverheadBytes = 40;

    private readonly List<MessageLogBatch> _sealed = [];
    private List<RoomEvent> _open = [];
    private long _openBytes;
    private int _entries;
    private ulong _throughSeq;
    private long _messageBytes;

    public MessageLogBatches(int maxEntries = DefaultMaxEntries, long maxBytes = DefaultMaxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEntries, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        MaxEntries = maxEntries;
        MaxBytes = maxBytes;
    }

    public int MaxEntries { get; }

    public long MaxBytes { get; }

    /// <summary>Whether nothing is waiting for the journal.</summary>
    public bool IsEmpty => _entries == 0;

    /// <summary>Adds message-log events, in the order the room applied them.</summary>
    public void Add(IReadOnlyList<RoomEvent> logged)
    {
        ArgumentNullException.ThrowIfNull(logged);
        for (var i = 0; i < logged.Count; i++)
        {
            var entry = logged[i];
            var size = SizeOf(entry);
            if (_open.Count > 0 && (_open.Count >= MaxEntries || _openBytes + size > MaxBytes))
            {
                Seal();
            }

            _open.Add(entry);
            _openBytes += size;
            _entries++;
            if (entry is MessageLogged message)
            {
                _throughSeq = message.Message.Seq;
                _messageBytes += message.Message.Envelope.Length;
            }
        }
    }

    /// <summary>Takes everything gathered, as the journal events of one write (none when nothing was gathered).</summary>
    public MessageLogWrite Take()
    {
        if (_open.Count > 0)
        {
            Seal();
        }

        var write = new MessageLogWrite([.. _sealed], _entries, _throughSeq, _messageBytes);
        _sealed.Clear();
        _entries = 0;
        _throughSeq = 0;
        _messageBytes = 0;
        return write;
    }

    private void Seal()
    {
        _sealed.Add(new MessageLogBatch(_open[^1].Epoch, _open));
        _open = [];
        _openBytes = 0;
    }

    private static long SizeOf(RoomEvent entry) => entry switch
    {
        MessageLogged message => message.Message.Envelope.Length + message.Message.SenderId.Length + EntryOverheadBytes,
        PositionAcknowledged acknowledged => acknowledged.ClientId.Length + EntryOverheadBytes,
        LogTruncated => EntryOverheadBytes,
        _ => throw new ArgumentException($"{entry?.GetType().Name} is not a message-log event", nameof(entry)),
    };
}

/// <summary>
/// The journal events of one write of the message log: <paramref name="Entries"/> message-log events in all, the last message
/// number among them <paramref name="ThroughSeq"/> (0: none), and <paramref name="MessageBytes"/> bytes of envelopes.
/// </summary>
public sealed record MessageLogWrite(IReadOnlyList<MessageLogBatch> Events, int Entries, ulong ThroughSeq, long MessageBytes);
