using System.Buffers;
using System.Globalization;
using System.Security.Authentication;
using MQTTnet;
using MQTTnet.Protocol;
using SecureChat.Benchmarks.Cli;
using SecureChat.Benchmarks.Load;
using SecureChat.Benchmarks.Processes;
using SecureChat.Transport.Tls;

namespace SecureChat.Benchmarks.Targets.Mqtt;

/// <summary>
/// mosquitto (Debian package) on a loopback port with TLS 1.3 and required client certificates from the
/// benchmark CA (the certificate CN is the MQTT user name); a room is a topic, MQTT v5 with noLocal,
/// QoS 0, no persistence, through MQTTnet. Its queue limits stay at their defaults (max_queued_messages
/// 1000): what a user would run, and the reason its losses are counted.
/// </summary>
internal sealed class MosquittoTarget : IRelayTarget
{
    private readonly BenchCertificates _certificates;
    private readonly int? _cpu;
    private readonly TextWriter _progress;
    private readonly MqttClientFactory _factory = new();
    private readonly List<IMqttClient> _clients = [];
    private ChildProcess? _child;
    private string _version = "mosquitto";
    private int _port;

    public MosquittoTarget(BenchCertificates certificates, int? cpu, TextWriter progress)
    {
        _certificates = certificates;
        _cpu = cpu;
        _progress = progress;
    }

    public string Name => "mosquitto";

    public string Description => $"{_version} (Debian package; TLS 1.3, require_certificate; MQTT v5 noLocal, QoS 0, persistence off, default queue limits) via MQTTnet";

    public int? ServerProcessId => _child?.Id;

    public string RecentLog => _child?.RecentOutput ?? "";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var program = DebianPackages.Find("mosquitto", "mosquitto", _progress, out var why)
            ?? throw new TargetUnavailableException(why);
        _version = DebianPackages.Version(program, "-h");
        _port = FreePort.Pick();
        var config = Path.Combine(_certificates.Directory, $"mosquitto-{_port}.conf");
        await File.WriteAllTextAsync(config, string.Create(CultureInfo.InvariantCulture, $"""
            # Started as root by the benchmark: keep root so it can read the owner-only key in the temp folder.
            user root
            persistence false
            log_dest stderr
            log_type error
            log_type warning
            per_listener_settings false
            allow_anonymous false
            listener {_port} 127.0.0.1
            cafile {_certificates.CaCertificatePath}
            certfile {_certificates.ServerCertificatePath}
            keyfile {_certificates.ServerKeyPath}
            require_certificate true
            use_identity_as_username true
            tls_version tlsv1.3
            set_tcp_nodelay true

            """), cancellationToken);
        _child = ChildProcess.Start(Name, program, ["-c", config], _cpu);
        await _child.WaitForPortAsync(_port, TimeSpan.FromSeconds(30), cancellationToken);
    }

    public async Task<IReadOnlyList<IRelayClient>> JoinRoomAsync(string roomId, IReadOnlyList<string> memberIds, int payloadBytes,
        IReadOnlyList<IDeliverySink> sinks, CancellationToken cancellationToken)
    {
        var relayClients = new List<IRelayClient>();
        for (var i = 0; i < memberIds.Count; i++)
        {
            var id = memberIds[i];
            var sink = sinks[i];
            var client = _factory.CreateMqttClient();
            _clients.Add(client);
            client.ApplicationMessageReceivedAsync += e =>
            {
                var payload = e.ApplicationMessage.Payload;
                if (payload.Length >= Stamp.Size)
                {
                    Span<byte> stamp = stackalloc byte[Stamp.Size];
                    payload.Slice(0, Stamp.Size).CopyTo(stamp);
                    sink.Delivered(stamp);
                }

                return Task.CompletedTask;
            };
            client.DisconnectedAsync += e =>
            {
                if (e.ClientWasConnected && e.Reason != MqttClientDisconnectReason.NormalDisconnection)
                {
                    sink.Problem($"disconnected: {e.Reason}");
                }

                return Task.CompletedTask;
            };

            var options = Options(id);
            await client.ConnectAsync(options, cancellationToken);

            // SUBACK comes back once the broker has the subscription, before anyone publishes.
            var subscribe = _factory.CreateSubscribeOptionsBuilder()
                .WithTopicFilter(filter => filter.WithTopic(roomId).WithNoLocal(true).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtMostOnce))
                .Build();
            await client.SubscribeAsync(subscribe, cancellationToken);
            relayClients.Add(new Client(id, client, roomId, payloadBytes));
        }

        return relayClients;
    }

    public async Task<IAsyncDisposable> ConnectIdleAsync(string clientId, Action<string> onLost, CancellationToken cancellationToken)
    {
        var client = _factory.CreateMqttClient();
        client.DisconnectedAsync += e =>
        {
            if (e.ClientWasConnected && e.Reason != MqttClientDisconnectReason.NormalDisconnection)
            {
                onLost($"disconnected: {e.Reason}");
            }

            return Task.CompletedTask;
        };
        try
        {
            await client.ConnectAsync(Options(clientId), cancellationToken);
        }
        catch
        {
            client.Dispose();
            throw;
        }

        return new IdleClient(client);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            try
            {
                if (client.IsConnected)
                {
                    await client.DisconnectAsync();
                }
            }
            catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or ObjectDisposedException)
            {
                // The broker may already be gone.
            }

            client.Dispose();
        }

        if (_child is not null)
        {
            await _child.DisposeAsync();
        }
    }

    private MqttClientOptions Options(string clientId)
    {
        var validator = PeerCertificateValidator.ForServer(_certificates.CaCertificate);
        return new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", _port)
            .WithClientId(clientId)
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            .WithCleanStart(true)
            .WithTimeout(TimeSpan.FromSeconds(30))
            .WithTlsOptions(tls => tls
                .UseTls()
                .WithSslProtocols(SslProtocols.Tls13)
                .WithTargetHost("localhost")
                .WithClientCertificates([_certificates.Client(clientId)])
                .WithCertificateValidationHandler(args => validator.Validate(this, args.Certificate, args.Chain, args.SslPolicyErrors)))
            .Build();
    }

    private sealed class IdleClient(IMqttClient client) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                if (client.IsConnected)
                {
                    await client.DisconnectAsync();
                }
            }
            catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or ObjectDisposedException)
            {
                // The broker may already be gone.
            }

            client.Dispose();
        }
    }

    private sealed class Client(string id, IMqttClient client, string topic, int payloadBytes) : IRelayClient
    {
        private readonly byte[] _payload = System.Security.Cryptography.RandomNumberGenerator.GetBytes(payloadBytes);

        public string ClientId => id;

        public async ValueTask SendAsync(Stamp stamp, CancellationToken cancellationToken)
        {
            stamp.WriteTo(_payload);

            // A copy per message: MQTTnet keeps a reference to the payload inside the message it sends.
            var message = new MqttApplicationMessageBuilder()
                .WithTopic(topic)
                .WithPayload(_payload.ToArray())
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtMostOnce)
                .Build();
            await client.PublishAsync(message, cancellationToken);
        }

        // MQTTnet writes each packet when it is published.
        public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
