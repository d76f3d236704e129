using System.Globalization;
using System.Reflection;
using System.Text;
using SecureChat.Core.Wire;

namespace SecureChat.Server.Configuration;

/// <summary>What the command line asks for.</summary>
public enum ServerCommand
{
    Run,
    Help,
    Version,
}

/// <summary>
/// The server's command line, read against <see cref="ServerOptionCatalog"/>: each setting's switch
/// (<c>--port 4443</c>, <c>--port=4443</c>, a flag alone means true), or <c>--Server:Name value</c>; <c>--help</c> and
/// <c>--version</c>. Anything it does not know is an error naming the closest switch; keys of the host's other
/// configuration sections (<c>--Logging:LogLevel:Default Debug</c>) pass through unchecked. The settings become
/// configuration keys (<c>Server:Port</c>); a repeated one keeps its last value, a list (<c>--seed</c>) every value.
/// </summary>
public sealed class ServerCommandLine
{
    public const string HelpSwitch = "--help";
    public const string VersionSwitch = "--version";

    private static readonly string[] HelpAliases = [HelpSwitch, "-h", "-?"];

    private ServerCommandLine(ServerCommand command, IReadOnlyList<KeyValuePair<string, string?>> settings, string? error)
    {
        Command = command;
        Settings = settings;
        Error = error;
    }

    public ServerCommand Command { get; }

    /// <summary>The settings as configuration keys and values, in the order given.</summary>
    public IReadOnlyList<KeyValuePair<string, string?>> Settings { get; }

    /// <summary>Why the command line is refused (one line), or null.</summary>
    public string? Error { get; }

    /// <summary>Whether <c>--verbose</c> (or <c>--Server:Verbose true</c>) was given: a startup failure shows its stack trace.</summary>
    public bool Verbose => Settings.LastOrDefault(s => string.Equals(s.Key, Key(nameof(ServerOptions.Verbose)), StringComparison.OrdinalIgnoreCase)).Value is { } verbose &&
                           bool.TryParse(verbose, out var on) && on;

    public static ServerCommandLine Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var settings = new List<KeyValuePair<string, string?>>();
        var listCounts = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var command = ServerCommand.Run;
        string? error = null;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (HelpAliases.Contains(arg, StringComparer.Ordinal))
            {
                command = ServerCommand.Help;
                continue;
            }

