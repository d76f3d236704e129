using System.Globalization;
using System.Security.Cryptography;
using System.Threading.Channels;
using Google.Protobuf;
using SecureChat.Benchmarks.Load;
using SecureChat.Benchmarks.Processes;
using SecureChat.Client.Rooms;
using SecureChat.Client.Session;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;

namespace SecureChat.Benchmarks.Targets.SecureChat;

/// <summary>
/// Our server, started as its own process (<c>dotnet SecureChat.Server.dll</c>) with the run's certificates.
/// Members do what real clients do to get into a room — HELLO, then the real client room loop
/// (<see cref="ClientRoom"/>: JOIN with a signed bundle, the commits the server asks for, created and processed by
/// the real group engine) — and then send pre-built APPLICATION
/// envelopes of the current epoch whose ciphertext is random bytes carrying the stamp. Receivers parse the
/// envelope and read the stamp without decrypting, so the figures are the server's, not the clients' crypto.
/// </summary>
/// <remarks>
/// With <c>endToEnd</c> (target <c>securechat-e2e</c>) every client does what a real one does per message instead:
/// encrypt + sign on send, verify + decrypt on receipt, with the stamp inside the text; the time spent in the
/// engine is counted (the calling thread's CPU time), so the report can split the clients' CPU between crypto
/// and the rest.
/// </remarks>
internal sealed class SecureChatTarget : IRelayTarget, IClientCryptoMeter
{
    /// <summary>
    /// Server settings for the benchmark: the per-connection rate limits (200 frames/s by default) are lifted,
    /// since the benchmark measures how fast the server can relay. The keep-alive is stretched to 10 minutes:
    /// the load generator's connections do not answer PING, and a sender stalled behind an overloaded
    /// generator (100 end-to-end clients on one core) would otherwise be closed as silent after two 30 s
    /// intervals, which measured the generator, not the relay. Every client of the benchmark connects from
    /// 127.0.0.1, so the per-address limits are raised to the connection cap (up to 64 handshakes at once in the
    /// connections benchmark). Everything else keeps its default.
    /// </summary>
    public static readonly IReadOnlyList<string> BenchmarkSettings =
    [
        "--Server:FramesPerSecond=1000000", "--Server:FrameBurst=1000000",
        "--Server:BytesPerSecond=2000000000", "--Server:ByteBurst=2000000000",
        "--Server:RateLimitStrikes=1000000", "--Server:MaxConnections=20000",
        "--Server:MaxConnectionsPerAddress=20000", "--Server:MaxHandshakesPerAddress=1024", "--Server:MaxHandshakes=1024",
        "--Server:CreateDevelopmentCertificates=false", "--Server:KeepAliveInterval=00:10:00",
        "--Logging:LogLevel:Default=Warning",
    ];

    private static readonly TimeSpan SetupTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The engine as a client runs it (the committer refreshes its own key with each commit).</summary>
    private static readonly GroupOptions EngineOptions = GroupOptions.Default;

    private readonly BenchCertificates _certificates;
    private readonly int? _cpu;
    private readonly IReadOnlyList<string> _extraSettings;
    private readonly bool _endToEnd;
    private long _cryptoNanoseconds;
    private readonly List<Member> _members = [];
    private readonly SecureChatDeployment _deployment;
    private readonly List<ChildProcess> _children = [];
    private readonly List<int> _ports = [];
    private readonly List<NodeLaunch> _launches = [];

    /// <param name="extraSettings">More <c>--Server:Name=value</c> switches (the join benchmark raises room and frame limits).</param>
    /// <param name="deployment">How many nodes, on which storage, which server build; one node of this build on SQLite by default.</param>
    public SecureChatTarget(BenchCertificates certificates, int? cpu, IReadOnlyList<string>? extraSettings = null, bool endToEnd = false,
        SecureChatDeployment? deployment = null)
    {
        _certificates = certificates;
        _cpu = cpu;
        _extraSettings = extraSettings ?? [];
        _endToEnd = endToEnd;
        _deployment = deployment ?? new SecureChatDeployment();
    }

    /// <summary>Node 0's client port: where the join and connection benchmarks connect.</summary>
    private int FirstPort => _ports[0];

    public double ClientCryptoSeconds => Interlocked.Read(ref _cryptoNanoseconds) / 1e9;

