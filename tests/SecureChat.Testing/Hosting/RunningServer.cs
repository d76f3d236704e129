using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecureChat.Server;
using SecureChat.Server.Listener;
using SecureChat.Testing.RawClients;
using SecureChat.Transport.Certificates;
using SecureChat.Transport.Tls;

namespace SecureChat.Testing.Hosting;

/// <summary>The real server host, in process, on a loopback port chosen by the OS, with certificates in a temp folder.</summary>
public sealed class RunningServer : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly TempDirectory _dir;
    private readonly List<IDisposable> _owned = [];
    private Xunit.Abstractions.ITestOutputHelper? _output;

    private RunningServer(IHost host, TempDirectory dir, LogCollector logs, ListenerStatus status, int port)
    {
        _host = host;
        _dir = dir;
        Logs = logs;
        Status = status;
        Port = port;
        Authority = CertificateAuthority.Load(dir.Path);
        CaCertificate = PemFiles.LoadCertificate(CertificateFiles.CaCertificatePath(dir.Path));
    }

    public LogCollector Logs { get; }

    public ListenerStatus Status { get; }

    public int Port { get; }

    public CertificateAuthority Authority { get; }

    public X509Certificate2 CaCertificate { get; }

    /// <summary>Starts a server; <paramref name="settings"/> are <c>Name=value</c> pairs of the Server section.</summary>
    public static Task<RunningServer> StartAsync(params string[] settings) => StartAsync(null, settings);

    /// <summary>As above; the server's log goes to the test output when the server is disposed.</summary>
    public static async Task<RunningServer> StartAsync(Xunit.Abstractions.ITestOutputHelper? output, params string[] settings)
    {
        var dir = new TempDirectory();
        var logs = new LogCollector();
        string[] args =
        [
            "--port", "0", "--certs", dir.Path,
            "--Server:HelloTimeout=00:00:03", "--Server:HandshakeTimeout=00:00:03", "--Server:CloseTimeout=00:00:01",
            .. settings.Select(s => "--Server:" + s),
        ];
        var host = ServerHost.Build(args, services => services.AddSingleton<ILoggerProvider>(logs));
        await host.StartAsync();
        var status = host.Services.GetRequiredService<ListenerStatus>();
        var endpoint = await status.Bound.WaitAsync(TestClient.Timeout);
        return new RunningServer(host, dir, logs, status, endpoint.Port) { _output = output };
    }

    public X509Certificate2 IssueClientCertificate(string clientId)
    {
        var certificate = Authority.IssueClientCertificate(clientId);
        _owned.Add(certificate);
        return certificate;
    }

    public SslClientAuthenticationOptions ClientOptions(string clientId) =>
        TlsSettings.ForClient(IssueClientCertificate(clientId), CaCertificate, "localhost");

    /// <summary>Options that verify the server but present no client certificate.</summary>
    public SslClientAuthenticationOptions AnonymousClientOptions(SslProtocols protocols = SslProtocols.Tls13) => new()
    {
        TargetHost = "localhost",
        EnabledSslProtocols = protocols,
        RemoteCertificateValidationCallback = PeerCertificateValidator.ForServer(CaCertificate).Validate,
    };

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
        foreach (var line in _output is null ? [] : Logs.Lines)
        {
            _output!.WriteLine(line);
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
