using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SecureChat.Server.Configuration;
using SecureChat.Server.Connections;
using SecureChat.Server.Diagnostics;
using SecureChat.Transport.Certificates;
using SecureChat.Transport.Tls;

namespace SecureChat.Server.Listener;

/// <summary>
/// Accepts TCP connections, admits them or closes them at once before any TLS work (<see cref="ConnectionAdmission"/>:
/// the connection cap, per-address limits and the handshake budget), runs the TLS 1.3 mutual-TLS handshake within its
/// deadline (off any actor thread), takes the client id from the certificate, and starts one
/// ConnectionActor per authenticated connection (a child of the ConnectionsActor). On shutdown it stops accepting first and then,
/// in CoordinatedShutdown once the rooms have stopped, closes every connection with SERVER_SHUTDOWN.
/// </summary>
public sealed partial class TlsListener : BackgroundService
{
    private readonly ActorSystem _system;
    private readonly IRequiredActor<ConnectionsActor> _connectionsParent;
    private readonly ServerOptions _options;
    private readonly ListenerStatus _status;
    private readonly ServerCertificates _certificates;
    private readonly ILogger<TlsListener> _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _clock;
    /// <summary>
    /// Connections the kernel holds for the accept loop (Linux caps it at net.core.somaxconn, 4096 by default): where a
    /// reconnect storm waits while the handshake budget is full.
    /// </summary>
    private const int ListenBacklog = 4096;

    private readonly RefusalLogThrottle _refusalLog = new(TimeSpan.FromSeconds(10));
    private readonly ConcurrentDictionary<long, (IActorRef Actor, ConnectionIo Io)> _connections = new();
    private readonly object _stopLock = new();
    private TcpListener? _listener;
    private SslServerAuthenticationOptions? _tls;
    private long _nextConnectionId;
    private volatile bool _stopping;
    private Task? _closingConnections;

    public TlsListener(ActorSystem system, IRequiredActor<ConnectionsActor> connectionsParent, IOptions<ServerOptions> options, ListenerStatus status,
        ServerCertificates certificates, ILoggerFactory loggerFactory, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _system = system;
        _connectionsParent = connectionsParent;
        _options = options.Value;
        _status = status;
        _certificates = certificates;
        _loggerFactory = loggerFactory;
        _clock = clock;
        _logger = loggerFactory.CreateLogger<TlsListener>();
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            _tls = _certificates.Tls;
            var address = await ResolveAsync(_options.Host, cancellationToken).ConfigureAwait(false);
            _listener = new TcpListener(address, _options.Port);
            try
            {
                _listener.Start(backlog: ListenBacklog);
            }
            catch (SocketException ex)
            {
                throw new StartupException($"cannot listen on {new IPEndPoint(address, _options.Port)} (--host, --port): {ex.Message}", ex);
            }
        }
        catch (Exception ex)
        {
            _status.SetFailed(ex);
            throw;
        }

        var endpoint = (IPEndPoint)_listener.LocalEndpoint;
        _status.SetBound(endpoint);
        LogListening(_logger, endpoint, _options.MaxConnections);

