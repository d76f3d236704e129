using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using SecureChat.Client.Session;
using SecureChat.Core.Wire;

namespace SecureChat.Client.Simulation;

public sealed record SimulationOptions
{
    public int Clients { get; init; } = 10;

    public int Rooms { get; init; } = 1;

    /// <summary>Messages each client sends to its room.</summary>
    public int MessagesPerClient { get; init; } = 10;

    /// <summary>Size of each message text in bytes (at least the id header).</summary>
    public int MessageSize { get; init; } = 64;

    /// <summary>Messages per second each client sends; 0 sends as fast as the in-flight window allows.</summary>
    public double RatePerClient { get; init; }

    /// <summary>Messages a client may have out before all their receivers have them.</summary>
    public int InFlightPerClient { get; init; } = 64;

    public TimeSpan ConnectAndJoinTimeout { get; init; } = TimeSpan.FromSeconds(120);

    public TimeSpan DeliveryTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Rooms are named <c>PREFIX-0</c> … <c>PREFIX-(R-1)</c>.</summary>
    public string RoomPrefix { get; init; } = "sim-room";

    /// <summary>The name of room <paramref name="room"/> (0 … <see cref="Rooms"/> − 1).</summary>
    public string RoomName(int room) => RoomPrefix + "-" + room.ToString(CultureInfo.InvariantCulture);

    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Clients, 1, nameof(Clients));
        ArgumentOutOfRangeException.ThrowIfLessThan(Rooms, 1, nameof(Rooms));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Rooms, Clients, nameof(Rooms));
        ArgumentOutOfRangeException.ThrowIfLessThan(MessagesPerClient, 0, nameof(MessagesPerClient));
        ArgumentOutOfRangeException.ThrowIfLessThan(MessageSize, 1, nameof(MessageSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MessageSize, 16 * 1024, nameof(MessageSize));
        ArgumentOutOfRangeException.ThrowIfNegative(RatePerClient, nameof(RatePerClient));
        if (!EnvelopeCodec.IsValidId(RoomName(Rooms - 1)))
        {
            throw new ArgumentOutOfRangeException(nameof(RoomPrefix), RoomPrefix,
                "the room names PREFIX-N must be 1-64 characters of A-Z a-z 0-9 . _ @ -");
        }
    }

    /// <summary>
    /// The servers client <paramref name="clientIndex"/> uses, in the order it tries them: clients are spread round-robin
    /// (client i starts at server i mod N), and each moves along the rest of the list when its server fails.
    /// </summary>
    public static IReadOnlyList<T> ServerOrderFor<T>(IReadOnlyList<T> servers, int clientIndex)
    {
        ArgumentNullException.ThrowIfNull(servers);
        ArgumentOutOfRangeException.ThrowIfZero(servers.Count, nameof(servers));
        ArgumentOutOfRangeException.ThrowIfNegative(clientIndex);
        var first = clientIndex % servers.Count;
        return [.. servers.Skip(first), .. servers.Take(first)];
    }
}

/// <summary>Where a run stands; reported while it runs.</summary>
public sealed record SimulationProgress(string Phase, int Connected, int Keyed, int Clients, long Sent, long SendTotal, long Delivered, long Expected);

/// <summary>
/// Many <see cref="ChatClient"/>s in one process: client i joins room i mod R (named PREFIX-(i mod R)); once every member of every
/// room holds the room's final keys, each client sends its messages, and every decrypted message is
/// counted per receiver by the unique id in its text. A message its sender was told may not have been delivered
/// (<see cref="MessageNotDelivered"/>) is counted as such: its missing deliveries are reported, not lost.
/// </summary>
public sealed class Simulator
{
    private readonly SimulationOptions _options;
    private readonly Func<int, string, ChatClient> _startClient;
    private readonly Func<ClientEvent, string> _describe;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly LatencyRecorder _latency = new();
    private readonly LatencyRecorder _joinLatency = new();
    private readonly ConcurrentDictionary<long, int> _deliveriesPerMessage = new();

