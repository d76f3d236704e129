using System.Globalization;
using System.Threading.Channels;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using SecureChat.Benchmarks.Cli;
using SecureChat.Benchmarks.Load;
using SecureChat.Benchmarks.Processes;
using SecureChat.Transport.Tls;

namespace SecureChat.Benchmarks.Targets.Nats;

/// <summary>
/// nats-server (Debian package) on a loopback port with TLS and required client certificates from the
/// benchmark CA, through NATS.Net. nats-server 2.9 has no TLS minimum-version setting, so TLS 1.3 is
/// enforced by the clients, which offer nothing else.
/// <list type="bullet">
/// <item><c>nats</c>: a room is a subject, members subscribe and publish with no_echo; core NATS (QoS 0, no persistence).</item>
/// <item><c>jetstream</c>: the store-and-forward peer of our durable room log. A room is a JetStream stream with file
/// storage over the subjects <c>ROOM.SENDER</c>; each member has its own durable pull consumer (its acknowledged
/// position, acked every <see cref="AckEvery"/> messages with ack policy "all", as our clients acknowledge positions in
/// batches). Senders publish on their own subject without waiting for each publish ack (as our senders do not wait for
/// the durable ack); the stream stores every message before its consumers deliver it. A stream has no no_echo: each
/// member's consumer also gets its own messages, which the member skips by subject, so the server delivers R × N × N
/// messages for R × N × (N - 1) counted deliveries.</item>
/// </list>
/// </summary>
internal sealed class NatsTarget : IRelayTarget
{
    private const int AckEvery = 64;

    private readonly BenchCertificates _certificates;
    private readonly int? _cpu;
    private readonly TextWriter _progress;
    private readonly List<NatsConnection> _connections = [];
    private readonly List<Task> _readers = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly bool _jetStream;
    private ChildProcess? _child;
    private string _version = "nats-server";
    private int _port;

    public NatsTarget(BenchCertificates certificates, int? cpu, TextWriter progress, bool jetStream = false)
    {
        _certificates = certificates;
        _cpu = cpu;
        _progress = progress;
        _jetStream = jetStream;
    }

    public string Name => _jetStream ? "jetstream" : "nats";

    public string Description => _jetStream
        ? $"{_version} (Debian package; TLS with verify, clients TLS 1.3 only; JetStream, file storage, a stream per room, a durable pull consumer per member acked every {AckEvery}) via NATS.Net"
        : $"{_version} (Debian package; TLS with verify, clients TLS 1.3 only; no_echo; core NATS, QoS 0) via NATS.Net";

    public int? ServerProcessId => _child?.Id;

