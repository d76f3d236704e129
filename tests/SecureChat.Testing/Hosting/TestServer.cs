using System.Net.Security;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecureChat.Server;
using SecureChat.Server.Listener;
using SecureChat.Server.Rooms;
using SecureChat.Testing.RawClients;
using SecureChat.Transport.Certificates;
using SecureChat.Transport.Tls;
using Xunit.Abstractions;

namespace SecureChat.Testing.Hosting;

/// <summary>
/// The real server host in process on a loopback port chosen by the OS (like the server tests' RunningServer,
/// which this mirrors), but exposing what attacks need to observe: the room registry and every log line.
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly TempDirectory _dir;
    private readonly List<IDisposable> _owned = [];
    private readonly ITestOutputHelper? _output;

    private TestServer(IHost host, TempDirectory dir, LogCollector logs, int port, ITestOutputHelper? output)
    {
        _host = host;
        _dir = dir;
        _output = output;
        Logs = logs;
        Port = port;
        Authority = CertificateAuthority.Load(dir.Path);
        CaCertificate = PemFiles.LoadCertificate(CertificateFiles.CaCertificatePath(dir.Path));
    }

    public LogCollector Logs { get; }

    public int Port { get; }

    public CertificateAuthority Authority { get; }

    public System.Security.Cryptography.X509Certificates.X509Certificate2 CaCertificate { get; }

    /// <summary>Starts a server; <paramref name="settings"/> are <c>Name=value</c> pairs of the Server section.</summary>
    public static async Task<TestServer> StartAsync(ITestOutputHelper? output, params string[] settings)
    {
        var dir = new TempDirectory();
        var logs = new LogCollector();
        string[] args =
        [
            "--port", "0", "--certs", dir.Path,
            "--Server:HelloTimeout=00:00:03", "--Server:HandshakeTimeout=00:00:02", "--Server:CloseTimeout=00:00:01",
            .. settings.Select(s => s.StartsWith("--", StringComparison.Ordinal) ? s : "--Server:" + s),
        ];
        var host = ServerHost.Build(args, services => services.AddSingleton<ILoggerProvider>(logs));
        await host.StartAsync();
        var endpoint = await host.Services.GetRequiredService<ListenerStatus>().Bound.WaitAsync(TestClient.Timeout);
        return new TestServer(host, dir, logs, endpoint.Port, output);
    }

    /// <summary>How many room actors the server holds right now.</summary>
    public async Task<int> RoomCountAsync()
    {
        var registry = _host.Services.GetRequiredService<ActorRegistry>().Get<RoomRegistry>();
        var count = await registry.Ask<RoomRegistry.RoomCount>(RoomRegistry.GetRoomCount.Instance, TestClient.Timeout);
        return count.Count;
    }

    public SslClientAuthenticationOptions ClientOptions(string clientId)
    {
        var certificate = Authority.IssueClientCertificate(clientId);
        _owned.Add(certificate);
        return TlsSettings.ForClient(certificate, CaCertificate, "localhost");
    }

    public Task<TestClient> ConnectAsync(string clientId, int? receiveBufferBytes = null) =>
        TestClient.ConnectAsync(clientId, Port, ClientOptions(clientId), receiveBufferBytes);

    public async Task<TestClient> ConnectAndHelloAsync(string clientId, int? receiveBufferBytes = null)
    {
        var client = await ConnectAsync(clientId, receiveBufferBytes);
        await client.HelloAsync();
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            await _host.StopAsync(stop.Token);
        }

        _host.Dispose();
        if (_output is not null)
        {
            foreach (var line in Logs.Lines.TakeLast(200))
            {
                _output.WriteLine(line);
            }
        }

        foreach (var owned in _owned)
        {
            owned.Dispose();
        }

        Authority.Dispose();
        CaCertificate.Dispose();
        _dir.Dispose();
    }
}