    /// <summary>Times the N-th join into a room of N-1 (see <see cref="JoinMeasurement"/>).</summary>
    public Task<JoinResult> MeasureJoinAsync(string roomId, int members, int maxFrameBytes, CancellationToken cancellationToken) =>
        new JoinMeasurement(async (id, onBody, onProblem, token) =>
        {
            var connection = await FramedTlsClient.ConnectAsync(id, FirstPort, _certificates.Client(id), _certificates.CaCertificate, maxFrameBytes, token);
            connection.StartReading(onBody, onProblem);
            return connection;
        }, ServerProcessId).MeasureAsync(roomId, members, cancellationToken);

    /// <summary>Times a member's catch-up on <paramref name="missed"/> messages sent while it was away (see <see cref="CatchUpMeasurement"/>).</summary>
    public Task<CatchUpResult> MeasureCatchUpAsync(string roomId, int missed, int payloadBytes, CancellationToken cancellationToken) =>
        new CatchUpMeasurement(async (id, onBody, onProblem, token) =>
        {
            var connection = await FramedTlsClient.ConnectAsync(id, FirstPort, _certificates.Client(id), _certificates.CaCertificate, WireLimits.DefaultMaxFrameBytes, token);
            connection.StartReading(onBody, onProblem);
            return connection;
        }, ServerProcessId).MeasureAsync(roomId, missed, payloadBytes, cancellationToken);

    public string Name => (_endToEnd ? "securechat-e2e" : "securechat") + _deployment.NameSuffix;

    public string Description =>
        $"{Name}: securechat server ({_deployment.Description}; TLS 1.3, mutual TLS; defaults except {string.Join(' ', BenchmarkSettings.Concat(_extraSettings).Where(s => s.StartsWith("--Server:", StringComparison.Ordinal)).Select(s => s["--Server:".Length..]))})";

    public int? ServerProcessId => _children.Count > 0 ? _children[0].Id : null;

    /// <summary>Every node's process: the server CPU of a run is theirs together.</summary>
    public IReadOnlyList<int> ServerProcessIds => [.. _children.Select(child => child.Id)];

    public string RecentLog => string.Join("\n", _children.Select(child => child.RecentOutput));

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        (string FileName, string[] Prefix) server;
        try
        {
            server = _deployment.ServerAssembly is { } assembly
                ? File.Exists(assembly) ? (SelfCommand.DotnetHost, [assembly]) : throw new FileNotFoundException($"{assembly} does not exist", assembly)
                : SelfCommand.Sibling("SecureChat.Server.dll");
        }
        catch (FileNotFoundException ex)
        {
            throw new Cli.TargetUnavailableException(ex.Message, ex);
        }

