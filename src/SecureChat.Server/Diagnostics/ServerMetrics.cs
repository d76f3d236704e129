using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;
using Google.Protobuf.Reflection;
using SecureChat.Core.Wire;

namespace SecureChat.Server.Diagnostics;

/// <summary>
/// The figures the server records where things happen (System.Diagnostics.Metrics, meter <see cref="MeterName"/>),
/// exported for Prometheus by <see cref="MetricsEndpoint"/> when <c>--metrics</c> is given; with no listener an
/// instrument costs a flag check. One meter per process: the counts of two servers in one process would add up. The
/// figures that are states rather than events (connections open, queue depth, cluster members) are read at each
/// scrape by the endpoint from the host that serves them.
/// </summary>
public static class ServerMetrics
{
    public const string MeterName = "SecureChat.Server";

    /// <summary>The codes as PROTOCOL.md names them (RATE_LIMITED), not as C# does.</summary>
    private static readonly Dictionary<ErrorCode, string> CodeNames = Enum.GetValues<ErrorCode>().ToDictionary(code => code,
        code => typeof(ErrorCode).GetField(code.ToString())?.GetCustomAttribute<OriginalNameAttribute>()?.Name ?? code.ToString());

    private static readonly Meter Meter = new(MeterName, typeof(ServerMetrics).Assembly.GetName().Version?.ToString());

    private static readonly Histogram<double> HandshakeDuration = Meter.CreateHistogram(
        "securechat.tls.handshake.duration", "s", "TLS handshakes after accept, by result (ok, failed): their rate is the handshakes per second",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });

    private static readonly UpDownCounter<long> RoomsActive = Meter.CreateUpDownCounter<long>(
        "securechat.rooms.active", "{room}", "rooms running on this node");

    private static readonly UpDownCounter<long> RoomMembers = Meter.CreateUpDownCounter<long>(
        "securechat.room.members", "{member}", "members in the rosters of the rooms running on this node");

    private static readonly Counter<long> Deliveries = Meter.CreateCounter<long>(
        "securechat.deliveries", "{frame}", "frames from rooms queued for this node's clients (messages, commits, room notices)");

    private static readonly Counter<long> DeliveryBytes = Meter.CreateCounter<long>(
        "securechat.delivery.bytes", "By", "bytes of those frames");

    private static readonly Counter<long> Commits = Meter.CreateCounter<long>(
        "securechat.commits", "{commit}", "commits accepted and journaled by the rooms running on this node");

    private static readonly Counter<long> RejectedFrames = Meter.CreateCounter<long>(
        "securechat.frames.rejected", "{frame}", "client frames answered with an ERROR, by error code");

    private static readonly Counter<long> SlowConsumers = Meter.CreateCounter<long>(
        "securechat.slow_consumer.disconnects", "{connection}", "connections closed because their outbound queue was full");

    private static readonly Histogram<double> JournalWrite = Meter.CreateHistogram(
        "securechat.journal.write.duration", "s", "a room's journal writes, from persist to confirmation",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });

    public static void HandshakeEnded(long startedTimestamp, bool ok)
    {
        if (HandshakeDuration.Enabled)
        {
            HandshakeDuration.Record(Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds, new KeyValuePair<string, object?>("result", ok ? "ok" : "failed"));
        }
    }

    public static void RoomStarted() => RoomsActive.Add(1);

    public static void RoomStopped() => RoomsActive.Add(-1);

    public static void MembersChanged(int by)
    {
        if (by != 0)
        {
            RoomMembers.Add(by);
        }
    }

    public static void Delivered(int bytes)
    {
        Deliveries.Add(1);
        DeliveryBytes.Add(bytes);
    }

    public static void CommitsAccepted(int count)
    {
        if (count > 0)
        {
            Commits.Add(count);
        }
    }

    public static void FrameRejected(ErrorCode code)
    {
        if (RejectedFrames.Enabled)
        {
            RejectedFrames.Add(1, new KeyValuePair<string, object?>("code", CodeNames.GetValueOrDefault(code, "UNKNOWN")));
        }
    }

    public static void SlowConsumerDisconnected() => SlowConsumers.Add(1);

    public static void JournalWritten(long startedTimestamp)
    {
        if (JournalWrite.Enabled)
        {
            JournalWrite.Record(Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds);
        }
    }
}