    // Messages their senders were told may not have been delivered (MessageNotDelivered), with their receiver count.
    private readonly ConcurrentDictionary<long, int> _reportedNotDelivered = new();
    private readonly ConcurrentQueue<string> _problems = new();
    private SimClient[] _clients = [];
    private long _sent;
    private long _delivered;
    private long _duplicates;
    private long _decryptFailures;
    private long _withheld;
    private long _errors;
    private volatile string _phase = "connecting";

    /// <param name="startClient">Starts client i (0 … clients − 1) with an id, on its own TLS connection (see <see cref="SimulationOptions.ServerOrderFor{T}"/>).</param>
    /// <param name="describe">Words for a problem event in the report (the CLI's); without it, the event's own fields.</param>
    public Simulator(SimulationOptions options, Func<int, string, ChatClient> startClient, Func<ClientEvent, string>? describe = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _startClient = startClient;
        _describe = describe ?? (e => e.ToString());
    }

    public SimulationProgress Progress => new(
        _phase,
        _clients.Count(c => c.IsConnected),
        _clients.Count(c => c.IsKeyed),
        _options.Clients,
        Interlocked.Read(ref _sent),
        (long)_options.Clients * _options.MessagesPerClient,
        Interlocked.Read(ref _delivered),
        ExpectedDeliveries());

    public async Task<SimulationReport> RunAsync(CancellationToken cancellationToken = default)
    {
        var runId = Guid.NewGuid().ToString("N")[..6];
        _clients = [.. Enumerable.Range(0, _options.Clients).Select(i => new SimClient(this, i, $"sim{runId}-{i:D4}", RoomOf(i)))];
        var pumps = new List<Task>();
        try
        {
            foreach (var client in _clients)
            {
                client.Client = _startClient(client.Index, client.Id);
                pumps.Add(Task.Run(() => client.PumpAsync(cancellationToken), CancellationToken.None));
            }

            var ready = await WaitAsync(() => _clients.All(c => c.IsConnected), _options.ConnectAndJoinTimeout, cancellationToken).ConfigureAwait(false);
            if (!ready)
            {
                _problems.Enqueue($"only {_clients.Count(c => c.IsConnected)} of {_clients.Length} clients connected in time");
                return Report(TimeSpan.Zero, TimeSpan.Zero);
            }

            _phase = "joining";
            var joinStart = _clock.Elapsed;
            foreach (var client in _clients)
            {
                client.JoinStartedAt = _clock.Elapsed;
                client.Client!.Join(client.Room);
            }

            var keyed = await WaitAsync(() => _clients.All(c => c.IsKeyed), _options.ConnectAndJoinTimeout, cancellationToken).ConfigureAwait(false);
            var keyTime = _clock.Elapsed - joinStart;
            if (!keyed)
            {
                _problems.Enqueue($"only {_clients.Count(c => c.IsKeyed)} of {_clients.Length} clients had their room's full roster keyed in time");
                return Report(keyTime, TimeSpan.Zero);
            }

            _phase = "sending";
            var sendStart = _clock.Elapsed;
            var sendDeadline = _clock.Elapsed + _options.DeliveryTimeout;
            var senders = _clients.Select(c => Task.Run(() => c.SendAllAsync(sendDeadline, cancellationToken), CancellationToken.None)).ToList();
            await Task.WhenAll(senders).ConfigureAwait(false);
            _phase = "delivering";
            var delivered = await WaitAsync(() => Interlocked.Read(ref _delivered) + ReportedMissing() >= ExpectedDeliveries(), _options.DeliveryTimeout,
                cancellationToken).ConfigureAwait(false);
            var elapsed = _clock.Elapsed - sendStart;
            if (!delivered)
            {
                _problems.Enqueue("timed out waiting for deliveries");
            }

            // Anything extra (duplicates) would arrive right behind the last delivery; give it one short look.
            _phase = "done";
            return Report(keyTime, elapsed);
        }
        finally
        {
            foreach (var client in _clients.Where(c => c.Client is not null))
            {
                await client.Client!.DisposeAsync().ConfigureAwait(false);
            }

            await Task.WhenAll(pumps).ConfigureAwait(false);
        }
    }

