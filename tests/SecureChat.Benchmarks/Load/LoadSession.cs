using System.Diagnostics;
using System.Globalization;
using HdrHistogram;
using SecureChat.Benchmarks.Processes;

namespace SecureChat.Benchmarks.Load;

/// <summary>
/// R rooms × N members connected to one target, with a delivery recorder per member. Runs of the same
/// shape (closed loop, then open loop at fixed rates) reuse the connections.
/// </summary>
internal sealed class LoadSession : IAsyncDisposable
{
    /// <summary>Unpaced senders write their buffer after this many messages (and whenever their window is full).</summary>
    private const int FlushEvery = 32;

    private static int _sessions;

    private readonly IRelayTarget _target;
    private readonly int _rooms;
    private readonly int _members;
    private readonly int _payloadBytes;
    private readonly int _window;
    private readonly DeliveryTotals _totals;
    private readonly DeliveryRecorder[] _recorders;
    private readonly List<IRelayClient> _senders = [];

    private LoadSession(IRelayTarget target, int rooms, int members, int payloadBytes, int window)
    {
        _target = target;
        _rooms = rooms;
        _members = members;
        _payloadBytes = payloadBytes;
        _window = window;
        _totals = new DeliveryTotals(rooms * members, members - 1, window);
        _recorders = Enumerable.Range(0, rooms * members).Select(_ => new DeliveryRecorder(_totals)).ToArray();
    }

    /// <summary>How long a run waits for the last deliveries once nothing arrives any more.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>How long a closed-loop sender waits for its window before it counts the in-flight messages as lost and goes on.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(2);

    public static async Task<LoadSession> ConnectAsync(IRelayTarget target, RelayWorkload workload, CancellationToken cancellationToken)
    {
        workload.Validate();
        var session = new LoadSession(target, workload.Rooms, workload.Members, workload.PayloadBytes, workload.Window);
        var run = Interlocked.Increment(ref _sessions).ToString(CultureInfo.InvariantCulture);
        try
        {
            for (var room = 0; room < workload.Rooms; room++)
            {
                var ids = Enumerable.Range(0, workload.Members).Select(m => $"s{run}-r{room}-m{m}").ToList();
                var sinks = session._recorders.Skip(room * workload.Members).Take(workload.Members).ToList<IDeliverySink>();
                var clients = await target.JoinRoomAsync($"s{run}-room{room}", ids, workload.PayloadBytes, sinks, cancellationToken);
                session._senders.AddRange(clients);
            }
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }

        return session;
    }

    /// <summary>Every member sends <paramref name="messagesPerMember"/>; open loop at <paramref name="ratePerSecond"/> in total, or closed loop when null.</summary>
    public async Task<RelayResult> RunAsync(int messagesPerMember, double? ratePerSecond, bool pinned, CancellationToken cancellationToken)
    {
        var workload = new RelayWorkload(_rooms, _members, messagesPerMember, _payloadBytes, ratePerSecond, _window).Validate();
        _totals.ResetCounts();
        foreach (var recorder in _recorders)
        {
            recorder.Reset();
        }

        _totals.Measuring = true;
        var serverBefore = ProcessStats.ReadAll(_target.ServerProcessIds);
        var generatorBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var cryptoBefore = (_target as IClientCryptoMeter)?.ClientCryptoSeconds;
        var start = Stopwatch.GetTimestamp();
        var sends = _senders.Select((client, index) => Task.Run(() => ratePerSecond is { } rate
            ? SendPacedAsync(client, index, messagesPerMember, rate / _senders.Count, start, cancellationToken)
            : SendUnpacedAsync(client, index, messagesPerMember, cancellationToken), cancellationToken)).ToList();
        try
        {
            await Task.WhenAll(sends);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or ObjectDisposedException)
        {
            _totals.Problem($"send failed: {ex.GetType().Name}");
        }

        var serverCpus = _target.ServerProcessId is { } pidCpus ? ProcessStats.AllowedCpus(pidCpus) : null;
        var generatorCpus = ProcessStats.AllowedCpus(Environment.ProcessId);
        await WaitForDeliveriesAsync(workload.ExpectedDeliveries, cancellationToken);
        _totals.Measuring = false;
        var end = _totals.LastDeliveryTicks > start ? _totals.LastDeliveryTicks : Stopwatch.GetTimestamp();
        var seconds = Stopwatch.GetElapsedTime(start, end).TotalSeconds;
        var serverAfter = ProcessStats.ReadAll(_target.ServerProcessIds);
        var generatorCpu = (Process.GetCurrentProcess().TotalProcessorTime - generatorBefore).TotalSeconds;
        var cryptoAfter = (_target as IClientCryptoMeter)?.ClientCryptoSeconds;

        var latency = new LongHistogram(DeliveryRecorder.HighestMicros, 3);
        var sendLatency = new LongHistogram(DeliveryRecorder.HighestMicros, 3);
        foreach (var recorder in _recorders)
        {
            latency.Add(recorder.Latency);
            sendLatency.Add(recorder.SendLatency);
        }

        var delivered = _totals.Total;
        return new RelayResult
        {
            Target = _target.Name,
            Shape = workload.Shape,
            Mode = workload.Mode,
            MessagesPerMember = messagesPerMember,
            Pinned = pinned,
            ServerCpus = serverCpus,
            GeneratorCpus = generatorCpus,
            Expected = workload.ExpectedDeliveries,
            Delivered = delivered,
            Seconds = seconds,
            SentPerSecond = seconds > 0 ? delivered / (double)(_members - 1) / seconds : 0,
            DeliveredPerSecond = seconds > 0 ? delivered / seconds : 0,
            P50Micros = latency.TotalCount > 0 ? latency.GetValueAtPercentile(50) : 0,
            P99Micros = latency.TotalCount > 0 ? latency.GetValueAtPercentile(99) : 0,
            P999Micros = latency.TotalCount > 0 ? latency.GetValueAtPercentile(99.9) : 0,
            MaxMicros = latency.TotalCount > 0 ? latency.GetMaxValue() : 0,
            FromSendP50Micros = sendLatency.TotalCount > 0 ? sendLatency.GetValueAtPercentile(50) : 0,
            FromSendP99Micros = sendLatency.TotalCount > 0 ? sendLatency.GetValueAtPercentile(99) : 0,
            ServerCpuSeconds = serverBefore is { } b && serverAfter is { } a ? a.CpuSeconds - b.CpuSeconds : null,
            ServerPeakBytes = serverAfter?.PeakResidentBytes,
            GeneratorCpuSeconds = generatorCpu,
            ClientCryptoSeconds = cryptoAfter - cryptoBefore,
            Problems = new Dictionary<string, int>(_totals.Problems, StringComparer.Ordinal),
        };
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _senders)
        {
            await client.DisposeAsync();
        }

