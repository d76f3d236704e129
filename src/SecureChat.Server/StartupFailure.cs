using System.Text.RegularExpressions;
using Akka.Configuration;
using Akka.Configuration.Hocon;
using Microsoft.Extensions.Options;

namespace SecureChat.Server;

/// <summary>The one line a failed start prints: the first <see cref="StartupException"/> in the chain says it best.</summary>
public static partial class StartupFailure
{
    /// <summary>
    /// The line for <paramref name="error"/>. A value Akka could not read from the HOCON file <paramref name="hoconPath"/>
    /// (its exception names only the value) is named with its key and the file.
    /// </summary>
    public static string Describe(Exception error, string? hoconPath = null)
    {
        ArgumentNullException.ThrowIfNull(error);
        var line = Find<StartupException>(error)?.Message
                   ?? (Find<OptionsValidationException>(error) is { } invalid ? "invalid settings: " + string.Join("; ", invalid.Failures) : null)
                   ?? (Find<FormatException>(error) is { } format && hoconPath is not null && HoconKeysWithValue(hoconPath, format.Message) is { Count: > 0 } keys
                       ? $"HOCON file {hoconPath}: {string.Join(", ", keys)}: {format.Message}"
                       : null)
                   ?? Plain(Innermost(error));
        return line.ReplaceLineEndings(" ");
    }

    /// <summary>The keys of the HOCON file whose value is the one quoted in <paramref name="message"/> ("The input string 'abc' …").</summary>
    private static List<string> HoconKeysWithValue(string hoconPath, string message)
    {
        if (QuotedValue().Match(message) is not { Success: true } quoted)
        {
            return [];
        }

        try
        {
            var keys = new List<string>();
            Collect(ConfigurationFactory.ParseString(File.ReadAllText(hoconPath)).Root, "", quoted.Groups[1].Value, keys);
            return keys;
        }
#pragma warning disable CA1031 // only a better message is at stake
        catch (Exception)
#pragma warning restore CA1031
        {
            return [];
        }
    }

    private static void Collect(HoconValue value, string path, string wanted, List<string> keys)
    {
        if (value.IsObject())
        {
            foreach (var (key, child) in value.GetObject().Items)
            {
                Collect(child, path.Length == 0 ? key : $"{path}.{key}", wanted, keys);
            }
        }
        else if (value.IsString() && string.Equals(value.GetString(), wanted, StringComparison.Ordinal))
        {
            keys.Add($"{path} = {wanted}");
        }
    }

    [GeneratedRegex("'([^']*)'")]
    private static partial Regex QuotedValue();

    private static string Plain(Exception error) => $"{error.GetType().Name}: {error.Message}";

    private static T? Find<T>(Exception error)
        where T : Exception
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }

            if (e is AggregateException { InnerExceptions.Count: > 0 } aggregate)
            {
                return aggregate.InnerExceptions.Select(Find<T>).FirstOrDefault(f => f is not null);
            }
        }

        return null;
    }

    private static Exception Innermost(Exception error)
    {
        var e = error;
        while (e.InnerException is not null && e is AggregateException or TypeInitializationException or System.Reflection.TargetInvocationException)
        {
            e = e.InnerException;
        }

        return e;
    }
}
