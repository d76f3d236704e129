using System.Globalization;
using Akka.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SecureChat.Server.Cluster;
using SecureChat.Server.Configuration;
using SecureChat.Server.Connections;
using SecureChat.Server.Listener;
using SecureChat.Server.Relays;
using SecureChat.Server.Rooms;
using SecureChat.Server.Serialization;
using SecureChat.Server.Storage;

namespace SecureChat.Server;

/// <summary>Builds the server's generic host; Program and the integration tests use the same builder.</summary>
public static partial class ServerHost
{
    public const string ActorSystemName = "SecureChat";
    public const string HoconFileName = "server.hocon";

    /// <summary>The short command-line switches; anything else goes as <c>--Server:Name value</c>.</summary>
    public static readonly IReadOnlyDictionary<string, string> SwitchMappings = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["--host"] = $"{ServerOptions.Section}:{nameof(ServerOptions.Host)}",
        ["--port"] = $"{ServerOptions.Section}:{nameof(ServerOptions.Port)}",
        ["--certs"] = $"{ServerOptions.Section}:{nameof(ServerOptions.CertificatesPath)}",
        ["--hocon"] = $"{ServerOptions.Section}:{nameof(ServerOptions.HoconPath)}",
        ["--data"] = $"{ServerOptions.Section}:{nameof(ServerOptions.DataPath)}",
        ["--postgres"] = $"{ServerOptions.Section}:{nameof(ServerOptions.PostgresConnectionString)}",
        ["--cluster-host"] = $"{ServerOptions.Section}:{nameof(ServerOptions.ClusterHost)}",
        ["--cluster-port"] = $"{ServerOptions.Section}:{nameof(ServerOptions.ClusterPort)}",
        ["--cluster-public-host"] = $"{ServerOptions.Section}:{nameof(ServerOptions.ClusterPublicHost)}",
    };

    /// <summary>The repeatable switch naming a seed node (HOST:PORT; also a comma-separated list).</summary>
    public const string SeedSwitch = "--seed";

    public static IHost Build(string[] args, Action<IServiceCollection>? configureServices = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
        builder.Configuration.AddCommandLine(ExpandSeeds(args), new Dictionary<string, string>(SwitchMappings));

        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.TimestampFormat = "HH:mm:ss.fff ";
            console.UseUtcTimestamp = true;
        });

        builder.Services.AddOptions<ServerOptions>().Bind(builder.Configuration.GetSection(ServerOptions.Section)).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ServerOptions>, ServerOptionsValidator>();
        builder.Services.AddSingleton(TimeProvider.System);

        // Opened (the data folder made and locked) by the first hosted service, before the actor system starts.
        builder.Services.AddSingleton(services => RoomStorage.Open(services.GetRequiredService<IOptions<ServerOptions>>().Value));
        builder.Services.AddHostedService<RoomStorageAnnouncer>();

        builder.Services.AddAkka(ActorSystemName, (akka, services) =>
        {
            var options = services.GetRequiredService<IOptions<ServerOptions>>().Value;
            var hocon = FindHocon(options.HoconPath);
            var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ServerHost));
            if (hocon is not null)
            {
                akka.AddHoconFile(hocon, HoconAddMode.Prepend);
                LogHocon(logger, hocon);
            }
            else
            {
                LogNoHocon(logger, HoconFileName);
            }

            akka.ConfigureLoggers(loggers =>
                {
                    loggers.ClearLoggers();
                    loggers.AddLoggerFactory();
                })
                .AddClusterSerialization()
                .AddCluster(options.ToClusterSettings())
                .AddRoomStorage(services.GetRequiredService<RoomStorage>())
                .AddRooms(options.ToRoomSettings(services.GetRequiredService<TimeProvider>()), options.RoomSnapshotEvery)
                .AddRoomRelays()
                .AddConnections(options.ToConnectionSettings());
        });

        // After AddAkka: hosted services stop in reverse order, so the listener stops accepting before Akka stops.
        builder.Services.AddTlsListener();
        configureServices?.Invoke(builder.Services);
        return builder.Build();
    }

    /// <summary>
    /// The configuration binder keeps only the last of a repeated switch, so each <c>--seed X</c> (or <c>--seed=X</c>,
    /// X one seed or a comma-separated list) becomes <c>--Server:Seeds:i X</c>, in order.
    /// </summary>
    public static string[] ExpandSeeds(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var expanded = new List<string>(args.Count);
        var seeds = 0;
        for (var i = 0; i < args.Count; i++)
        {
            string? value = null;
            if (args[i] == SeedSwitch && i + 1 < args.Count)
            {
                value = args[++i];
            }
            else if (args[i].StartsWith(SeedSwitch + "=", StringComparison.Ordinal))
            {
                value = args[i][(SeedSwitch.Length + 1)..];
            }

            if (value is null)
            {
                expanded.Add(args[i]);
                continue;
            }

            foreach (var seed in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                expanded.Add(string.Create(CultureInfo.InvariantCulture, $"--{ServerOptions.Section}:{nameof(ServerOptions.Seeds)}:{seeds++}"));
                expanded.Add(seed);
            }
        }

        return [.. expanded];
    }

    /// <summary>
    /// The configured file, else hocon/server.hocon under the working directory (running from the
    /// repository root), else server.hocon next to the binary (copied there by the build).
    /// </summary>
    public static string? FindHocon(string? configured)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return File.Exists(configured) ? Path.GetFullPath(configured) : throw new FileNotFoundException($"HOCON file not found: {configured}", configured);
        }

        string[] candidates = [Path.Combine(Directory.GetCurrentDirectory(), "hocon", HoconFileName), Path.Combine(AppContext.BaseDirectory, HoconFileName)];
        return candidates.FirstOrDefault(File.Exists);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Akka settings from {Path}")]
    private static partial void LogHocon(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No {FileName} found (hocon/ under the working directory, or next to the binary); Akka runs on its defaults")]
    private static partial void LogNoHocon(ILogger logger, string fileName);
}
