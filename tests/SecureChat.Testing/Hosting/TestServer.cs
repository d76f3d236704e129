using System.Net.Security;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SecureChat.Client;
using SecureChat.Client.Connection;
using SecureChat.Client.Session;
using SecureChat.Server;
using SecureChat.Server.Listener;
using SecureChat.Server.Rooms;
using SecureChat.Testing.RawClients;
using Xunit.Abstractions;

namespace SecureChat.Testing.Hosting;

/// <summary>
/// The real server host in process (<see cref="EmbeddedServer"/>) on a loopback port chosen by the OS, with its
/// certificates and its room database in temp folders and its log collected; the log goes to the test output, when
/// given, on dispose. A test that restarts a server passes the same data folder (<c>--data DIR</c>) to both.
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    /// <summary>Floods log thousands of lines; the end of the log is what explains a failure.</summary>
    private const int OutputLines = 200;

    private readonly EmbeddedServer _server;
    private readonly ITestOutputHelper? _output;

    private TestServer(EmbeddedServer server, TestCertificates certificates, LogCollector logs, ITestOutputHelper? output)
    {
        _server = server;
        _output = output;
        Certificates = certificates;
        Logs = logs;
    }

    public TestCertificates Certificates { get; }

    public LogCollector Logs { get; }

    public ListenerStatus Status => _server.Services.GetRequiredService<ListenerStatus>();

    public int Port => _server.Endpoint.Port;

    /// <summary>The host's services (the listener's status, the metrics endpoint).</summary>
    public IServiceProvider Services => _server.Services;

    /// <summary>
    /// Starts a server; <paramref name="settings"/> are <c>Name=value</c> pairs of the Server section or whole
    /// <c>--switch=value</c> arguments. Without <c>--data=DIR</c> or <c>--postgres=...</c> among them its rooms are stored
    /// in a temp folder of its own, deleted on dispose.
    /// </summary>
    public static Task<TestServer> StartAsync(params string[] settings) => StartAsync(null, settings);

    /// <summary>As above; the end of the server's log goes to <paramref name="output"/> when the server is disposed.</summary>
    public static async Task<TestServer> StartAsync(ITestOutputHelper? output, params string[] settings)
    {
        var certificates = new TestCertificates();
        var storageGiven = settings.Any(s => s.StartsWith("--data", StringComparison.Ordinal) || s.StartsWith("--postgres", StringComparison.Ordinal));
        var logs = new LogCollector();
        string[] args =
        [
            "--host", "127.0.0.1", "--port", "0", "--certs", certificates.Directory,
            "--Server:HelloTimeout=00:00:03", "--Server:HandshakeTimeout=00:00:03", "--Server:CloseTimeout=00:00:01",
            .. settings.Select(s => s.StartsWith("--", StringComparison.Ordinal) ? s : "--Server:" + s),
        ];
        try
        {
            var server = await EmbeddedServer.StartAsync(args, logging => logging.ClearProviders().AddProvider(logs), throwawayStorage: !storageGiven);
            return new TestServer(server, certificates, logs, output);
        }
        catch
        {
            certificates.Dispose();
            throw;
        }
    }

    /// <summary>The rooms' shard region: where every room message goes.</summary>
    public IActorRef Rooms => _server.Services.GetRequiredService<ActorRegistry>().Get<RoomActor>();

    /// <summary>How many room actors the server holds right now.</summary>
    public async Task<int> RoomCountAsync()
    {
        var state = await Rooms.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TestClient.Timeout);
        return state.Shards.Sum(shard => shard.EntityIds.Count);
    }

    /// <summary>A room's state as it answers <see cref="GetRoomState"/> (this starts the room, restoring it from storage, if it was not running).</summary>
    public Task<RoomStatus> RoomStateAsync(string roomId) => Rooms.Ask<RoomStatus>(new GetRoomState(roomId), TestClient.Timeout);

    public SslClientAuthenticationOptions TlsClientOptions(string clientId) => Certificates.TlsClientOptions(clientId);

    /// <summary>What a real client uses to reach this server (or, with <paramref name="port"/>, something in front of it) as <paramref name="clientId"/>.</summary>
    public TlsServerConnector ChatConnector(string clientId, int? port = null) => Certificates.ChatConnector(clientId, port ?? Port);

    /// <summary>
    /// A real client of this server (or, with <paramref name="port"/>, of something in front of it): a fresh identity,
    /// a quick first reconnect, the session actor named after the client.
    /// </summary>
    public ClientOptions ChatClientOptions(string clientId, int? port = null) =>
        ClientOptions.WithNewIdentity(clientId, ChatConnector(clientId, port)) with
        {
            Settings = new ClientSessionSettings { InitialBackoff = TimeSpan.FromMilliseconds(100) },
            ActorName = clientId,
        };

    /// <summary>A raw TLS connection as <paramref name="clientId"/>: no HELLO sent yet.</summary>
    public Task<TestClient> ConnectAsync(string clientId, int? receiveBufferBytes = null) =>
        TestClient.ConnectAsync(clientId, Port, TlsClientOptions(clientId), receiveBufferBytes);

    public async Task<TestClient> ConnectAndHelloAsync(string clientId, int? receiveBufferBytes = null)
    {
        var client = await ConnectAsync(clientId, receiveBufferBytes);
        await client.HelloAsync();
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        foreach (var line in _output is null ? [] : Logs.Lines.TakeLast(OutputLines))
        {
            _output!.WriteLine(line);
        }

        Certificates.Dispose();
    }
}
