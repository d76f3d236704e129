using System.CommandLine;
using System.Security.Cryptography;
using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using SecureChat.Client;
using SecureChat.Client.Store;
using SecureChat.Client.Connection;
using SecureChat.Client.Session;
using SecureChat.Client.Simulation;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Server;
using SecureChat.Transport.Certificates;
using SecureChat.Transport.Tls;

namespace SecureChat.Cli.Simulate;

/// <summary><c>securechat simulate</c>: many real clients in one process, counting every delivery.</summary>
internal static class SimulateCommand
{
    public static Command Create()
    {
        var clients = new Option<int>("--clients") { Description = "Number of clients, each with its own TLS connection", DefaultValueFactory = _ => 10 };
        var rooms = new Option<int>("--rooms") { Description = "Number of rooms; client i joins room i mod ROOMS", DefaultValueFactory = _ => 1 };
        var roomPrefix = new Option<string>("--room-prefix") { Description = "Rooms are named PREFIX-0 ... PREFIX-(ROOMS-1)", DefaultValueFactory = _ => new SimulationOptions().RoomPrefix };
        var messages = new Option<int>("--messages") { Description = "Messages each client sends to its room", DefaultValueFactory = _ => 10 };
        var size = new Option<int>("--size") { Description = "Size of each message text in bytes", DefaultValueFactory = _ => 64 };
        var server = new Option<string?>("--server")
        {
            Description = "HOST:PORT of a running server, or a comma-separated list A,B,C: client i starts on server i mod N and moves along the list " +
                          "when its server fails; without it a server is started in this process on a free loopback port",
        };
        var ackTimeout = new Option<double>("--ack-timeout")
        {
            Description = "Seconds a sent message waits for the server's confirmation before it counts as not delivered",
            DefaultValueFactory = _ => new ClientSessionSettings().AckTimeout.TotalSeconds,
        };
        var certs = new Option<string>("--certs") { Description = "Folder with the CA (ca.pem, ca.key) that issues the clients' certificates in memory", DefaultValueFactory = _ => "certs" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object on stdout instead of the summary" };
        var rate = new Option<double>("--rate") { Description = "Messages per second per client (0: as fast as the in-flight window allows)", DefaultValueFactory = _ => 0 };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for joins and for deliveries", DefaultValueFactory = _ => 120 };
        var churn = new Option<double>("--churn")
        {
            Description = "Fraction (0-1) of the clients that drop their connection once while they send, at a random message, and resume after a pause",
            DefaultValueFactory = _ => 0,
        };
        var churnPause = new Option<double>("--churn-pause")
        {
            Description = "Seconds a churned client stays offline, on average (half to one and a half times it)",
            DefaultValueFactory = _ => new SimulationOptions().ChurnPause.TotalSeconds,
        };
        var store = new Option<string?>("--store")
        {
            Description = "Keep each client's state in an encrypted local store under DIR (a folder per client); churned clients then "
                + "restart from it, with nothing kept in memory. Without it, state stays in memory",
        };
        var command = new Command("simulate", "Run N clients in one process, send, and check every member decrypted every message exactly once")
        {
            clients, rooms, roomPrefix, messages, size, rate, server, certs, json, timeout, ackTimeout, churn, churnPause, store,
        };
        command.SetAction((parse, cancellationToken) => RunAsync(ReadArguments(parse), cancellationToken));
        return command;
    }

    /// <summary>The values of a parsed <c>simulate</c> command line (<see cref="Create"/>'s options, by name).</summary>
    internal static SimulateArguments ReadArguments(ParseResult parse) => new(
        parse.GetValue<int>("--clients"), parse.GetValue<int>("--rooms"), parse.GetValue<int>("--messages"), parse.GetValue<int>("--size"),
        parse.GetValue<string?>("--server"), parse.GetValue<string>("--certs")!, parse.GetValue<bool>("--json"), parse.GetValue<int>("--timeout"),
        parse.GetValue<double>("--rate"))
    {
        RoomPrefix = parse.GetValue<string>("--room-prefix")!,
        AckTimeoutSeconds = parse.GetValue<double>("--ack-timeout"),
        Churn = parse.GetValue<double>("--churn"),
        ChurnPauseSeconds = parse.GetValue<double>("--churn-pause"),
        StoreDirectory = parse.GetValue<string?>("--store"),
    };

    /// <summary>
    /// The run's options from the command line; null with the reason when a value is out of its bounds (so the
    /// command can say which before it starts anything).
    /// </summary>
    internal static SimulationOptions? TryOptions(SimulateArguments args, out string problem)
    {
        problem = string.Empty;
        var options = new SimulationOptions
        {
            Clients = args.Clients,
            Rooms = args.Rooms,
            RoomPrefix = args.RoomPrefix,
            MessagesPerClient = args.Messages,
            MessageSize = args.Size,
            RatePerClient = args.Rate,
            ConnectAndJoinTimeout = TimeSpan.FromSeconds(args.TimeoutSeconds),
            DeliveryTimeout = TimeSpan.FromSeconds(args.TimeoutSeconds),
            Churn = args.Churn,
            RestartChurnedClients = args.StoreDirectory is not null,
        };
        if (args.ChurnPauseSeconds is < 0 or > 3600)
        {
            problem = $"invalid churn pause: {args.ChurnPauseSeconds} (0 to 3600 seconds)";
            return null;
        }

        options = options with { ChurnPause = TimeSpan.FromSeconds(args.ChurnPauseSeconds) };
        try
        {
            options.Validate();
        }
        catch (ArgumentOutOfRangeException ex)
        {
            problem = $"invalid {ex.ParamName}: {ex.ActualValue} (clients >= 1, 1 <= rooms <= clients, messages >= 0, 1 <= size <= 16384, rate >= 0, 0 <= churn <= 1, " +
                      "room names PREFIX-N of 1-64 characters of A-Z a-z 0-9 . _ @ -)";
            return null;
        }

        if (args.AckTimeoutSeconds <= 0)
        {
            problem = "invalid ack timeout: it must be more than 0 seconds";
            return null;
        }

        return options;
    }

    /// <summary>
    /// The relay server in this process on a free loopback port, its rooms in a temp folder deleted afterwards (a
    /// simulation leaves nothing behind). Its log goes to stderr (warnings and up) so stdout stays for the report.
    /// Every simulated client connects from 127.0.0.1, all at once, so the per-address limits and the handshake budget are lifted.
    /// </summary>
    private static Task<EmbeddedServer> StartInProcessServerAsync(string certsDirectory, CancellationToken cancellationToken) =>
        EmbeddedServer.StartAsync(["--host", "127.0.0.1", "--port", "0", "--certs", certsDirectory, "--dev-certs",
            "--Server:MaxConnectionsPerAddress=1000000", "--Server:MaxHandshakesPerAddress=1000000", "--Server:MaxHandshakes=1000000"], logging =>
        {
            logging.SetMinimumLevel(LogLevel.Warning);
            logging.Services.Configure<ConsoleLoggerOptions>(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
        }, throwawayStorage: true, cancellationToken);

    private static async Task<int> RunAsync(SimulateArguments args, CancellationToken cancellationToken)
    {
        if (TryOptions(args, out var invalid) is not { } options)
        {
            await Console.Error.WriteLineAsync($"securechat: {invalid}").ConfigureAwait(false);
            return 2;
        }

        EmbeddedServer? inProcess = null;
        CertificateAuthority authority;
        IReadOnlyList<Endpoint> servers;
        try
        {
            if (args.Server is null)
            {
                inProcess = await StartInProcessServerAsync(args.CertsDirectory, cancellationToken).ConfigureAwait(false);
                servers = [new Endpoint("127.0.0.1", inProcess.Endpoint.Port)];
                await Console.Error.WriteLineAsync($"started a server in this process on {servers[0]}").ConfigureAwait(false);
            }
            else if (!Endpoint.TryParseList(args.Server, out servers, out var problem))
            {
                await Console.Error.WriteLineAsync($"securechat: {problem}").ConfigureAwait(false);
                return 2;
            }

            authority = CertificateAuthority.Load(args.CertsDirectory);
        }
        catch (Exception ex) when (ex is IOException or CryptographicException or InvalidOperationException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"securechat: {ex.Message}").ConfigureAwait(false);
            if (inProcess is not null)
            {
                await inProcess.DisposeAsync().ConfigureAwait(false);
            }

            return 2;
        }

        using var system = ActorSystem.Create("securechat-simulator", ClientHocon.Quiet);
        try
        {
            using var ca = authority;
            var caPublic = ca.PublicCertificate;
            var settings = new ClientSessionSettings
            {
                AckTimeout = TimeSpan.FromSeconds(args.AckTimeoutSeconds),
                InitialBackoff = SimulatedBackoff.Initial,
                MaxBackoff = SimulatedBackoff.Max,
            };
            var simulator = new Simulator(options, (index, id, links) =>
                    StartClient(system, ca, caPublic, SimulationOptions.ServerOrderFor(servers, index), id, settings, links, args.StoreDirectory),
                e => Chat.TerminalText.Neutralise(Chat.EventText.Format(e) ?? e.ToString()));
            using var progress = new ProgressLine(() => simulator.Progress);
            SimulationReport report;
            try
            {
                report = await simulator.RunAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                progress.Stop();
                await Console.Error.WriteLineAsync("securechat: simulation cancelled").ConfigureAwait(false);
                return 130;
            }

            progress.Stop();
            await Console.Out.WriteLineAsync(args.Json ? report.ToJson() : ReportText.Format(report)).ConfigureAwait(false);
            return report.Passed && report.Problems.Count == 0 ? 0 : 1;
        }
        finally
        {
            await system.Terminate().ConfigureAwait(false);
            if (inProcess is not null)
            {
                await inProcess.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// A simulated client on <paramref name="servers"/> (its first, then the others when one fails), its links cut by
    /// <paramref name="links"/> when the churn drops it.
    /// </summary>
    private static ChatClient StartClient(ActorSystem system, CertificateAuthority ca, System.Security.Cryptography.X509Certificates.X509Certificate2 caPublic,
        IReadOnlyList<Endpoint> servers, string clientId, ClientSessionSettings settings, LinkBreaker links, string? storeDirectory)
    {
        using var issued = ca.IssueClientCertificate(clientId);
        var certificate = PemFiles.MakeUsableForTls(issued);
        var connectors = servers.Select(server => links.Wrap(new TlsServerConnector(server.Host, server.Port,
            () => TlsSettings.ForClient(certificate, caPublic, server.Host), new TlsLinkLimits { OutboundQueueFrames = 4096 }))).ToList();
        var options = ClientOptions.WithNewIdentity(clientId, connectors[0]);
        if (storeDirectory is not null)
        {
            // The simulated stores protect nothing: the weak key derivation keeps a restart cheap; the passphrase is
            // SECURECHAT_PASSPHRASE when set.
            var passphrase = System.Text.Encoding.UTF8.GetBytes(Environment.GetEnvironmentVariable(StorePassphrase.EnvironmentVariable) ?? "simulation");
            LocalStore store;
            try
            {
                store = LocalStore.OpenOrCreate(Path.Combine(storeDirectory, clientId), clientId, passphrase, StoreKdf.Weak);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(passphrase);
            }

            options.Identity.Dispose();
            options = new ClientOptions(store.LoadIdentity(), connectors[0])
            {
                OwnsIdentity = true, Store = store, OwnsStore = true, Trust = store.OpenTrustStore(), KeepHistory = false,
            };
        }

        return ChatClient.Start(options with
        {
            FailoverServers = connectors[1..],
            ActorName = clientId,
            Settings = settings,
        }, system);
    }

    internal sealed record SimulateArguments(int Clients, int Rooms, int Messages, int Size, string? Server, string CertsDirectory, bool Json, int TimeoutSeconds, double Rate)
    {
        public string RoomPrefix { get; init; } = new SimulationOptions().RoomPrefix;

        public double AckTimeoutSeconds { get; init; } = new ClientSessionSettings().AckTimeout.TotalSeconds;

        public double Churn { get; init; }

        public double ChurnPauseSeconds { get; init; } = new SimulationOptions().ChurnPause.TotalSeconds;

        /// <summary>simulate --store DIR: each client's local store is under DIR; null: state in memory.</summary>
        public string? StoreDirectory { get; init; }
    }

    /// <summary>
    /// The simulated clients retry a lost connection sooner than the chat client (0.2 s doubling up to 2 s): a restarted server
    /// or a churned client is back within about two seconds, so the run measures delivery, not the backoff.
    /// </summary>
    internal static class SimulatedBackoff
    {
        public static readonly TimeSpan Initial = TimeSpan.FromMilliseconds(200);
        public static readonly TimeSpan Max = TimeSpan.FromSeconds(2);
    }
}