    private string RoomOf(int clientIndex) => _options.RoomName(clientIndex % _options.Rooms);

    private int RoomSize(string room) => _clients.Count(c => c.Room == room);

    private long ExpectedDeliveries() =>
        _clients.Sum(c => (long)_options.MessagesPerClient * (RoomSize(c.Room) - 1));

    private long MessageId(int clientIndex, int sequence) => ((long)clientIndex * _options.MessagesPerClient) + sequence;

    /// <summary>Deliveries that did not happen to messages whose senders were told so: reported, not lost.</summary>
    private long ReportedMissing() =>
        _reportedNotDelivered.Sum(m => (long)Math.Max(0, m.Value - _deliveriesPerMessage.GetValueOrDefault(m.Key)));

    private bool DeliveredOrReported(long messageId, int receivers) =>
        _deliveriesPerMessage.GetValueOrDefault(messageId) >= receivers || _reportedNotDelivered.ContainsKey(messageId);

    private SimulationReport Report(TimeSpan keyTime, TimeSpan sendElapsed)
    {
        var expected = ExpectedDeliveries();
        var sent = Interlocked.Read(ref _sent);
        var delivered = Interlocked.Read(ref _delivered);
        var lost = Math.Max(0, expected - delivered - ReportedMissing());
        return new SimulationReport
        {
            Clients = _options.Clients,
            Rooms = [.. Enumerable.Range(0, _options.Rooms).Select(r => _options.RoomName(r)).Select(name =>
                new RoomReport(name, _clients.Where(c => c.Room == name).Select(c => c.LastEpoch).DefaultIfEmpty(0UL).Max()))],
            Sent = sent,
            Expected = expected,
            Delivered = delivered,
            Lost = lost,
            NotDelivered = _reportedNotDelivered.Count,
            Duplicates = Interlocked.Read(ref _duplicates),
            DecryptFailures = Interlocked.Read(ref _decryptFailures),
            Withheld = Interlocked.Read(ref _withheld),
            Errors = Interlocked.Read(ref _errors),
            LatencyMs = new PercentilesMs(_latency.Percentile(50), _latency.Percentile(99), _latency.Max()),
            JoinMs = new PercentilesMs(_joinLatency.Percentile(50), _joinLatency.Percentile(99), _joinLatency.Max()),
            KeyEstablishmentMs = keyTime.TotalMilliseconds,
            ElapsedMs = sendElapsed.TotalMilliseconds,
            MessagesPerSecond = sendElapsed > TimeSpan.Zero ? delivered / sendElapsed.TotalSeconds : 0,
            Problems = [.. _problems.Take(20)],
        };
    }

