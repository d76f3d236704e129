using System.Diagnostics.Metrics;
using System.Net;
using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using SecureChat.Server.Cluster;
using SecureChat.Server.Configuration;
using SecureChat.Server.Listener;

namespace SecureChat.Server.Diagnostics;

/// <summary>
/// With <c>--metrics HOST:PORT</c>: a small HTTP server (Kestrel) there, apart from the client port, serving
/// <c>/metrics</c> (Prometheus text, from OpenTelemetry's exporter of <see cref="ServerMetrics"/> and the states read
/// here at each scrape), <c>/healthz</c> (200 while the process runs) and <c>/readyz</c> (<see cref="Readiness"/>).
/// Kestrel rather than the exporter's own HttpListener: the health endpoints share the port, and Kestrel needs no
/// URL reservation. Started before the storage and the actor system, so that <c>/readyz</c> says what the server
/// waits for while it starts.
/// </summary>
public sealed partial class MetricsEndpoint : IHostedService, IAsyncDisposable
{
    /// <summary>
    /// The runtime's own meter (GC collections and pause time, thread-pool threads and queue, lock contention, JIT,
    /// memory): what a latency spike on an otherwise healthy relay usually comes down to.
    /// </summary>
    private const string RuntimeMeterName = "System.Runtime";

    private readonly ServerOptions _options;
    private readonly Readiness _readiness;
    private readonly ListenerStatus _listener;
    private readonly IServiceProvider _services;
    private readonly ILogger<MetricsEndpoint> _logger;
    private WebApplication? _app;
    private Meter? _states;

    public MetricsEndpoint(IOptions<ServerOptions> options, Readiness readiness, ListenerStatus listener, IServiceProvider services, ILogger<MetricsEndpoint> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _readiness = readiness;
        _listener = listener;
        _services = services;
        _logger = logger;
    }

    /// <summary>Where it listens, once started (with port 0, the port the OS chose); null when off.</summary>
    public IPEndPoint? Endpoint { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(_options.MetricsEndpoint))
        {
            return;
        }

        if (!ClusterSeed.TryParse(_options.MetricsEndpoint, out var where, allowPortZero: true))
        {
            throw new StartupException($"--metrics: '{_options.MetricsEndpoint}' is not HOST:PORT");
        }

        var address = await ResolveAsync(where.Host, cancellationToken).ConfigureAwait(false);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(address, where.Port));
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(ServerMetrics.MeterName, RuntimeMeterName).AddPrometheusExporter());
        var app = builder.Build();
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapGet("/healthz", () => Results.Text("alive\n"));
        app.MapGet("/readyz", async (CancellationToken requestAborted) =>
        {
            var problem = await _readiness.ProblemAsync(requestAborted).ConfigureAwait(false);
            return problem is null ? Results.Text("ready\n") : Results.Text($"not ready: {problem}\n", statusCode: StatusCodes.Status503ServiceUnavailable);
        });
        _states = CreateStateInstruments();
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new StartupException($"cannot serve metrics on {_options.MetricsEndpoint} (--metrics): {ex.Message}", ex);
        }

        _app = app;
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        Endpoint = bound is not null && Uri.TryCreate(bound, UriKind.Absolute, out var uri) && IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip)
            ? new IPEndPoint(ip, uri.Port)
            : null;
        LogServing(_logger, bound ?? _options.MetricsEndpoint);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync().ConfigureAwait(false);
            _app = null;
        }

        _states?.Dispose();
    }

    /// <summary>The figures that are states, read from this host at each scrape (a meter of the same name as <see cref="ServerMetrics"/>).</summary>
    private Meter CreateStateInstruments()
    {
        var meter = new Meter(ServerMetrics.MeterName);
        var admission = _listener.Admission;
        meter.CreateObservableUpDownCounter("securechat.connections.open", () => admission.OpenConnections, "{connection}",
            "connections open, TLS handshakes included");
        meter.CreateObservableUpDownCounter("securechat.connections.handshaking", () => admission.HandshakesInProgress, "{connection}",
            "connections in their TLS handshake");
        meter.CreateObservableCounter("securechat.connections.accepted", () => admission.Admitted, "{connection}",
            "connections admitted at accept into their TLS handshake");
        meter.CreateObservableCounter("securechat.connections.refused",
            () => Enum.GetValues<AdmissionRefusal>().Select(reason => new Measurement<long>(admission.Refused(reason), new KeyValuePair<string, object?>("reason", ReasonName(reason)))),
            "{connection}", "connections closed at accept, by the limit reached");
        meter.CreateObservableUpDownCounter("securechat.outbound.queue.depth", () => _services.GetRequiredService<TlsListener>().QueuedFrames(), "{frame}",
            "frames waiting in the outbound queues of all connections");
        meter.CreateObservableUpDownCounter("securechat.cluster.members", ClusterMembersUp, "{node}", "members of this node's cluster that are Up");
        return meter;
    }

    private int ClusterMembersUp() =>
        _readiness.ActorSystem is { } system ? Akka.Cluster.Cluster.Get(system).State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up) : 0;

    public static string ReasonName(AdmissionRefusal reason) => reason switch
    {
        AdmissionRefusal.ConnectionLimit => "max_connections",
        AdmissionRefusal.AddressConnectionLimit => "max_connections_per_address",
        AdmissionRefusal.AddressHandshakeLimit => "max_handshakes_per_address",
        AdmissionRefusal.HandshakeBudget => "max_handshakes",
        _ => reason.ToString(),
    };

    private static async Task<IPAddress> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(host, out var address))
        {
            return address;
        }

        var addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        return addresses.FirstOrDefault() ?? throw new StartupException($"host name {host} (--metrics) has no address");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Metrics and health on {Address} (/metrics, /healthz, /readyz)")]
    private static partial void LogServing(ILogger logger, string address);
}
