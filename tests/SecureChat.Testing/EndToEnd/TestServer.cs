using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecureChat.Server;
using SecureChat.Server.Listener;

namespace SecureChat.Testing.EndToEnd;

/// <summary>The real relay server, in process, on a free loopback port, with its certificates in a temp folder.</summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly IHost _host;

    private TestServer(IHost host, TestCertificates certificates, int port)
    {
        _host = host;
        Certificates = certificates;
        Port = port;
    }

    public TestCertificates Certificates { get; }

    public int Port { get; }

    public static async Task<TestServer> StartAsync(params string[] extraArgs)
    {
        var certificates = new TestCertificates();
        var host = ServerHost.Build(["--host", "127.0.0.1", "--port", "0", "--certs", certificates.Directory, .. extraArgs],
            services => services.Configure<LoggerFilterOptions>(filter => filter.MinLevel = LogLevel.Warning));
        await host.StartAsync();
        IPEndPoint bound = await host.Services.GetRequiredService<ListenerStatus>().Bound.WaitAsync(TimeSpan.FromSeconds(30));
        return new TestServer(host, certificates, bound.Port);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        Certificates.Dispose();
    }
}
