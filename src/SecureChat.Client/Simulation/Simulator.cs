using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using SecureChat.Client.Connection;
using SecureChat.Client.Session;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;

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

    /// <summary>
    /// The fraction (0 … 1) of the clients that drop their connection once while they send, at a random message, and come back
    /// after <see cref="ChurnPause"/> (half to one and a half times it) to resume their rooms.
    /// </summary>
    public double Churn { get; init; }

    /// <summary>
    /// Churned clients do not only lose their connection: they stop (their rooms write their state to the client's local store),
    /// throw away everything in memory, and start again from the store. Needs a client factory that gives each client a store
    /// (simulate --store DIR); without it a churned client keeps its state in memory.
    /// </summary>
    public bool RestartChurnedClients { get; init; }

    /// <summary>How long a churned client stays offline, on average.</summary>
    public TimeSpan ChurnPause { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How many clients <see cref="Churn"/> drops: the fraction of <see cref="Clients"/>, rounded.</summary>
    public int ChurnedClients => (int)Math.Round(Churn * Clients, MidpointRounding.AwayFromZero);

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
        ArgumentOutOfRangeException.ThrowIfNegative(Churn, nameof(Churn));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Churn, 1, nameof(Churn));
        ArgumentOutOfRangeException.ThrowIfNegative(ChurnPause.Ticks, nameof(ChurnPause));
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

/// <summary>Where a run stands; reported while it runs. <paramref name="Connected"/> counts the clients online now.</summary>
public sealed record SimulationProgress(string Phase, int Connected, int Keyed, int Clients, long Sent, long SendTotal, long Delivered, long Expected)
{
    /// <summary>Connections that came back after a loss (server restarts, churn).</summary>
    public long Reconnects { get; init; }

    /// <summary>Rooms resumed after a reconnect.</summary>
    public long Resumes { get; init; }
}

/// <summary>
/// Many <see cref="ChatClient"/>s in one process: client i joins room i mod R (named PREFIX-(i mod R)); once every member of every
/// room holds the room's final keys, each client sends its messages, and every decrypted message is counted per receiver by
/// the unique id in its text (<see cref="DeliveryLedger"/>): delivered once, duplicated, reported failed to its sender
/// (<see cref="MessageNotDelivered"/>), or lost. A lost connection is part of the run: the clients reconnect and resume their
/// rooms (a server that keeps a message log replays what they missed), and the run goes on; <see cref="SimulationOptions.Churn"/>
/// drops some clients on purpose.
/// </summary>
public sealed class Simulator
{
    private readonly SimulationOptions _options;
    private readonly Func<int, string, LinkBreaker, ChatClient> _startClient;
    private readonly Func<ClientEvent, string> _describe;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly LatencyRecorder _latency = new();
    private readonly LatencyRecorder _joinLatency = new();
    private readonly DeliveryLedger _ledger;
    private readonly ConcurrentQueue<string> _problems = new();
    private SimClient[] _clients = [];
    private readonly ConcurrentBag<Task> _pumps = [];
    private long _sent;
    private long _decryptFailures;
    private long _withheld;
    private long _errors;
    private long _disconnects;
    private long _reconnects;
    private long _resumes;
    private long _copiesDropped;
    private long _churned;
    private volatile string _phase = "connecting";

    /// <param name="startClient">
    /// Starts client i (0 … clients − 1) with an id, on its own TLS connection (see <see cref="SimulationOptions.ServerOrderFor{T}"/>),
    /// each of its connectors wrapped with the <see cref="LinkBreaker"/> given (the churn cuts its links with it).
    /// </param>
    /// <param name="describe">Words for a problem event in the report (the CLI's); without it, the event's own fields.</param>
    public Simulator(SimulationOptions options, Func<int, string, LinkBreaker, ChatClient> startClient, Func<ClientEvent, string>? describe = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _startClient = startClient;
        _describe = describe ?? (e => e.ToString());
        _ledger = new DeliveryLedger([.. Enumerable.Range(0, options.Clients).Select(i => i % options.Rooms)], options.MessagesPerClient);
    }