    private async Task<bool> WaitAsync(Func<bool> condition, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = _clock.Elapsed + timeout;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        while (!condition())
        {
            if (_clock.Elapsed > deadline)
            {
                return false;
            }

            await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    private sealed class SimClient(Simulator owner, int index, string id, string room)
    {
        private long _lastEpoch;
        private readonly HashSet<long> _received = [];
        private volatile bool _connected;
        private volatile bool _keyed;

        public int Index => index;

        public string Id { get; } = id;

        /// <summary>The last epoch this client had keys for in its room.</summary>
        public ulong LastEpoch => (ulong)Interlocked.Read(ref _lastEpoch);

        public string Room { get; } = room;

        public ChatClient? Client { get; set; }

        public TimeSpan JoinStartedAt { get; set; }

        public bool IsConnected => _connected;

        public bool IsKeyed => _keyed;

        public int SentCount { get; private set; }

        public async Task PumpAsync(CancellationToken cancellationToken)
        {
            try
            {
                await foreach (var e in Client!.Events.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                {
                    Handle(e);
                }
            }
            catch (OperationCanceledException)
            {
                // The run was cancelled.
            }
        }

        public async Task SendAllAsync(TimeSpan deadline, CancellationToken cancellationToken)
        {
            var messages = owner._options.MessagesPerClient;
            var window = owner._options.InFlightPerClient;
            var receivers = owner.RoomSize(Room) - 1;
            var rate = owner._options.RatePerClient;

            // Clients start at spread-out offsets so a paced run does not send in lockstep bursts.
            var interval = rate > 0 ? TimeSpan.FromSeconds(1 / rate) : TimeSpan.Zero;
            var nextSendAt = owner._clock.Elapsed + (interval * index / Math.Max(1, owner._options.Clients));
            for (var k = 0; k < messages; k++)
            {
                if (rate > 0)
                {
                    var wait = nextSendAt - owner._clock.Elapsed;
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
                    }

                    nextSendAt += interval;
                }

                // Keep at most a window of this client's messages short of full delivery.
                if (k >= window && receivers > 0)
                {
                    var waitFor = owner.MessageId(index, k - window);
                    while (!owner.DeliveredOrReported(waitFor, receivers) && owner._clock.Elapsed < deadline)
                    {
                        await Task.Delay(2, cancellationToken).ConfigureAwait(false);
                    }

                    if (owner._clock.Elapsed >= deadline)
                    {
                        owner._problems.Enqueue($"{Id}: stopped sending after {k} messages: earlier ones were not delivered in time");
                        return;
                    }
                }

                var text = SimulationMessage.Format(owner.MessageId(index, k), owner._clock.ElapsedTicks, owner._options.MessageSize);
                Client!.Send(Room, text);
                SentCount++;
                Interlocked.Increment(ref owner._sent);
            }
        }

        private void Handle(ClientEvent e)
        {
            switch (e)
            {
                case Connected:
                    _connected = true;
                    break;
                case KeyEstablished k when k.RoomId == Room:
                    Interlocked.Exchange(ref _lastEpoch, (long)k.Epoch);
                    if (!_keyed && k.MemberCount == owner.RoomSize(Room))
                    {
                        owner._joinLatency.Record(owner._clock.Elapsed - JoinStartedAt);
                        _keyed = true;
                    }

                    break;
                case MessageReceived m:
                    OnMessage(m);
                    break;
                case MessageNotDelivered notDelivered:
                    OnNotDelivered(notDelivered);
                    break;
                case ErrorReported { Code: ClientErrorCode.DecryptFailed }:
                    Interlocked.Increment(ref owner._decryptFailures);
                    owner._problems.Enqueue($"{Id}: {owner._describe(e)}");
                    break;
                case ServerWithheldMessages w:
                    Interlocked.Add(ref owner._withheld, (long)Math.Min(w.Count, long.MaxValue));
                    owner._problems.Enqueue($"{Id}: {owner._describe(e)}");
                    break;
                case ErrorReported or Warning or Disconnected:
                    Interlocked.Increment(ref owner._errors);
                    owner._problems.Enqueue($"{Id}: {owner._describe(e)}");
                    break;
            }
        }

        private void OnNotDelivered(MessageNotDelivered m)
        {
            owner._problems.Enqueue($"{Id}: {owner._describe(m)}");
            if (SimulationMessage.TryParse(m.Preview, out var messageId, out _))
            {
                owner._reportedNotDelivered.TryAdd(messageId, owner.RoomSize(Room) - 1);
            }
        }

        private void OnMessage(MessageReceived m)
        {
            var now = owner._clock.ElapsedTicks;
            if (!SimulationMessage.TryParse(m.Text, out var messageId, out var sentAtTicks))
            {
                owner._problems.Enqueue($"{Id}: a message that is not from the simulator");
                return;
            }

            if (!_received.Add(messageId))
            {
                Interlocked.Increment(ref owner._duplicates);
                return;
            }

            Interlocked.Increment(ref owner._delivered);
            owner._deliveriesPerMessage.AddOrUpdate(messageId, 1, (_, count) => count + 1);
            owner._latency.Record(TimeSpan.FromSeconds((double)(now - sentAtTicks) / Stopwatch.Frequency));
        }
    }
}
