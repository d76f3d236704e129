namespace SecureChat.Client.Simulation;

/// <summary>What a run's messages came to, per receiver: see <see cref="DeliveryLedger"/>.</summary>
/// <param name="Expected">Receiver-message pairs: every message of a client, to every other member of its room.</param>
/// <param name="Delivered">Pairs whose receiver decrypted the message (counted once however many copies came).</param>
/// <param name="ReportedFailed">Pairs not delivered whose sender was told the message may not have been delivered.</param>
/// <param name="Lost">Pairs neither delivered nor reported to the sender: lost without a word.</param>
/// <param name="Duplicates">Copies a receiver decrypted again after the first.</param>
/// <param name="NotDeliveredMessages">Messages their senders were told may not have been delivered.</param>
/// <param name="LostExamples">The first few lost pairs, for people.</param>
public sealed record DeliveryCounts(long Expected, long Delivered, long ReportedFailed, long Lost, long Duplicates, long NotDeliveredMessages,
    IReadOnlyList<LostDelivery> LostExamples);

/// <summary>A message that did not reach one receiver and whose sender was not told.</summary>
public sealed record LostDelivery(int Receiver, int Sender, int Sequence);

/// <summary>
/// The simulator's count of deliveries. Client i sends messages 0 … M−1, each with the id <see cref="MessageId"/> in its text, to
/// every other member of its room. Each (receiver, message) pair ends as exactly one of: delivered (the receiver decrypted it;
/// every further copy is a duplicate), reported failed (not delivered, and its sender was told: <see cref="ReportFailed"/>),
/// or lost. The ledger is kept outside the clients, so it survives their reconnects and restarts. Thread-safe.
/// </summary>
public sealed class DeliveryLedger
{
    private const int MaxLostExamples = 10;
    private readonly Lock _gate = new();
    private readonly int[] _roomOf;
    private readonly int _messagesPerClient;
    private readonly HashSet<long>[] _received;
    private readonly int[] _receivers;
    private readonly int[] _deliveries;
    private readonly bool[] _reportedFailed;
    private long _duplicates;

    /// <param name="roomOf">The room (any number naming it) of each client, by index.</param>
    public DeliveryLedger(IReadOnlyList<int> roomOf, int messagesPerClient)
    {
        ArgumentNullException.ThrowIfNull(roomOf);
        ArgumentOutOfRangeException.ThrowIfNegative(messagesPerClient);
        _roomOf = [.. roomOf];
        _messagesPerClient = messagesPerClient;
        _received = [.. _roomOf.Select(_ => new HashSet<long>())];
        var roomSizes = _roomOf.GroupBy(r => r).ToDictionary(g => g.Key, g => g.Count());
        _receivers = [.. _roomOf.Select(r => roomSizes[r] - 1)];
        _deliveries = new int[checked(_roomOf.Length * messagesPerClient)];
        _reportedFailed = new bool[_deliveries.Length];
    }

    public long Expected => _receivers.Sum(r => (long)r * _messagesPerClient);

    public long MessageId(int sender, int sequence)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sequence);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(sequence, _messagesPerClient);
        return ((long)sender * _messagesPerClient) + sequence;
    }

    /// <summary>Receivers of client <paramref name="sender"/>'s messages: the other members of its room.</summary>
    public int ReceiversOf(int sender) => _receivers[sender];

    /// <summary>
    /// <paramref name="receiver"/> decrypted <paramref name="messageId"/>: true for the first copy (a delivery), false for a copy it
    /// already had (a duplicate). A message that is not one this receiver should get (from itself, another room, an id the run never
    /// gave) is an <see cref="ArgumentException"/>: the run cannot count it.
    /// </summary>
    public bool Receive(int receiver, long messageId)
    {
        if (!Expects(receiver, messageId))
        {
            throw new ArgumentException($"message {messageId} is not one client {receiver} should receive", nameof(messageId));
        }

        lock (_gate)
        {
            if (!_received[receiver].Add(messageId))
            {
                _duplicates++;
                return false;
            }

            _deliveries[messageId]++;
            return true;
        }
    }

    /// <summary>Whether <paramref name="messageId"/> is a message of this run that <paramref name="receiver"/> should get (from another member of its room).</summary>
    public bool Expects(int receiver, long messageId) =>
        IsMessage(messageId) && (int)(messageId / _messagesPerClient) is var sender && sender != receiver && _roomOf[sender] == _roomOf[receiver];

    /// <summary>Whether <paramref name="messageId"/> is one of the messages of <paramref name="sender"/>.</summary>
    public bool IsFrom(int sender, long messageId) => IsMessage(messageId) && messageId / _messagesPerClient == sender;

    /// <summary>The sender of <paramref name="messageId"/> was told it may not have been delivered (MessageNotDelivered).</summary>
    public void ReportFailed(long messageId)
    {
        SenderOf(messageId);
        lock (_gate)
        {
            _reportedFailed[messageId] = true;
        }
    }

    /// <summary>Every receiver has the message, or its sender was told it may not have been delivered: nothing more to wait for.</summary>
    public bool Settled(long messageId)
    {
        lock (_gate)
        {
            return _reportedFailed[messageId] || _deliveries[messageId] >= _receivers[SenderOf(messageId)];
        }
    }

    /// <summary>Pairs delivered so far (for progress).</summary>
    public long Delivered
    {
        get
        {
            lock (_gate)
            {
                return _deliveries.Sum(d => (long)d);
            }
        }
    }

    /// <summary>Pairs that are delivered or reported failed: when this reaches <see cref="Expected"/> there is nothing left to wait for.</summary>
    public long Accounted
    {
        get
        {
            lock (_gate)
            {
                long accounted = 0;
                for (var id = 0; id < _deliveries.Length; id++)
                {
                    accounted += _reportedFailed[id] ? _receivers[id / _messagesPerClient] : _deliveries[id];
                }

                return accounted;
            }
        }
    }

    public DeliveryCounts Count()
    {
        lock (_gate)
        {
            long delivered = 0, reportedFailed = 0, lost = 0;
            var examples = new List<LostDelivery>();
            for (var receiver = 0; receiver < _roomOf.Length; receiver++)
            {
                for (var sender = 0; sender < _roomOf.Length; sender++)
                {
                    if (sender == receiver || _roomOf[sender] != _roomOf[receiver])
                    {
                        continue;
                    }

                    for (var sequence = 0; sequence < _messagesPerClient; sequence++)
                    {
                        var id = MessageId(sender, sequence);
                        if (_received[receiver].Contains(id))
                        {
                            delivered++;
                        }
                        else if (_reportedFailed[id])
                        {
                            reportedFailed++;
                        }
                        else
                        {
                            lost++;
                            if (examples.Count < MaxLostExamples)
                            {
                                examples.Add(new LostDelivery(receiver, sender, sequence));
                            }
                        }
                    }
                }
            }

            return new DeliveryCounts(Expected, delivered, reportedFailed, lost, _duplicates, _reportedFailed.Count(r => r), examples);
        }
    }

    private bool IsMessage(long messageId) => messageId >= 0 && messageId < _deliveries.Length;

    private int SenderOf(long messageId)
    {
        if (!IsMessage(messageId))
        {
            throw new ArgumentException($"message {messageId} is not one of this run's", nameof(messageId));
        }

        return (int)(messageId / _messagesPerClient);
    }
}