    public SimulationProgress Progress => new(
        _phase,
        _clients.Count(c => c.IsOnline),
        _clients.Count(c => c.IsKeyed),
        _options.Clients,
        Interlocked.Read(ref _sent),
        (long)_options.Clients * _options.MessagesPerClient,
        _ledger.Delivered,
        _ledger.Expected)
    {
        Reconnects = Interlocked.Read(ref _reconnects),
        Resumes = Interlocked.Read(ref _resumes),
    };

    public async Task<SimulationReport> RunAsync(CancellationToken cancellationToken = default)
    {
        var runId = Guid.NewGuid().ToString("N")[..6];
        _clients = [.. Enumerable.Range(0, _options.Clients).Select(i => new SimClient(this, i, $"sim{runId}-{i:D4}", RoomOf(i)))];
        ChooseChurned();
        var pumps = _pumps;
        var churns = new ConcurrentBag<Task>();
        try
        {
            foreach (var client in _clients)
            {
                client.Client = _startClient(client.Index, client.Id, client.Links);
                pumps.Add(Task.Run(() => client.PumpAsync(cancellationToken), CancellationToken.None));
            }

            var ready = await WaitAsync(() => _clients.All(c => c.WasConnected), _options.ConnectAndJoinTimeout, cancellationToken).ConfigureAwait(false);
            if (!ready)
            {
                _problems.Enqueue($"only {_clients.Count(c => c.WasConnected)} of {_clients.Length} clients connected in time");
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
            var senders = _clients.Select(c => Task.Run(() => c.SendAllAsync(sendDeadline, churns, cancellationToken), CancellationToken.None)).ToList();
            await Task.WhenAll(senders).ConfigureAwait(false);
            _phase = "delivering";
            var delivered = await WaitAsync(() => _ledger.Accounted >= _ledger.Expected, _options.DeliveryTimeout, cancellationToken).ConfigureAwait(false);
            var elapsed = _clock.Elapsed - sendStart;
            if (!delivered)
            {
                _problems.Enqueue("timed out waiting for deliveries");
            }

            _phase = "done";
            return Report(keyTime, elapsed);
        }
        finally
        {
            await Task.WhenAll(churns).ConfigureAwait(false);
            foreach (var client in _clients.Where(c => c.Client is not null))
            {
                await client.Client!.DisposeAsync().ConfigureAwait(false);
            }

            await Task.WhenAll(_pumps).ConfigureAwait(false);
        }
    }

    private string RoomOf(int clientIndex) => _options.RoomName(clientIndex % _options.Rooms);

    private int RoomSize(string room) => _clients.Count(c => c.Room == room);

    /// <summary>The churned clients, at random, each with the message before which it drops its connection.</summary>
    private void ChooseChurned()
    {
        var order = Enumerable.Range(0, _clients.Length).ToArray();
        Random.Shared.Shuffle(order);
        foreach (var index in order.Take(_options.ChurnedClients))
        {
            _clients[index].DropBefore = Random.Shared.Next(0, Math.Max(1, _options.MessagesPerClient));
        }
    }

    private SimulationReport Report(TimeSpan keyTime, TimeSpan sendElapsed)
    {
        var counts = _ledger.Count();
        foreach (var lost in counts.LostExamples)
        {
            _problems.Enqueue($"{_clients[lost.Receiver].Id} never got message {lost.Sequence} of {_clients[lost.Sender].Id}, and its sender was not told");
        }

        return new SimulationReport
        {
            Clients = _options.Clients,
            Rooms = [.. Enumerable.Range(0, _options.Rooms).Select(r => _options.RoomName(r)).Select(name =>
                new RoomReport(name, _clients.Where(c => c.Room == name).Select(c => c.LastEpoch).DefaultIfEmpty(0UL).Max()))],
            Sent = Interlocked.Read(ref _sent),
            Expected = counts.Expected,
            Delivered = counts.Delivered,
            Lost = counts.Lost,
            ReportedFailed = counts.ReportedFailed,
            NotDelivered = counts.NotDeliveredMessages,
            Duplicates = counts.Duplicates,
            DecryptFailures = Interlocked.Read(ref _decryptFailures),
            Withheld = Interlocked.Read(ref _withheld),
            Errors = Interlocked.Read(ref _errors),
            Disconnects = Interlocked.Read(ref _disconnects),
            Reconnects = Interlocked.Read(ref _reconnects),
            Resumes = Interlocked.Read(ref _resumes),
            Churned = Interlocked.Read(ref _churned),
            CopiesDropped = Interlocked.Read(ref _copiesDropped),
            LatencyMs = new PercentilesMs(_latency.Percentile(50), _latency.Percentile(99), _latency.Max()),
            JoinMs = new PercentilesMs(_joinLatency.Percentile(50), _joinLatency.Percentile(99), _joinLatency.Max()),
            KeyEstablishmentMs = keyTime.TotalMilliseconds,
            ElapsedMs = sendElapsed.TotalMilliseconds,
            MessagesPerSecond = sendElapsed > TimeSpan.Zero ? counts.Delivered / sendElapsed.TotalSeconds : 0,
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

        // Set while a churned client restarts from its store: sending waits (nobody types into a closed program).
        private volatile TaskCompletionSource? _restarting;
        private volatile bool _wasConnected;
        private volatile bool _online;
        private volatile bool _keyed;

        public int Index => index;

        public string Id { get; } = id;

        /// <summary>The last epoch this client had keys for in its room.</summary>
        public ulong LastEpoch => (ulong)Interlocked.Read(ref _lastEpoch);

        public string Room { get; } = room;

        public ChatClient? Client { get; set; }

        /// <summary>Cuts this client's links for the churn.</summary>
        public LinkBreaker Links { get; } = new();

        /// <summary>For a churned client, the message before which it drops its connection; null for the others.</summary>
        public int? DropBefore { get; set; }

        public TimeSpan JoinStartedAt { get; set; }

        public bool WasConnected => _wasConnected;

        public bool IsOnline => _online;

        public bool IsKeyed => _keyed;

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

        public async Task SendAllAsync(TimeSpan deadline, ConcurrentBag<Task> churns, CancellationToken cancellationToken)
        {
            var messages = owner._options.MessagesPerClient;
            var window = owner._options.InFlightPerClient;
            var rate = owner._options.RatePerClient;

            // Clients start at spread-out offsets so a paced run does not send in lockstep bursts.
            var interval = rate > 0 ? TimeSpan.FromSeconds(1 / rate) : TimeSpan.Zero;
            var nextSendAt = owner._clock.Elapsed + (interval * index / Math.Max(1, owner._options.Clients));
            for (var k = 0; k < messages; k++)
            {
                if (k == DropBefore)
                {
                    if (owner._options.RestartChurnedClients)
                    {
                        // From here the sending waits for the restarted client (set before the restart begins, not in it).
                        _restarting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    }

                    churns.Add(Task.Run(() => ChurnAsync(cancellationToken), CancellationToken.None));
                }

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
                if (k >= window && owner._ledger.ReceiversOf(index) > 0)
                {
                    var waitFor = owner._ledger.MessageId(index, k - window);
                    while (!owner._ledger.Settled(waitFor) && owner._clock.Elapsed < deadline)
                    {
                        await Task.Delay(2, cancellationToken).ConfigureAwait(false);
                    }

                    if (owner._clock.Elapsed >= deadline)
                    {
                        owner._problems.Enqueue($"{Id}: stopped sending after {k} messages: earlier ones were not delivered in time");
                        return;
                    }
                }

                if (_restarting is { } restarting)
                {
                    await restarting.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                }

                var text = SimulationMessage.Format(owner._ledger.MessageId(index, k), owner._clock.ElapsedTicks, owner._options.MessageSize);
                Client!.Send(Room, text);
                Interlocked.Increment(ref owner._sent);
            }

            if (messages == 0 && DropBefore is not null)
            {
                churns.Add(Task.Run(() => ChurnAsync(cancellationToken), CancellationToken.None));
            }
        }

        /// <summary>
        /// The connection drops, as on a network failure, and stays down for a while; what the client sends meanwhile waits in its
        /// queue. Then the session's next attempt connects and its rooms resume.
        /// </summary>
        private async Task ChurnAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref owner._churned);
            if (owner._options.RestartChurnedClients)
            {
                await RestartAsync(cancellationToken).ConfigureAwait(false);
                return;
            }

            Links.BreakCurrentLink(stayOffline: true);
            var pause = owner._options.ChurnPause * (0.5 + Random.Shared.NextDouble());
            try
            {
                await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The run was cancelled: come back at once.
            }

            Links.Release();
        }

        /// <summary>
        /// The client stops (its rooms write their last state to its store), everything it held in memory is dropped, and after
        /// the pause a new client starts from the store: it rejoins its room from the stored position and sends again what the
        /// server had not confirmed stored.
        /// </summary>
        private async Task RestartAsync(CancellationToken cancellationToken)
        {
            _restarting ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            try
            {
                var old = Client!;
                await old.DisposeAsync().ConfigureAwait(false);
                _online = false;
                Interlocked.Increment(ref owner._disconnects);
                try
                {
                    await Task.Delay(owner._options.ChurnPause * (0.5 + Random.Shared.NextDouble()), cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // The run was cancelled: come back at once.
                }

                Client = owner._startClient(index, Id, Links);
                owner._pumps.Add(Task.Run(() => PumpAsync(cancellationToken), CancellationToken.None));
            }
            finally
            {
                var restarting = _restarting;
                _restarting = null;
                restarting?.TrySetResult();
            }
        }

        private void Handle(ClientEvent e)
        {
            switch (e)
            {
                case Connected:
                    if (_wasConnected)
                    {
                        // A client restarted from its store connects anew: a reconnect of the run.
                        Interlocked.Increment(ref owner._reconnects);
                    }

                    _wasConnected = true;
                    _online = true;
                    break;
                case RoomRestored:
                    break;
                case Disconnected { RetryIn: not null }:
                    // A lost connection is part of the run: the session reconnects and its rooms resume. Each failed attempt
                    // reports again; one loss counts once.
                    if (_online)
                    {
                        _online = false;
                        Interlocked.Increment(ref owner._disconnects);
                    }

                    break;
                case Reconnected:
                    _online = true;
                    Interlocked.Increment(ref owner._reconnects);
                    break;
                case Resumed:
                    Interlocked.Increment(ref owner._resumes);
                    break;
                case RoomOffline:
                    break;
                case MessageDropped { Reason: DecryptRejection.Replay }:
                    // A copy of a message this client already has (resent after a resume): the engine's replay rule drops it.
                    Interlocked.Increment(ref owner._copiesDropped);
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
            if (SimulationMessage.TryParse(m.Preview, out var messageId, out _) && owner._ledger.IsFrom(index, messageId))
            {
                owner._ledger.ReportFailed(messageId);
            }
        }

        private void OnMessage(MessageReceived m)
        {
            var now = owner._clock.ElapsedTicks;
            if (!SimulationMessage.TryParse(m.Text, out var messageId, out var sentAtTicks) || !owner._ledger.Expects(index, messageId))
            {
                owner._problems.Enqueue($"{Id}: a message that is not from this run's members of {Room}, from {m.SenderId}");
                return;
            }

            if (owner._ledger.Receive(index, messageId))
            {
                owner._latency.Record(TimeSpan.FromSeconds((double)(now - sentAtTicks) / Stopwatch.Frequency));
            }
        }
    }
}
