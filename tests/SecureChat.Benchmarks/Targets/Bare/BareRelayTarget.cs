using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SecureChat.Benchmarks.Load;
using SecureChat.Benchmarks.Processes;
using SecureChat.Core.Wire;

namespace SecureChat.Benchmarks.Targets.Bare;

/// <summary>
/// The bare TLS relay as a target: by default in its own process (this executable's hidden
/// <c>serve-bare</c> mode) so that its CPU and memory are measured like the other servers'; in-process
/// for the unit test's smoke run.
/// </summary>
internal sealed class BareRelayTarget : IRelayTarget
{
    private readonly BenchCertificates _certificates;
    private readonly bool _inProcess;
    private readonly int? _cpu;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly List<FramedTlsClient> _clients = [];
    private BareRelayServer? _server;
    private ChildProcess? _child;
    private int _port;

    public BareRelayTarget(BenchCertificates certificates, bool inProcess, int? cpu, IReadOnlyDictionary<string, string>? environment = null)
    {
        _environment = environment ?? new Dictionary<string, string>();
        _certificates = certificates;
        _inProcess = inProcess;
        _cpu = cpu;
    }

    public string Name => "bare";

    public string Description => $"bare TLS relay (TcpListener + SslStream, TLS 1.3, mutual TLS, {(_inProcess ? "in this process" : "own process")}" +
        $"{(_inProcess ? string.Empty : global::SecureChat.Benchmarks.Targets.SecureChat.SecureChatTarget.EnvironmentText(_environment))})";

    public int? ServerProcessId => _child?.Id;

    public string RecentLog => _child?.RecentOutput ?? "";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_inProcess)
        {
            _server = new BareRelayServer(_certificates.Server, _certificates.CaCertificate, WireLimits.DefaultMaxFrameBytes);
            _port = _server.Start(0).Port;
            return;
        }

        _port = FreePort.Pick();
        var (file, prefix) = SelfCommand.Get();
        _child = ChildProcess.Start(Name, file,
            [.. prefix, "serve-bare", "--certs", _certificates.Directory, "--port", _port.ToString(CultureInfo.InvariantCulture)], _cpu, environment: _environment);
        await _child.WaitForPortAsync(_port, TimeSpan.FromSeconds(30), cancellationToken);
    }

    public async Task<IReadOnlyList<IRelayClient>> JoinRoomAsync(string roomId, IReadOnlyList<string> memberIds, int payloadBytes,
        IReadOnlyList<IDeliverySink> sinks, CancellationToken cancellationToken)
    {
        var clients = new List<IRelayClient>(memberIds.Count);
        for (var i = 0; i < memberIds.Count; i++)
        {
            var sink = sinks[i];
            var connection = await FramedTlsClient.ConnectAsync(memberIds[i], _port, _certificates.Client(memberIds[i]),
                _certificates.CaCertificate, WireLimits.DefaultMaxFrameBytes, cancellationToken);
            _clients.Add(connection);

            // The relay answers a join with an empty frame once the member is in the room; before that a
            // message from another member could miss it.
            var joined = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            connection.StartReading(body =>
            {
                if (body.IsEmpty)
                {
                    joined.TrySetResult();
                    return;
                }

                sink.Delivered(body[..Stamp.Size]);
            }, sink.Problem);
            await connection.SendNowAsync(Encoding.UTF8.GetBytes(roomId), cancellationToken);
            await joined.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            clients.Add(new Client(connection, payloadBytes));
        }

        return clients;
    }

    public async Task<IAsyncDisposable> ConnectIdleAsync(string clientId, Action<string> onLost, CancellationToken cancellationToken)
    {
        // The bare relay has no greeting: a completed mutual-TLS handshake is the whole authentication.
        var connection = await FramedTlsClient.ConnectAsync(clientId, _port, _certificates.Client(clientId),
            _certificates.CaCertificate, WireLimits.DefaultMaxFrameBytes, cancellationToken);
        connection.StartReading(static _ => { }, onLost);
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }

        _clients.Clear();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        if (_child is not null)
        {
            await _child.DisposeAsync();
        }
    }

    private sealed class Client : IRelayClient
    {
        private readonly FramedTlsClient _connection;
        private readonly byte[] _payload;

        public Client(FramedTlsClient connection, int payloadBytes)
        {
            _connection = connection;
            _payload = RandomNumberGenerator.GetBytes(payloadBytes);
        }

        public string ClientId => _connection.ClientId;

        public ValueTask SendAsync(Stamp stamp, CancellationToken cancellationToken)
        {
            stamp.WriteTo(_payload);
            return _connection.AppendAsync(_payload, cancellationToken);
        }

        public ValueTask FlushAsync(CancellationToken cancellationToken) => _connection.FlushAsync(cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask; // the target owns the connection
    }
}
