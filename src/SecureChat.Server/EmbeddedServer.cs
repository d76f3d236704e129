using System.Net;
using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecureChat.Server.Listener;

namespace SecureChat.Server;

/// <summary>
/// The real server host (<see cref="ServerHost.Build"/>) running inside another program: the simulator and the
/// tests. It does not listen to console signals (Ctrl-C belongs to the program that embeds it); disposing it stops
/// the host and finishes its actor system.
/// </summary>
public sealed class EmbeddedServer : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly string? _throwawayData;

    private EmbeddedServer(IHost host, IPEndPoint endpoint, string? throwawayData)
    {
        _host = host;
        Endpoint = endpoint;
        _throwawayData = throwawayData;
    }

    /// <summary>Where the listener is bound: with <c>--port 0</c>, the port the OS chose.</summary>
    public IPEndPoint Endpoint { get; }

    public IServiceProvider Services => _host.Services;

    /// <summary>
    /// Builds and starts the host. <paramref name="args"/> is the server's command line (<c>--host</c>, <c>--port</c>,
    /// <c>--certs</c>, <c>--Server:Name=value</c>); <paramref name="logging"/> changes the host's logging (a single-line
    /// console log unless it says otherwise). With <paramref name="throwawayStorage"/> its rooms are stored in a new temp
    /// folder, deleted when the server is disposed (the simulator, tests), instead of where <c>--data</c> says.
    /// </summary>
    public static async Task<EmbeddedServer> StartAsync(IEnumerable<string> args, Action<ILoggingBuilder>? logging = null, bool throwawayStorage = false,
        CancellationToken cancellationToken = default)
    {
        var throwawayData = throwawayStorage ? Directory.CreateTempSubdirectory("securechat-rooms-").FullName : null;
        var host = ServerHost.Build([.. args, .. throwawayData is null ? Array.Empty<string>() : ["--data", throwawayData]], services =>
        {
            services.AddSingleton<IHostLifetime, EmbeddedLifetime>();
            if (logging is not null)
            {
                services.AddLogging(logging);
            }
        });
        try
        {
            await host.StartAsync(cancellationToken).ConfigureAwait(false);

            // The listener binds in its StartAsync, so the endpoint is known (or the start failed) by now.
            var endpoint = await host.Services.GetRequiredService<ListenerStatus>().Bound.WaitAsync(cancellationToken).ConfigureAwait(false);
            return new EmbeddedServer(host, endpoint, throwawayData);
        }
        catch
        {
            host.Dispose();
            DeleteThrowaway(throwawayData);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        var system = _host.Services.GetRequiredService<ActorSystem>();

        // Bounded by the host's shutdown timeout.
        await _host.StopAsync(CancellationToken.None).ConfigureAwait(false);

        // Finish the actor system now: left to the process-exit hook, Akka reports it on stdout, which the
        // simulator keeps for its report.
        await system.Terminate().ConfigureAwait(false);
        _host.Dispose();
        DeleteThrowaway(_throwawayData);
    }

    private static void DeleteThrowaway(string? folder)
    {
        try
        {
            if (folder is not null)
            {
                Directory.Delete(folder, recursive: true);
            }
        }
        catch (IOException)
        {
            // best effort: it is in the temp folder
        }
    }

    /// <summary>A host lifetime that does not listen to console signals.</summary>
    private sealed class EmbeddedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