    public string RecentLog => _child?.RecentOutput ?? "";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var program = DebianPackages.Find("nats-server", "nats-server", _progress, out var why)
            ?? throw new TargetUnavailableException(why);
        _version = DebianPackages.Version(program, "--version");
        _port = FreePort.Pick();
        var config = Path.Combine(_certificates.Directory, $"nats-{_port}.conf");
        var store = Path.Combine(_certificates.Directory, $"jetstream-{_port}");
        var jetStream = _jetStream ? $$"""jetstream { store_dir: "{{store}}" }""" : "";
        await File.WriteAllTextAsync(config, $$"""
            listen: "127.0.0.1:{{_port}}"
            max_payload: 1MB
            {{jetStream}}
            tls {
              cert_file: "{{_certificates.ServerCertificatePath}}"
              key_file: "{{_certificates.ServerKeyPath}}"
              ca_file: "{{_certificates.CaCertificatePath}}"
              verify: true
              timeout: 5
            }
            """, cancellationToken);
        _child = ChildProcess.Start(Name, program, ["-c", config], _cpu);
        await _child.WaitForPortAsync(_port, TimeSpan.FromSeconds(30), cancellationToken);
    }

    public async Task<IReadOnlyList<IRelayClient>> JoinRoomAsync(string roomId, IReadOnlyList<string> memberIds, int payloadBytes,
        IReadOnlyList<IDeliverySink> sinks, CancellationToken cancellationToken)
    {
        var stream = StreamName(roomId);
        var clients = new List<IRelayClient>();
        for (var i = 0; i < memberIds.Count; i++)
        {
            var id = memberIds[i];
            var sink = sinks[i];
            var connection = new NatsConnection(Options(id));
            _connections.Add(connection);
            await connection.ConnectAsync();
            var subject = roomId;
            if (_jetStream)
            {
                subject = $"{roomId}.{id}";
                var context = new NatsJSContext(connection);
                if (i == 0)
                {
                    await context.CreateStreamAsync(new StreamConfig(stream, [roomId + ".>"]) { Storage = StreamConfigStorage.File }, cancellationToken);
                }

                var consumer = await context.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig(id)
                {
                    AckPolicy = ConsumerConfigAckPolicy.All,
                    DeliverPolicy = ConsumerConfigDeliverPolicy.New,
                    MaxAckPending = 64 * 1024,
                }, cancellationToken);
                _readers.Add(Task.Run(() => ConsumeAsync(consumer, subject, sink), CancellationToken.None));
            }
            else
            {
                var subscription = await connection.SubscribeCoreAsync<byte[]>(roomId, cancellationToken: cancellationToken);
                _readers.Add(Task.Run(() => ReceiveAsync(subscription, sink), CancellationToken.None));

                // A round trip after SUB: the server has registered the subscription before anyone publishes.
                await connection.PingAsync(cancellationToken);
            }

            clients.Add(new Client(id, connection, subject, payloadBytes));
        }

        return clients;
    }

    private async Task ReceiveAsync(INatsSub<byte[]> subscription, IDeliverySink sink)
    {
        try
        {
            await foreach (var message in subscription.Msgs.ReadAllAsync(_stop.Token))
            {
                if (message.Data is { Length: >= Stamp.Size } data)
                {
                    sink.Delivered(data);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
        finally
        {
            await subscription.DisposeAsync();
        }
    }

    private async Task ConsumeAsync(INatsJSConsumer consumer, string ownSubject, IDeliverySink sink)
    {
        var unacked = 0;
        try
        {
            await foreach (var message in consumer.ConsumeAsync<byte[]>(opts: new NatsJSConsumeOpts { MaxMsgs = 1000 }, cancellationToken: _stop.Token))
            {
                if (message.Subject != ownSubject && message.Data is { Length: >= Stamp.Size } data)
                {
                    sink.Delivered(data);
                }

                if (++unacked == AckEvery)
                {
                    unacked = 0;
                    await message.AckAsync(cancellationToken: _stop.Token);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
        catch (NatsException ex)
        {
            sink.Problem($"consumer {consumer.Info.Name}: {ex.Message}");
        }
    }

    /// <summary>Stream names may not hold '.', '*', '>' or spaces; room ids are letters, digits, '-' and '_'.</summary>
    private static string StreamName(string roomId) => "room_" + roomId.Replace('.', '_');

    public async Task<IAsyncDisposable> ConnectIdleAsync(string clientId, Action<string> onLost, CancellationToken cancellationToken)
    {
        var connection = new NatsConnection(Options(clientId));
        try
        {
            await connection.ConnectAsync();
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }

        connection.ConnectionDisconnected += (_, _) =>
        {
            onLost("disconnected");
            return ValueTask.CompletedTask;
        };
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }

        await Task.WhenAll(_readers).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_child is not null)
        {
            await _child.DisposeAsync();
        }

        _stop.Dispose();
    }

    private NatsOpts Options(string clientId)
    {
        var tls = TlsSettings.ForClient(_certificates.Client(clientId), _certificates.CaCertificate, "localhost");
        return NatsOpts.Default with
        {
            Url = string.Create(CultureInfo.InvariantCulture, $"tls://127.0.0.1:{_port}"),
            Name = clientId,
            Echo = false,
            TlsOpts = new NatsTlsOpts
            {
                Mode = TlsMode.Require,
                ConfigureClientAuthentication = options =>
                {
                    options.TargetHost = tls.TargetHost;
                    options.EnabledSslProtocols = tls.EnabledSslProtocols;
                    options.ClientCertificateContext = tls.ClientCertificateContext;
                    options.CertificateChainPolicy = tls.CertificateChainPolicy;
                    options.RemoteCertificateValidationCallback = tls.RemoteCertificateValidationCallback;
                    options.CertificateRevocationCheckMode = tls.CertificateRevocationCheckMode;
                    return ValueTask.CompletedTask;
                },
            },

            // Back-pressure instead of client-side drops, so losses are the server's.
            SubPendingChannelFullMode = BoundedChannelFullMode.Wait,
            SubPendingChannelCapacity = 64 * 1024,
        };
    }

    private sealed class Client(string id, NatsConnection connection, string subject, int payloadBytes) : IRelayClient
    {
        private readonly byte[] _payload = System.Security.Cryptography.RandomNumberGenerator.GetBytes(payloadBytes);

        public string ClientId => id;

        public ValueTask SendAsync(Stamp stamp, CancellationToken cancellationToken)
        {
            // PublishAsync copies the payload into the connection's write buffer before it completes.
            stamp.WriteTo(_payload);
            return connection.PublishAsync(subject, _payload, cancellationToken: cancellationToken);
        }

        // NATS.Net writes its buffer by itself as soon as there is something in it.
        public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