        var shutdown = CoordinatedShutdown.Get(_system);
        shutdown.AddTask(CoordinatedShutdown.PhaseServiceUnbind, "securechat-stop-accepting", () =>
        {
            StopAccepting();
            return Task.FromResult(Done.Instance);
        });
        shutdown.AddTask(CoordinatedShutdown.PhaseServiceRequestsDone, "securechat-close-connections", async () =>
        {
            await CloseConnectionsAsync().ConfigureAwait(false);
            return Done.Instance;
        });

        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Stops accepting. The connections close in CoordinatedShutdown, which the actor system's hosted service runs
    /// next (it stops after this one): there the rooms stop first (service-unbind), and then the connections close
    /// (service-requests-done), so that the rooms do not take the server's own shutdown for every member leaving.
    /// </summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        StopAccepting();
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var connections = await _connectionsParent.GetAsync(stoppingToken).ConfigureAwait(false);
        var budgetHeld = false;
        while (!stoppingToken.IsCancellationRequested && !_stopping)
        {
            TcpClient socket;
            try
            {
                // A full budget that frees within BudgetWait is a burst: its connections wait in the backlog. One that
                // does not is held: connections are refused at accept again until a handshake ends.
                budgetHeld = budgetHeld
                    ? _status.Admission.HandshakeBudgetFull
                    : !await _status.Admission.WaitForHandshakeSlotAsync(_status.Admission.Limits.BudgetWait, _clock, stoppingToken).ConfigureAwait(false);
                socket = await _listener!.AcceptTcpClientAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException or InvalidOperationException)
            {
                if (stoppingToken.IsCancellationRequested || _stopping)
                {
                    return;
                }

                LogAcceptFailed(_logger, ex.GetType().Name);
                continue;
            }

            if (Admit(socket) is { } ticket)
            {
                _ = AuthenticateGuardedAsync(socket, ticket, connections, stoppingToken);
            }
        }
    }

    /// <summary>The admission's ticket for this connection, or null when it was refused (then it is closed already).</summary>
    private ConnectionAdmission.AdmissionTicket? Admit(TcpClient socket)
    {
        if (socket.Client.RemoteEndPoint is not IPEndPoint remote)
        {
            socket.Dispose(); // gone already
            return null;
        }

        if (_status.Admission.TryAdmit(remote.Address, out var refusal) is { } ticket)
        {
            return ticket;
        }

        // A reset rather than a FIN: nothing is owed to a connection refused at accept, and the server keeps no TIME_WAIT for it.
        try
        {
            socket.Client.LingerState = new LingerOption(enable: true, seconds: 0);
        }
        catch (SocketException)
        {
            // already reset by the peer
        }

        socket.Dispose();
        if (_refusalLog.ShouldLog(refusal, _clock.GetUtcNow(), out var unlogged))
        {
            LogRefused(_logger, remote.ToString(), RefusalText(refusal, _status.Admission.Limits), unlogged);
        }

        return null;
    }

    private static string RefusalText(AdmissionRefusal refusal, AdmissionLimits limits) => refusal switch
    {
        AdmissionRefusal.ConnectionLimit => $"connection limit of {limits.MaxConnections} reached (MaxConnections)",
        AdmissionRefusal.AddressConnectionLimit => $"{limits.MaxConnectionsPerAddress} connections open from its address (MaxConnectionsPerAddress)",
        AdmissionRefusal.AddressHandshakeLimit => $"{limits.MaxHandshakesPerAddress} TLS handshakes in progress from its address (MaxHandshakesPerAddress)",
        AdmissionRefusal.HandshakeBudget => $"{limits.MaxHandshakes} TLS handshakes in progress in all (MaxHandshakes)",
        _ => refusal.ToString(),
    };

    /// <summary>Runs detached from the accept loop, so nothing it throws may go unobserved.</summary>
    private async Task AuthenticateGuardedAsync(TcpClient socket, ConnectionAdmission.AdmissionTicket ticket, IActorRef connections, CancellationToken stoppingToken)
    {
        try
        {
            await AuthenticateAsync(socket, ticket, connections, stoppingToken).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // the last line of defence of a fire-and-forget task: log, never crash the listener
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogConnectionSetupFailed(_logger, ex);
            socket.Dispose();
            ticket.Closed();
        }
    }

    private async Task AuthenticateAsync(TcpClient socket, ConnectionAdmission.AdmissionTicket ticket, IActorRef connections, CancellationToken stoppingToken)
    {
        var remote = socket.Client.RemoteEndPoint?.ToString() ?? "?";
        socket.NoDelay = true;
        var tls = new SslStream(socket.GetStream(), leaveInnerStreamOpen: false);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        string clientId;
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            deadline.CancelAfter(_options.HandshakeTimeout);
            try
            {
                await tls.AuthenticateAsServerAsync(_tls!, deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
                throw new TimeoutException($"no TLS handshake within {_options.HandshakeTimeout.TotalSeconds:0.#} s");
            }

            ticket.HandshakeEnded();

            // The stream's own certificate object, read while the stream lives: parsing a copy costs OpenSSL a decode per handshake.
            if (!ClientIdentity.TryFromCertificate(tls.RemoteCertificate as X509Certificate2, out clientId))
            {
                throw new System.Security.Authentication.AuthenticationException("client certificate has no valid client id in its subject CN");
            }

            ServerMetrics.HandshakeEnded(started, ok: true);
        }
        catch (Exception ex) when (ex is System.Security.Authentication.AuthenticationException or IOException or TimeoutException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
            var reason = ex.GetBaseException().Message;
            ServerMetrics.HandshakeEnded(started, ok: false);
            LogHandshakeRefused(_logger, remote, reason);
            await tls.DisposeAsync().ConfigureAwait(false);
            socket.Dispose();
            ticket.Closed();
            return;
        }

        var id = Interlocked.Increment(ref _nextConnectionId);
        var io = new ConnectionIo(socket, tls, _options.ToConnectionIoSettings(), _loggerFactory.CreateLogger<ConnectionIo>(), () =>
        {
            _connections.TryRemove(id, out _);
            ticket.Closed();
        });
        try
        {
            var opened = await connections.Ask<ConnectionOpened>(new OpenConnection(io, clientId, remote), _options.HandshakeTimeout, stoppingToken).ConfigureAwait(false);
            _connections[id] = (opened.Connection, io);
            if (io.Closed.IsCompleted)
            {
                _connections.TryRemove(id, out _); // it ended before it was recorded
            }

            LogConnected(_logger, clientId, remote);
        }
        catch (Exception ex) when (ex is AskTimeoutException or OperationCanceledException)
        {
            // The actor system is already stopping.
            io.Close(flush: false);
        }
    }

    /// <summary>Frames waiting in the outbound queues of all connections open now.</summary>
    public long QueuedFrames()
    {
        long queued = 0;
        foreach (var (_, io) in _connections.Values)
        {
            queued += io.QueuedFrames;
        }

        return queued;
    }

    private static async Task<IPAddress> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(host, out var address))
        {
            return address;
        }

        try
        {
            var addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
            return addresses.FirstOrDefault() ?? throw new StartupException($"host name {host} (--host) has no address");
        }
        catch (SocketException ex)
        {
            throw new StartupException($"cannot resolve host name {host} (--host): {ex.Message}", ex);
        }
    }

    private void StopAccepting()
    {
        lock (_stopLock)
        {
            _stopping = true;
            _listener?.Stop();
        }
    }

    private Task CloseConnectionsAsync()
    {
        lock (_stopLock)
        {
            return _closingConnections ??= CloseAllAsync();
        }
    }

    private async Task CloseAllAsync()
    {
        var open = _connections.Values.ToList();
        LogClosingConnections(_logger, open.Count);
        var stopTimeout = _options.CloseTimeout + TimeSpan.FromSeconds(1);
        await Task.WhenAll(open.Select(c => StopConnectionAsync(c.Actor, stopTimeout))).ConfigureAwait(false);

        // The sockets close after the actors stop; wait for them so the process does not exit under them.
        var deadline = DateTime.UtcNow + stopTimeout;
        foreach (var (_, io) in open)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !await io.Closed.WaitAsync(left).ContinueWith(t => t.IsCompletedSuccessfully, TaskScheduler.Default).ConfigureAwait(false))
            {
                break;
            }
        }

        LogConnectionsClosed(_logger, open.Count - _connections.Count, open.Count);
        LogStopped(_logger);
    }

    private static async Task StopConnectionAsync(IActorRef connection, TimeSpan timeout)
    {
        try
        {
            await connection.GracefulStop(timeout, ServerShutdown.Instance).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TaskCanceledException or AskTimeoutException)
        {
            // GracefulStop gave up; the actor system's termination stops it anyway.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "SecureChat server listening on {Endpoint} (TLS 1.3, client certificates required, at most {MaxConnections} connections)")]
    private static partial void LogListening(ILogger logger, IPEndPoint endpoint, int maxConnections);

    [LoggerMessage(Level = LogLevel.Information, Message = "TLS handshake from {Remote} refused: {Reason}")]
    private static partial void LogHandshakeRefused(ILogger logger, string remote, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a connection from {Remote} at accept: {Reason} ({Unlogged} more refused for this reason since its last line)")]
    private static partial void LogRefused(ILogger logger, string remote, string reason, long unlogged);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Accepting a connection failed: {Error}")]
    private static partial void LogAcceptFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Client {ClientId} connected from {Remote}")]
    private static partial void LogConnected(ILogger logger, string clientId, string remote);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shutting down: stopped accepting, closing {Count} connections")]
    private static partial void LogClosingConnections(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Setting up a connection failed")]
    private static partial void LogConnectionSetupFailed(ILogger logger, Exception error);

    [LoggerMessage(Level = LogLevel.Information, Message = "SecureChat server stopped")]
    private static partial void LogStopped(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Closed {Closed} of {Count} connections")]
    private static partial void LogConnectionsClosed(ILogger logger, int closed, int count);
}
