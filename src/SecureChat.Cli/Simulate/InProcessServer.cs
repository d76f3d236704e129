using System.Net;
using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using SecureChat.Server;
using SecureChat.Server.Listener;

namespace SecureChat.Cli.Simulate;

/// <summary>
/// The relay server started inside this process on a free loopback port, with the same builder the
/// server program uses. Its log goes to stderr (warnings and up) so stdout stays for the report.
/// </summary>
internal sealed class InProcessServer : IAsyncDisposable
{
    private readonly IHost _host;

    private InProcessServer(IHost host, Endpoint endpoint)
    {
        _host = host;
        Endpoint = endpoint;
    }

    public Endpoint Endpoint { get; }

    public static async Task<InProcessServer> StartAsync(string certsDirectory, CancellationToken cancellationToken)
    {
        var host = ServerHost.Build(["--host", "127.0.0.1", "--port", "0", "--certs", certsDirectory], services =>
        {
            services.Configure<LoggerFilterOptions>(filter => filter.MinLevel = LogLevel.Warning);
            services.Configure<ConsoleLoggerOptions>(console => console.LogToStandardErrorThreshold = LogLevel.Trace);

            // Ctrl-C and SIGTERM belong to the simulator, which stops this server itself.
            services.AddSingleton<IHostLifetime, EmbeddedLifetime>();
        });
        try
        {
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
            IPEndPoint bound = await host.Services.GetRequiredService<ListenerStatus>().Bound.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
            return new InProcessServer(host, new Endpoint("127.0.0.1", bound.Port));
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>A host lifetime that does not listen to console signals.</summary>
    private sealed class EmbeddedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        var system = _host.Services.GetRequiredService<ActorSystem>();
        await _host.StopAsync(CancellationToken.None).ConfigureAwait(false);

        // Finish the server's actor system now: left to the process-exit hook, Akka reports it on stdout,
        // which has to hold nothing but the report.
        await system.Terminate().ConfigureAwait(false);
        _host.Dispose();
    }
}