        _senders.Clear();
    }

    private async Task SendUnpacedAsync(IRelayClient client, int sender, int messages, CancellationToken cancellationToken)
    {
        var window = _totals.Window(sender);
        var sinceFlush = 0;
        for (var i = 0; i < messages; i++)
        {
            if (!window.Wait(0, CancellationToken.None))
            {
                await client.FlushAsync(cancellationToken);
                sinceFlush = 0;
                if (!await window.WaitAsync(StallTimeout, cancellationToken))
                {
                    // Nothing came back for a whole window: count it and go on as if the in-flight messages were lost.
                    _totals.Problem("closed-loop window stalled (in-flight messages taken as lost)");
                    window.Release(_window);
                    await window.WaitAsync(cancellationToken);
                }
            }

            await client.SendAsync(new Stamp(Stopwatch.GetTimestamp(), 0, sender), cancellationToken);
            if (++sinceFlush >= FlushEvery)
            {
                await client.FlushAsync(cancellationToken);
                sinceFlush = 0;
            }
        }

        await client.FlushAsync(cancellationToken);
    }

    /// <summary>
    /// Open loop: message i is due at start + i × interval whatever happened before, and its stamp is that due
    /// time, so a relay (or a sender) that falls behind shows as latency rather than as a slower rate.
    /// The sender wakes about once a millisecond and sends whatever has become due.
    /// </summary>
    private static async Task SendPacedAsync(IRelayClient client, int sender, int messages, double perSecond, long start, CancellationToken cancellationToken)
    {
        var interval = Stopwatch.Frequency / perSecond;
        var sent = 0;
        while (sent < messages)
        {
            var elapsed = Stopwatch.GetTimestamp() - start;
            var due = Math.Min(messages, (long)(elapsed / interval) + 1);
            while (sent < due)
            {
                var dueAt = start + (long)(sent * interval);
                await client.SendAsync(Stamp.Now(dueAt, sender), cancellationToken);
                sent++;
            }

            await client.FlushAsync(cancellationToken);
            if (sent < messages)
            {
                var wait = TimeSpan.FromSeconds((start + (sent * interval) - Stopwatch.GetTimestamp()) / Stopwatch.Frequency);
                await Task.Delay(wait > TimeSpan.FromMilliseconds(1) ? wait : TimeSpan.FromMilliseconds(1), cancellationToken);
            }
        }
    }

    private async Task WaitForDeliveriesAsync(long expected, CancellationToken cancellationToken)
    {
        var lastCount = -1L;
        var lastProgress = Stopwatch.GetTimestamp();
        while (true)
        {
            var count = _totals.Total;
            if (count >= expected)
            {
                return;
            }

            if (count != lastCount)
            {
                lastCount = count;
                lastProgress = Stopwatch.GetTimestamp();
            }
            else if (Stopwatch.GetElapsedTime(lastProgress) > IdleTimeout)
            {
                return;
            }

            await Task.Delay(10, cancellationToken);
        }
    }
}
