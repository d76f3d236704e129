using System.Diagnostics;
using System.Threading.Channels;
using SecureChat.Benchmarks.Processes;
using SecureChat.Client.Rooms;
using SecureChat.Client.Session;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;

namespace SecureChat.Benchmarks.Targets.SecureChat;

/// <summary>One join into a room that already has N-1 members.</summary>
/// <param name="MillisToReady">From sending JOIN until the joiner's engine accepted the commit that admits it (it can read and send).</param>
/// <param name="BytesRelayed">Frame bytes the server sent to all members for this join (JOINED, COMMIT_REQUEST, the COMMIT to everyone).</param>
/// <param name="CommitBytes">Size of the admitting commit frame.</param>
internal sealed record JoinResult(int Members, double MillisToReady, long BytesRelayed, long CommitBytes, double? ServerCpuSeconds, string? Failure = null);

/// <summary>
/// Builds a room of N-1 members on our server and times the N-th join. Only the committer (the first member,
/// whom the server asks as the longest present) and the joiner run the client room loop (<see cref="ClientRoom"/>)
/// and the engine; the others join with a signed
/// bundle and then only receive, which is all the server can tell of them. Joins of the others are sent at once,
/// so the server batches them into few commits, as it would for a crowd arriving.
/// </summary>
internal sealed class JoinMeasurement
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private readonly Func<string, FrameBodyHandler, Action<string>, CancellationToken, Task<FramedTlsClient>> _connect;
    private readonly int? _serverProcessId;

    public JoinMeasurement(Func<string, FrameBodyHandler, Action<string>, CancellationToken, Task<FramedTlsClient>> connect, int? serverProcessId)
    {
        _connect = connect;
        _serverProcessId = serverProcessId;
    }

    /// <summary>Engine limits raised so that the sizes asked for fit; the server's are raised by the target's settings.</summary>
    public static GroupOptions EngineOptions { get; } = GroupOptions.Default with
    {
        MaxMembers = 1024,
        MaxFrameBytes = 1024 * 1024,
    };

    public async Task<JoinResult> MeasureAsync(string roomId, int members, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(members, 2);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Timeout);
        var token = deadline.Token;
        var events = Channel.CreateUnbounded<(int Member, Envelope Envelope)>();
        var connections = new List<FramedTlsClient>();
        var identities = new List<LocalIdentity>();
        ClientRoom? committer = null;
        ClientRoom? joiner = null;
        try
        {
            var run = Guid.NewGuid().ToString("N")[..6];
            for (var i = 0; i < members; i++)
            {
                var index = i;
                var engineDriven = index == 0 || index == members - 1;
                var welcomed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var id = $"join{run}-{i}";
                var connection = await _connect(id, body =>
                {
                    // Passive members skip parsing the large frames (commits for everyone): the client's cost is not measured here.
                    if (!engineDriven && body.Length > 1024)
                    {
                        return;
                    }

                    var envelope = EnvelopeCodec.Decode(body);
                    if (envelope.Type == MessageType.Welcome)
                    {
                        welcomed.TrySetResult();
                    }
                    else if (engineDriven || envelope.Type == MessageType.Error)
                    {
                        events.Writer.TryWrite((index, envelope));
                    }
                }, problem => events.Writer.TryWrite((index, new Envelope { Type = MessageType.Error, Error = new Error { Code = ErrorCode.Internal, Reason = problem } })), token);
                connections.Add(connection);
                identities.Add(new LocalIdentity(id, IdentityKeyPair.Generate()));
                await connection.SendNowAsync(EnvelopeCodec.Encode(new Envelope
                {
                    Version = WireLimits.ProtocolVersion, Type = MessageType.Hello, SenderId = id, Hello = new Hello { ClientSoftware = "securechat-bench" },
                }), token);
                await welcomed.Task.WaitAsync(token);
            }

            // The room: the first member creates it, the others (but the last) crowd in.
            committer = Room(identities[0], roomId);
            await connections[0].SendEffectsAsync(committer.LinkReady(), "member 0", token);
            await PumpAsync(events.Reader, connections, committer, null, () => committer.Phase == RoomPhase.Ready, token);
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            for (var i = 1; i < members - 1; i++)
            {
                using var key = identities[i].CreateMembershipKey(roomId, 1, now, EngineOptions.BundleLifetimeMs, SystemRandomSource.Instance);
                await SendJoinAsync(connections[i], identities[i].ClientId, roomId, key.Bundle, token);
            }

            await PumpAsync(events.Reader, connections, committer, null, () => committer.Roster.Count == members - 1, token);
            await QuietAsync(connections, token);

            // The measured join.
            var cpuBefore = _serverProcessId is { } pid ? ProcessStats.Read(pid) : null;
            var bytesBefore = connections.Sum(c => c.ReceivedBytes);
            joiner = Room(identities[^1], roomId);
            var join = joiner.LinkReady(); // opens the session (a new membership key) before the clock starts, as before
            var started = Stopwatch.GetTimestamp();
            await connections[^1].SendEffectsAsync(join, "the joiner", token);
            var commitBytes = await PumpAsync(events.Reader, connections, committer, joiner, () => joiner.Phase == RoomPhase.Ready, token);
            var ready = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            await QuietAsync(connections, token);
            var bytes = connections.Sum(c => c.ReceivedBytes) - bytesBefore;
            var cpuAfter = _serverProcessId is { } pid2 ? ProcessStats.Read(pid2) : null;
            return new JoinResult(members, ready, bytes, commitBytes, cpuBefore is { } b && cpuAfter is { } a ? a.CpuSeconds - b.CpuSeconds : null);
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }

            committer?.Dispose();
            joiner?.Dispose();
            foreach (var identity in identities)
            {
                identity.Dispose();
            }
        }
    }

    private static ClientRoom Room(LocalIdentity identity, string roomId) =>
        new(roomId, () => new GroupSession(identity, roomId, new TrustStore(), EngineOptions), SystemClock.Instance);

    private static Task SendJoinAsync(FramedTlsClient connection, string clientId, string roomId, SignedBundle bundle, CancellationToken cancellationToken) =>
        connection.SendNowAsync(EnvelopeCodec.Encode(new Envelope
        {
            Version = WireLimits.ProtocolVersion,
            Type = MessageType.Join,
            SenderId = clientId,
            RoomId = roomId,
            Join = new Join { Bundle = bundle, PreferredSuite = CipherSuites.Preferred },
        }), cancellationToken).AsTask();

    /// <summary>
    /// Hands the committer's (member 0) and the joiner's (the last member) frames to their room loops until
    /// <paramref name="done"/>; the joiner's frames are handled as they come, so its readiness is not delayed by
    /// anyone else's work. Returns the size of the last commit frame that gave the joiner new keys.
    /// </summary>
    private static async Task<long> PumpAsync(ChannelReader<(int Member, Envelope Envelope)> events, List<FramedTlsClient> connections,
        ClientRoom committer, ClientRoom? joiner, Func<bool> done, CancellationToken cancellationToken)
    {
        long commitBytes = 0;
        while (!done())
        {
            var (member, envelope) = await events.ReadAsync(cancellationToken);
            if (envelope.Type == MessageType.Error)
            {
                throw new InvalidOperationException($"member {member}: {envelope.Error.Code}: {envelope.Error.Reason}");
            }

            var room = member == 0 ? committer : member == connections.Count - 1 ? joiner : null;
            if (room is null)
            {
                continue;
            }

            var effects = room.Frame(envelope);
            if (room == joiner && envelope.Type == MessageType.Commit && effects.Events.Any(e => e is KeyEstablished))
            {
                commitBytes = envelope.CalculateSize() + 4;
            }

            await connections[member].SendEffectsAsync(effects, $"member {member}", cancellationToken);
        }

        return commitBytes;
    }

    /// <summary>Waits until no member has received anything for 200 ms: the server has finished relaying.</summary>
    private static async Task QuietAsync(List<FramedTlsClient> connections, CancellationToken cancellationToken)
    {
        var last = -1L;
        while (true)
        {
            var total = connections.Sum(c => c.ReceivedBytes);
            if (total == last)
            {
                return;
            }

            last = total;
            await Task.Delay(200, cancellationToken);
        }
    }
}
