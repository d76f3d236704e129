using Akka.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SecureChat.Server.Cluster;
using SecureChat.Server.Configuration;
using SecureChat.Server.Connections;
using SecureChat.Server.Diagnostics;
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

    /// <summary>
    /// The host of a server run with <paramref name="args"/> (its command line: <see cref="ServerCommandLine"/>). A command
    /// line or configuration it cannot use throws <see cref="StartupException"/> naming the setting.
    /// </summary>
    public static IHost Build(IReadOnlyList<string> args, Action<IServiceCollection>? configureServices = null)
    {
        var commandLine = ServerCommandLine.Parse(args);
        if (commandLine.Error is not null)
        {
            throw new StartupException(commandLine.Error);
        }

        if (commandLine.Command != ServerCommand.Run)
        {
            throw new ArgumentException("--help and --version do not run a server", nameof(args));
        }

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
        builder.Configuration.AddInMemoryCollection(commandLine.Settings);
        if (ServerOptionCatalog.Problems(builder.Configuration) is { Count: > 0 } problems)
        {
            throw new StartupException(string.Join("; ", problems));
        }

        var logging = builder.Configuration.GetSection(ServerOptions.Section).Get<ServerOptions>() ?? new ServerOptions();
        builder.Logging.ClearProviders();
        if (logging.LogFormat == ServerLogFormat.Json)
        {
            builder.Logging.AddJsonConsole(console =>
            {
                console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                console.UseUtcTimestamp = true;
            });
        }
        else
        {
            builder.Logging.AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "HH:mm:ss.fff ";
                console.UseUtcTimestamp = true;
            });
        }

        if (logging.Verbose)
        {
            builder.Logging.SetMinimumLevel(LogLevel.Debug);
        }
        else
        {
            // The host logs a failed start with its stack trace; Program prints the one line that says why instead.
            builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        }

        builder.Services.AddOptions<ServerOptions>().Bind(builder.Configuration.GetSection(ServerOptions.Section)).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ServerOptions>, ServerOptionsValidator>();
        builder.Services.AddSingleton(TimeProvider.System);

        builder.Services.AddServerCertificates();
        builder.Services.AddMetricsEndpoint();

        // Opened (the data folder made and locked) by the next hosted service, before the actor system starts.
        builder.Services.AddSingleton(services => OpenStorage(services.GetRequiredService<IOptions<ServerOptions>>().Value));
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
                .AddUndeliveredLogger()
                .AddReadiness(services.GetRequiredService<Readiness>())
                .AddClusterSerialization()
                .AddCluster(options.ToClusterSettings())
                .AddRoomStorage(services.GetRequiredService<RoomStorage>())
                .AddRooms(options.ToRoomSettings(services.GetRequiredService<TimeProvider>()), options.RoomSnapshotEvery)
                .AddRoomRelays()
                .AddSignIns()
                .AddConnections(options.ToConnectionSettings());
        });

        // After AddAkka: hosted services stop in reverse order, so the listener stops accepting before Akka stops.
        builder.Services.AddTlsListener();
        configureServices?.Invoke(builder.Services);
        return builder.Build();
    }

    private static RoomStorage OpenStorage(ServerOptions options)
    {
        try
        {
            return RoomStorage.Open(options);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or Microsoft.Data.Sqlite.SqliteException)
        {
            var where = string.IsNullOrWhiteSpace(options.PostgresConnectionString) ? $"data folder {options.DataPath ?? RoomStorage.DefaultDataPath()} (--data)" : "--postgres";
            throw new StartupException($"cannot open the room storage in the {where}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// The configured file, else hocon/server.hocon under the working directory (running from the
    /// repository root), else server.hocon next to the binary (copied there by the build).
    /// </summary>
    public static string? FindHocon(string? configured)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return File.Exists(configured) ? CheckHocon(Path.GetFullPath(configured)) : throw new StartupException($"HOCON file not found: {Path.GetFullPath(configured)} (--hocon)");
        }

        string[] candidates = [Path.Combine(Directory.GetCurrentDirectory(), "hocon", HoconFileName), Path.Combine(AppContext.BaseDirectory, HoconFileName)];
        return candidates.FirstOrDefault(File.Exists) is { } found ? CheckHocon(found) : null;
    }

    /// <summary>The HOCON file a server run with <paramref name="commandLine"/> reads, or null (none found, or not readable).</summary>
    public static string? HoconPathOf(ServerCommandLine commandLine)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        var configured = commandLine.Settings.LastOrDefault(s => string.Equals(s.Key, $"{ServerOptions.Section}:{nameof(ServerOptions.HoconPath)}", StringComparison.OrdinalIgnoreCase)).Value;
        try
        {
            return FindHocon(configured);
        }
        catch (StartupException)
        {
            return null;
        }
    }

    /// <summary>Refuses a HOCON file that does not parse, naming it and where, instead of running on part of it.</summary>
    public static string CheckHocon(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StartupException($"cannot read HOCON file {path}: {ex.Message}", ex);
        }

        if (HoconCheck.Problem(text) is { } problem)
        {
            throw new StartupException($"HOCON file {path} does not parse: {problem}");
        }

        return path;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Akka settings from {Path}")]
    private static partial void LogHocon(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No {FileName} found (hocon/ under the working directory, or next to the binary); Akka runs on its defaults")]
    private static partial void LogNoHocon(ILogger logger, string fileName);
}