        // Node 0 is the seed every other node joins; with one node there is no seed and it joins itself.
        var clusterPorts = Enumerable.Range(0, _deployment.Nodes).Select(_ => FreePort.Pick()).ToList();
        for (var node = 0; node < _deployment.Nodes; node++)
        {
            var port = FreePort.Pick();
            List<string> cluster = _deployment.Nodes == 1 ? [] :
                ["--cluster-port", clusterPorts[node].ToString(CultureInfo.InvariantCulture), "--seed", $"127.0.0.1:{clusterPorts[0].ToString(CultureInfo.InvariantCulture)}"];
            List<string> storage = _deployment.Postgres is { } postgres ? ["--postgres", postgres] : ["--data", Path.Combine(_certificates.Directory, $"rooms-{node}")];
            var launch = new NodeLaunch(_deployment.Nodes == 1 ? Name : $"{Name}-node{node}", server.FileName,
                [.. server.Prefix, "--host", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture), "--certs", _certificates.Directory,
                    .. storage, .. cluster, .. BenchmarkSettings, .. _extraSettings], port);
            _launches.Add(launch);
            _ports.Add(port);
            _children.Add(await StartNodeAsync(launch, cancellationToken));
        }
    }

    /// <summary>
    /// Kills every node without a graceful shutdown (SIGKILL, as a crash or an OOM kill would) and starts each again with
    /// the same port, certificates and storage; returns once each listens. Connected clients see their connections drop.
    /// </summary>
    public async Task RestartAsync(CancellationToken cancellationToken)
    {
        foreach (var child in _children)
        {
            await child.DisposeAsync();
        }

        _children.Clear();
        foreach (var launch in _launches)
        {
            _children.Add(await StartNodeAsync(launch, cancellationToken));
        }
    }

    private async Task<ChildProcess> StartNodeAsync(NodeLaunch launch, CancellationToken cancellationToken)
    {
        var child = ChildProcess.Start(launch.Name, launch.FileName, launch.Arguments, _cpu, AppContext.BaseDirectory);
        try
        {
            await child.WaitForPortAsync(launch.Port, TimeSpan.FromSeconds(60), cancellationToken);
            return child;
        }
        catch
        {
            await child.DisposeAsync();
            throw;
        }
    }

    public async Task<IReadOnlyList<IRelayClient>> JoinRoomAsync(string roomId, IReadOnlyList<string> memberIds, int payloadBytes,
        IReadOnlyList<IDeliverySink> sinks, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(SetupTimeout + TimeSpan.FromSeconds(memberIds.Count));
        var token = deadline.Token;
        var events = Channel.CreateUnbounded<(Member Member, Envelope Envelope)>();
        var room = new List<Member>();
        foreach (var (index, (id, sink)) in memberIds.Zip(sinks).Index())
        {
            // Members spread over the nodes: member i of every room connects to node i mod N.
            var connection = await FramedTlsClient.ConnectAsync(id, _ports[index % _ports.Count], _certificates.Client(id), _certificates.CaCertificate, WireLimits.DefaultMaxFrameBytes, token);
            var member = new Member(id, connection, sink);
            _members.Add(member);
            room.Add(member);
            connection.StartReading(body => events.Writer.TryWrite((member, EnvelopeCodec.Decode(body))), sink.Problem);
            await connection.SendNowAsync(EnvelopeCodec.Encode(new Envelope
            {
                Version = WireLimits.ProtocolVersion,
                Type = MessageType.Hello,
                SenderId = id,
                Hello = new Hello { ClientSoftware = "securechat-bench" },
            }), token);
            await ExpectAsync(events.Reader, member, MessageType.Welcome, token);
        }

        // One join at a time, as the protocol admits them: each takes a commit the server asks a member for.
        var joined = new List<Member>();
        foreach (var member in room)
        {
            var identity = member.Identity;
            member.Room = new ClientRoom(roomId, () => new GroupSession(identity, roomId, new TrustStore(), EngineOptions), SystemClock.Instance);
            await member.Connection.SendEffectsAsync(member.Room.LinkReady(), member.Id, token);
            joined.Add(member);
            await PumpUntilKeyedAsync(events.Reader, joined, token);
        }

        var epoch = room[0].Session!.Epoch;
        var suite = room[0].Session!.Suite;
        var historyTag = KeySchedule.HistoryTag(room[0].Session!.TranscriptHash);
        var clients = new List<IRelayClient>();
        foreach (var member in room)
        {
            var sink = member.Sink;
            if (_endToEnd)
            {
                var current = member;
                member.Connection.SetHandler(body => OnRunFrameDecrypting(body, current));
                clients.Add(new EncryptingClient(this, member, payloadBytes));
            }
            else
            {
                member.Connection.SetHandler(body => OnRunFrame(body, sink));
                clients.Add(new Client(member, roomId, epoch, suite, historyTag, payloadBytes));
            }
        }

        return clients;
    }

    public async Task<IAsyncDisposable> ConnectIdleAsync(string clientId, Action<string> onLost, CancellationToken cancellationToken)
    {
        var connection = await FramedTlsClient.ConnectAsync(clientId, FirstPort, _certificates.Client(clientId), _certificates.CaCertificate,
            WireLimits.DefaultMaxFrameBytes, cancellationToken);
        var welcomed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.StartReading(body =>
        {
            var envelope = Envelope.Parser.ParseFrom(body);
            switch (envelope.Type)
            {
                case MessageType.Welcome:
                    welcomed.TrySetResult();
                    break;
                case MessageType.Ping:
                    // Idle is not silent: without a PONG the server closes the connection after two keepalive intervals.
                    // Nothing else writes on an idle connection, so the reader may.
                    var pong = EnvelopeCodec.Encode(new Envelope { Version = WireLimits.ProtocolVersion, Type = MessageType.Pong, SenderId = clientId, Sequence = envelope.Sequence });
                    _ = connection.SendNowAsync(pong, CancellationToken.None).AsTask();
                    break;
                case MessageType.Error:
                    welcomed.TrySetException(new InvalidOperationException($"server error {envelope.Error.Code}: {envelope.Error.Reason}"));
                    onLost($"ERROR {envelope.Error.Code}");
                    break;
            }
        }, problem =>
        {
            welcomed.TrySetException(new IOException(problem));
            onLost(problem);
        });
        try
        {
            await connection.SendNowAsync(EnvelopeCodec.Encode(new Envelope
            {
                Version = WireLimits.ProtocolVersion,
                Type = MessageType.Hello,
                SenderId = clientId,
                Hello = new Hello { ClientSoftware = "securechat-bench" },
            }), cancellationToken);
            await welcomed.Task.WaitAsync(SetupTimeout, cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var member in _members)
        {
            await member.Connection.DisposeAsync();
            member.Dispose();
        }

        _members.Clear();
        foreach (var child in _children)
        {
            await child.DisposeAsync();
        }

        _children.Clear();
    }

    /// <summary>During the run: count APPLICATION stamps; anything else that arrives is reported, never silently ignored.</summary>
    private static void OnRunFrame(ReadOnlySpan<byte> body, IDeliverySink sink)
    {
        if (EnvelopeScan.TryFind(body, out var type, out var ciphertext) && type == (int)MessageType.Application && ciphertext.Length >= Stamp.Size)
        {
            sink.Delivered(ciphertext[..Stamp.Size]);
            return;
        }

        Envelope envelope;
        try
        {
            envelope = Envelope.Parser.ParseFrom(body);
        }
        catch (InvalidProtocolBufferException)
        {
            sink.Problem("unparsable frame from the server");
            return;
        }

        switch (envelope.Type)
        {
            case MessageType.Application when envelope.Ciphertext.Length >= Stamp.Size:
                sink.Delivered(envelope.Ciphertext.Span[..Stamp.Size]);
                break;
            case MessageType.Error:
                sink.Problem($"ERROR {envelope.Error.Code}{(envelope.Error.Fatal ? " (fatal)" : "")}");
                break;
            case MessageType.Ping:
                // Keepalive after 30 s of silence; runs are shorter than the disconnect that would follow.
                break;
            case MessageType.Relayed or MessageType.Stored:
                // The sender's acknowledgements (relayed; durable in the room's log): not deliveries.
                break;
            default:
                sink.Problem($"unexpected {envelope.Type} during the run");
                break;
        }
    }

    /// <summary>End to end: verify + decrypt every APPLICATION like a client, then read the stamp from the text.</summary>
    private void OnRunFrameDecrypting(ReadOnlySpan<byte> body, Member member)
    {
        Envelope envelope;
        try
        {
            envelope = Envelope.Parser.ParseFrom(body);
        }
        catch (InvalidProtocolBufferException)
        {
            member.Sink.Problem("unparsable frame from the server");
            return;
        }

        if (envelope.Type != MessageType.Application)
        {
            OnRunFrame(body, member.Sink);
            return;
        }

        DecryptOutcome outcome;
        lock (member.Gate)
        {
            // Timed inside the lock: waiting for the member's sender is not crypto.
            var started = ThreadCpu.NowNanoseconds();
            outcome = member.Session!.Decrypt(envelope);
            Interlocked.Add(ref _cryptoNanoseconds, ThreadCpu.NowNanoseconds() - started);
        }
        if (outcome is MessageDelivered delivered && delivered.Text.Length >= Stamp.Size * 2)
        {
            Span<byte> stamp = stackalloc byte[Stamp.Size];
            Convert.FromHexString(delivered.Text.AsSpan(0, Stamp.Size * 2), stamp, out _, out _);
            member.Sink.Delivered(stamp);
        }
        else
        {
            member.Sink.Problem($"not delivered: {outcome}");
        }
    }

    private static async Task ExpectAsync(ChannelReader<(Member Member, Envelope Envelope)> events, Member member, MessageType type, CancellationToken cancellationToken)
    {
        var (from, envelope) = await events.ReadAsync(cancellationToken);
        if (from != member || envelope.Type != type)
        {
            throw new InvalidOperationException($"{member.Id}: expected {type}, got {Describe(envelope)} for {from.Id}");
        }
    }

    /// <summary>Hands every frame to its member's room loop, until each joined member holds the keys of one, the newest, epoch.</summary>
    private static async Task PumpUntilKeyedAsync(ChannelReader<(Member Member, Envelope Envelope)> events, List<Member> joined, CancellationToken cancellationToken)
    {
        while (joined.Any(m => m.Room!.Phase != RoomPhase.Ready) || joined.Select(m => m.Room!.Epoch).Distinct().Skip(1).Any())
        {
            var (member, envelope) = await events.ReadAsync(cancellationToken);
            var room = member.Room ?? throw new InvalidOperationException($"{member.Id}: {Describe(envelope)} before it joined");
            if (envelope.Type != MessageType.Ping)
            {
                await member.Connection.SendEffectsAsync(room.Frame(envelope), member.Id, cancellationToken);
            }
        }
    }

    private static string Describe(Envelope envelope) =>
        envelope.Type == MessageType.Error ? $"ERROR {envelope.Error.Code} ({envelope.Error.Reason})" : envelope.Type.ToString();

    private sealed class Member(string id, FramedTlsClient connection, IDeliverySink sink) : IDisposable
    {
        public string Id { get; } = id;

        public FramedTlsClient Connection { get; } = connection;

        public IDeliverySink Sink { get; } = sink;

        /// <summary>The session is driven by the member's sender and its reader: one at a time, as a client actor would.</summary>
        public Lock Gate { get; } = new();

        public LocalIdentity Identity { get; } = new(id, IdentityKeyPair.Generate());

        /// <summary>The member's room loop; after the join, the run's messages use its session directly (the engine is what is measured).</summary>
        public ClientRoom? Room { get; set; }

        public GroupSession? Session => Room?.Session;

        public void Dispose()
        {
            Room?.Dispose();
            Identity.Dispose();
        }
    }

    /// <summary>End to end: each message is a fresh encrypt + sign of a text that starts with the stamp in hex.</summary>
    private sealed class EncryptingClient(SecureChatTarget target, Member member, int payloadBytes) : IRelayClient
    {
        private readonly char[] _text = new string('x', Math.Max(payloadBytes, Stamp.Size * 2)).ToCharArray();
        private readonly byte[] _stamp = new byte[Stamp.Size];

        public string ClientId => member.Id;

        public ValueTask SendAsync(Stamp stamp, CancellationToken cancellationToken)
        {
            stamp.WriteTo(_stamp);
            Convert.TryToHexString(_stamp, _text, out _);
            var text = new string(_text);
            SendOutcome outcome;
            lock (member.Gate)
            {
                var started = ThreadCpu.NowNanoseconds();
                outcome = member.Session!.Encrypt(text);
                Interlocked.Add(ref target._cryptoNanoseconds, ThreadCpu.NowNanoseconds() - started);
            }
            if (outcome is not MessageSealed sealedMessage)
            {
                throw new InvalidOperationException($"{member.Id}: the engine refused to send: {outcome}");
            }

            return member.Connection.AppendAsync(EnvelopeCodec.Encode(sealedMessage.Envelope), cancellationToken);
        }

        public ValueTask FlushAsync(CancellationToken cancellationToken) => member.Connection.FlushAsync(cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>
    /// Sends one pre-encoded APPLICATION envelope over and over, writing the stamp into the first bytes of the
    /// ciphertext and a counter into the nonce in place: the frame's size and layout never change.
    /// </summary>
    private sealed class Client : IRelayClient
    {
        private readonly FramedTlsClient _connection;
        private readonly byte[] _body;
        private readonly int _stampOffset;
        private readonly int _nonceOffset;
        private long _counter;

        /// <param name="historyTag">The epoch's history tag (protocol v2): the server refuses an APPLICATION without one.</param>
        public Client(Member member, string roomId, ulong epoch, CipherSuite suite, byte[] historyTag, int payloadBytes)
        {
            _connection = member.Connection;
            ClientId = member.Id;
            var nonce = RandomNumberGenerator.GetBytes(WireLimits.NonceBytes);
            var ciphertext = RandomNumberGenerator.GetBytes(payloadBytes);
            _body = EnvelopeCodec.Encode(new Envelope
            {
                Version = WireLimits.ProtocolVersion,
                Type = MessageType.Application,
                SenderId = member.Id,
                RoomId = roomId,
                Epoch = epoch,
                Sequence = 1,
                Nonce = ByteString.CopyFrom(nonce),
                Ciphertext = ByteString.CopyFrom(ciphertext),
                CipherSuite = suite,
                HistoryTag = ByteString.CopyFrom(historyTag),
            });
            _stampOffset = _body.AsSpan().IndexOf(ciphertext);
            _nonceOffset = _body.AsSpan().IndexOf(nonce);
            if (_stampOffset < 0 || _nonceOffset < 0)
            {
                throw new InvalidOperationException("could not find the ciphertext and nonce in the encoded envelope");
            }
        }

        public string ClientId { get; }

        public ValueTask SendAsync(Stamp stamp, CancellationToken cancellationToken)
        {
            stamp.WriteTo(_body.AsSpan(_stampOffset));
            System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(_body.AsSpan(_nonceOffset), ++_counter);
            return _connection.AppendAsync(_body, cancellationToken);
        }

        public ValueTask FlushAsync(CancellationToken cancellationToken) => _connection.FlushAsync(cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask; // the target owns the connection
    }
}

/// <summary>How one node of our server is started, kept so that <see cref="SecureChatTarget.RestartAsync"/> starts it the same way.</summary>
internal sealed record NodeLaunch(string Name, string FileName, IReadOnlyList<string> Arguments, int Port);
