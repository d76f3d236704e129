using System.CommandLine;
using System.Security.Cryptography;
using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using SecureChat.Client;
using SecureChat.Client.Connection;
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
        var messages = new Option<int>("--messages") { Description = "Messages each client sends to its room", DefaultValueFactory = _ => 10 };
        var size = new Option<int>("--size") { Description = "Size of each message text in bytes", DefaultValueFactory = _ => 64 };
        var server = new Option<string?>("--server") { Description = "HOST:PORT of a running server; without it a server is started in this process on a free loopback port" };
        var certs = new Option<string>("--certs") { Description = "Folder with the CA (ca.pem, ca.key) that issues the clients' certificates in memory", DefaultValueFactory = _ => "certs" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object on stdout instead of the summary" };
        var rate = new Option<double>("--rate") { Description = "Messages per second per client (0: as fast as the in-flight window allows)", DefaultValueFactory = _ => 0 };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for joins and for deliveries", DefaultValueFactory = _ => 120 };
        var command = new Command("simulate", "Run N clients in one process, send, and check every member decrypted every message exactly once")
        {
            clients, rooms, messages, size, rate, server, certs, json, timeout,
        };
        command.SetAction((parse, cancellationToken) => RunAsync(new SimulateArguments(
            parse.GetValue(clients), parse.GetValue(rooms), parse.GetValue(messages), parse.GetValue(size),
            parse.GetValue(server), parse.GetValue(certs)!, parse.GetValue(json), parse.GetValue(timeout), parse.GetValue(rate)), cancellationToken));
        return command;
    }

    /// <summary>
    /// The relay server in this process on a free loopback port, its rooms in a temp folder deleted afterwards (a
    /// simulation leaves nothing behind). Its log goes to stderr (warnings and up) so stdout stays for the report.
    /// </summary>
    private static Task<EmbeddedServer> StartInProcessServerAsync(string certsDirectory, CancellationToken cancellationToken) =>
        EmbeddedServer.StartAsync(["--host", "127.0.0.1", "--port", "0", "--certs", certsDirectory], logging =>
        {
            logging.SetMinimumLevel(LogLevel.Warning);
            logging.Services.Configure<ConsoleLoggerOptions>(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
        }, throwawayStorage: true, cancellationToken);

    private static async Task<int> RunAsync(SimulateArguments args, CancellationToken cancellationToken)
    {
        var options = new SimulationOptions
        {
            Clients = args.Clients,
            Rooms = args.Rooms,
            MessagesPerClient = args.Messages,
            MessageSize = args.Size,
            RatePerClient = args.Rate,
            ConnectAndJoinTimeout = TimeSpan.FromSeconds(args.TimeoutSeconds),
            DeliveryTimeout = TimeSpan.FromSeconds(args.TimeoutSeconds),
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentOutOfRangeException ex)
        {
            await Console.Error.WriteLineAsync($"securechat: invalid {ex.ParamName}: {ex.ActualValue} (clients >= 1, 1 <= rooms <= clients, messages >= 0, 1 <= size <= 16384, rate >= 0)").ConfigureAwait(false);
            return 2;
        }

        EmbeddedServer? inProcess = null;
        CertificateAuthority authority;
        Endpoint endpoint;
        try
        {
            if (args.Server is null)
            {
                inProcess = await StartInProcessServerAsync(args.CertsDirectory, cancellationToken).ConfigureAwait(false);
                endpoint = new Endpoint("127.0.0.1", inProcess.Endpoint.Port);
                await Console.Error.WriteLineAsync($"started a server in this process on {endpoint}").ConfigureAwait(false);
            }
            else if (!Endpoint.TryParse(args.Server, out endpoint, out var problem))
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
            var simulator = new Simulator(options, id => StartClient(system, ca, caPublic, endpoint, id), e => Chat.TerminalText.Neutralise(Chat.EventText.Format(e) ?? e.ToString()));
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
            await Console.Out.WriteLineAsync(args.Json ? report.ToJson() : report.ToText()).ConfigureAwait(false);
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

    private static ChatClient StartClient(ActorSystem system, CertificateAuthority ca, System.Security.Cryptography.X509Certificates.X509Certificate2 caPublic,
        Endpoint endpoint, string clientId)
    {
        using var issued = ca.IssueClientCertificate(clientId);
        var certificate = PemFiles.MakeUsableForTls(issued);
        var connector = new TlsServerConnector(endpoint.Host, endpoint.Port, () => TlsSettings.ForClient(certificate, caPublic, endpoint.Host),
            new TlsLinkLimits { OutboundQueueFrames = 4096 });
        return ChatClient.Start(ClientOptions.WithNewIdentity(clientId, connector) with { ActorName = clientId }, system);
    }

    private sealed record SimulateArguments(int Clients, int Rooms, int Messages, int Size, string? Server, string CertsDirectory, bool Json, int TimeoutSeconds, double Rate);
}