            if (arg == VersionSwitch)
            {
                command = command == ServerCommand.Help ? command : ServerCommand.Version;
                continue;
            }

            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? arg : arg[..equals];
            var inline = equals < 0 ? null : arg[(equals + 1)..];
            // After an error only --help and --version still count.
            error ??= ReadOne(args, ref i, name, inline, settings, listCounts);
        }

        // A repeated setting keeps its last value, in the place it was last given.
        var last = settings.Select((s, i) => (s.Key, i)).GroupBy(s => s.Key, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.Max(s => s.i), StringComparer.OrdinalIgnoreCase);
        settings = [.. settings.Where((s, i) => last[s.Key] == i)];
        return error is not null && command == ServerCommand.Run ? new ServerCommandLine(command, [], error) : new ServerCommandLine(command, settings, null);
    }

    /// <summary>The text of <c>--help</c>: every setting with its switch, key, default and meaning, from the catalog.</summary>
    public static string HelpText()
    {
        var text = new StringBuilder();
        text.AppendLine("Usage: SecureChat.Server [OPTION]...");
        text.AppendLine("The SecureChat relay: TLS 1.3 with client certificates, one actor per connection, sharded event-sourced rooms.");
        text.AppendLine("Ctrl-C or SIGTERM closes every connection (SERVER_SHUTDOWN) and exits 0; a startup failure exits 1, a bad");
        text.AppendLine("command line 2.");
        text.AppendLine();
        text.AppendLine("  --help       this text, and exit");
        text.AppendLine("  --version    the server's and the protocol's versions, and exit");
        text.AppendLine();
        text.AppendLine("Settings: each as its switch, as --Server:Name VALUE, or as the environment variable Server__Name.");
        foreach (var option in ServerOptionCatalog.Options)
        {
            var usage = option.ValueName.Length == 0 ? option.Switch : $"{option.Switch} {option.ValueName}";
            text.AppendLine(CultureInfo.InvariantCulture, $"  {usage}");
            text.AppendLine(CultureInfo.InvariantCulture, $"      {option.Key}, default {option.DefaultText}");
            foreach (var line in Wrap(option.Description, 100))
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"      {line}");
            }
        }

        return text.ToString();
    }

    public static string VersionText()
    {
        var assembly = typeof(ServerCommandLine).Assembly;
        var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? assembly.GetName().Version?.ToString() ?? "?";
        return string.Create(CultureInfo.InvariantCulture, $"SecureChat.Server {version} (wire protocol version {WireLimits.ProtocolVersion}, .NET {Environment.Version})");
    }

    private static string? ReadOne(IReadOnlyList<string> args, ref int i, string name, string? inline, List<KeyValuePair<string, string?>> settings,
        Dictionary<string, int> listCounts)
    {
        var sectionPrefix = "--" + ServerOptions.Section + ":";
        ServerOption? option;
        string? index = null;
        if (name.StartsWith(sectionPrefix, StringComparison.OrdinalIgnoreCase))
        {
            var path = name[sectionPrefix.Length..].Split(':');
            option = ServerOptionCatalog.ByName(path[0]);
            if (option is null)
            {
                return $"unknown option {name}{ServerOptionCatalog.Suggest(path[0], ServerOptionCatalog.Options.Select(o => o.Name), sectionPrefix)}";
            }

            if (path.Length > 2 || path.Length == 2 && !(option.IsList && int.TryParse(path[1], NumberStyles.None, CultureInfo.InvariantCulture, out _)))
            {
                return $"unknown option {name} ({sectionPrefix}{option.Name} {(option.IsList ? "takes an index: " + sectionPrefix + option.Name + ":0" : "has no parts")})";
            }

            index = path.Length == 2 ? path[1] : null;
        }
        else if (name.StartsWith("--", StringComparison.Ordinal) && name.Contains(':', StringComparison.Ordinal))
        {
            // Another section of the host's configuration (--Logging:LogLevel:Default Debug): not the server's to check.
            var key = name[2..];
            var other = inline ?? (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : null);
            if (other is null)
            {
                return $"{name} needs a value";
            }

            settings.Add(new(key, other));
            return null;
        }
        else
        {
            option = ServerOptionCatalog.BySwitch(name);
            if (option is null)
            {
                var known = ServerOptionCatalog.Options.Select(o => o.Switch).Concat([HelpSwitch, VersionSwitch]);
                return name.StartsWith("--", StringComparison.Ordinal)
                    ? $"unknown option {name}{ServerOptionCatalog.Suggest(name, known)}"
                    : $"unexpected argument '{name}' (options start with --; see --help)";
            }
        }

        var value = inline;
        if (value is null)
        {
            if (option.IsFlag && (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal) || !bool.TryParse(args[i + 1], out _)))
            {
                value = "true";
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                value = args[++i];
            }
            else
            {
                return $"{name} needs a value ({(option.ValueName.Length > 0 ? option.ValueName : "true or false")})";
            }
        }

        if (!option.IsList || index is not null)
        {
            if (ServerOptionCatalog.ValueProblem(option, value) is { } problem)
            {
                return $"{name}: {problem}";
            }

            settings.Add(new(index is null ? option.Key : $"{option.Key}:{index}", value));
            return null;
        }

        // A list switch takes one value or a comma-separated list; each is the next element.
        foreach (var element in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var next = listCounts.GetValueOrDefault(option.Name);
            listCounts[option.Name] = next + 1;
            settings.Add(new(string.Create(CultureInfo.InvariantCulture, $"{option.Key}:{next}"), element));
        }

        return null;
    }

    private static string Key(string name) => $"{ServerOptions.Section}:{name}";

    private static IEnumerable<string> Wrap(string text, int width)
    {
        var line = new StringBuilder();
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > width)
            {
                yield return line.ToString();
                line.Clear();
            }

            line.Append(line.Length > 0 ? " " : "").Append(word);
        }

        if (line.Length > 0)
        {
            yield return line.ToString();
        }
    }
}
