using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using System.Text;
using Microsoft.Extensions.Configuration;

namespace SecureChat.Server.Configuration;

/// <summary>One setting of <see cref="ServerOptions"/>: its configuration key, its switch, its default and what it does.</summary>
public sealed record ServerOption(PropertyInfo Property, string Switch, string ValueName, string Description, string DefaultText)
{
    public string Name => Property.Name;

    /// <summary>The configuration key (<c>Server:Port</c>).</summary>
    public string Key => $"{ServerOptions.Section}:{Name}";

    /// <summary>The element type of a list, the underlying type of a nullable.</summary>
    public Type ValueType => Property.PropertyType.IsArray
        ? Property.PropertyType.GetElementType()!
        : Nullable.GetUnderlyingType(Property.PropertyType) ?? Property.PropertyType;

    /// <summary>A switch without a value: given alone it means true.</summary>
    public bool IsFlag => ValueType == typeof(bool);

    /// <summary>Repeatable: each value is one element (<c>Server:Seeds:0</c>, <c>Server:Seeds:1</c>, …).</summary>
    public bool IsList => Property.PropertyType.IsArray;
}

/// <summary>
/// Every server setting, read from <see cref="ServerOptions"/> itself (its properties, their descriptions, switches and
/// defaults): the command line, the configuration check and <c>--help</c> all use this one list.
/// </summary>
public static class ServerOptionCatalog
{
    public static IReadOnlyList<ServerOption> Options { get; } = Build();

    /// <summary>The setting behind <paramref name="name"/> (a property name, any case), or null.</summary>
    public static ServerOption? ByName(string name) => Options.FirstOrDefault(o => string.Equals(o.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The setting behind a switch (<c>--port</c>), or null.</summary>
    public static ServerOption? BySwitch(string name) => Options.FirstOrDefault(o => string.Equals(o.Switch, name, StringComparison.Ordinal));

    /// <summary>
    /// What is wrong with the <c>Server</c> section of the configuration (from every source: command line,
    /// environment): keys that name no setting (with the closest one), and values that do not convert. Empty when fine.
    /// </summary>
    public static IReadOnlyList<string> Problems(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var problems = new List<string>();
        foreach (var (key, value) in configuration.GetSection(ServerOptions.Section).AsEnumerable(makePathsRelative: true))
        {
            if (key.Length == 0)
            {
                continue;
            }

            var path = key.Split(ConfigurationPath.KeyDelimiter);
            var fullKey = $"{ServerOptions.Section}:{key}";
            if (ByName(path[0]) is not { } option)
            {
                problems.Add($"unknown setting {ServerOptions.Section}:{path[0]}{Suggest(path[0], Options.Select(o => o.Name), $"{ServerOptions.Section}:")}");
            }
            else if (path.Length > 2 || path.Length == 2 && !(option.IsList && int.TryParse(path[1], NumberStyles.None, CultureInfo.InvariantCulture, out _)))
            {
                problems.Add($"unknown setting {fullKey} ({option.Key} {(option.IsList ? "takes a list: Server:Name:0, Server:Name:1, …" : "has no parts")})");
            }
            else if (value is not null && (path.Length == 2 || !option.IsList) && ValueProblem(option, value) is { } problem)
            {
                problems.Add($"{fullKey}: {problem}");
            }
        }

        return problems;
    }

    /// <summary>Why <paramref name="value"/> is no value of <paramref name="option"/> (the binder would throw), or null.</summary>
    public static string? ValueProblem(ServerOption option, string value)
    {
        ArgumentNullException.ThrowIfNull(option);
        var type = option.ValueType;
        if (type == typeof(string))
        {
            return null;
        }

        try
        {
            // The converter the configuration binder uses.
            _ = TypeDescriptor.GetConverter(type).ConvertFromInvariantString(value);
            return null;
        }
#pragma warning disable CA1031 // converters throw what they like (FormatException, ArgumentException, OverflowException…)
        catch (Exception)
#pragma warning restore CA1031
        {
            return $"'{value}' is not {Kind(type)}";
        }
    }

    /// <summary>" (did you mean X?)" for the candidate closest to <paramref name="wrong"/>, or "" when none is close.</summary>
    public static string Suggest(string wrong, IEnumerable<string> candidates, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(wrong);
        var best = candidates
            .Select(c => (Candidate: c, Distance: Distance(wrong.ToUpperInvariant(), c.ToUpperInvariant())))
            .OrderBy(c => c.Distance)
            .FirstOrDefault();
        return best.Candidate is not null && best.Distance <= Math.Max(2, wrong.Length / 3) ? $" (did you mean {prefix}{best.Candidate}?)" : "";
    }

    /// <summary>The Levenshtein distance: the fewest inserted, deleted or replaced characters that make one string the other.</summary>
    public static int Distance(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        var current = new int[b.Length + 1];
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    private static string Kind(Type type) =>
        type == typeof(int) || type == typeof(long) ? "a whole number"
        : type == typeof(TimeSpan) ? "a time span (HH:MM:SS, or D.HH:MM:SS)"
        : type == typeof(bool) ? "true or false"
        : type.IsEnum ? $"one of {string.Join(", ", Enum.GetNames(type).Select(n => n.ToLowerInvariant()))}"
        : $"a {type.Name}";

    private static List<ServerOption> Build()
    {
        var defaults = new ServerOptions();
        return [.. typeof(ServerOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite)
            .OrderBy(p => p.MetadataToken) // declaration order
            .Select(p =>
            {
                var attribute = p.GetCustomAttribute<OptionSwitchAttribute>();
                var description = p.GetCustomAttribute<DescriptionAttribute>()?.Description
                    ?? throw new InvalidOperationException($"ServerOptions.{p.Name} has no [Description]: --help must explain every setting");
                var option = new ServerOption(p, attribute is { Name.Length: > 0 } ? attribute.Name : "--" + KebabCase(p.Name), "", description, DefaultText(p.GetValue(defaults)));
                return option with { ValueName = attribute is { Value.Length: > 0 } ? attribute.Value : ValueNameOf(option.ValueType) };
            })];
    }

    private static string ValueNameOf(Type type) =>
        type == typeof(int) || type == typeof(long) ? "N"
        : type == typeof(TimeSpan) ? "HH:MM:SS"
        : type == typeof(bool) ? ""
        : "TEXT";

    private static string DefaultText(object? value) => value switch
    {
        null => "(unset)",
        string[] { Length: 0 } => "(none)",
        bool flag => flag ? "true" : "false",
        TimeSpan span => span.ToString("c", CultureInfo.InvariantCulture),
        Enum choice => choice.ToString().ToLowerInvariant(),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static string KebabCase(string name)
    {
        var kebab = new StringBuilder(name.Length + 4);
        foreach (var c in name)
        {
            if (char.IsUpper(c) && kebab.Length > 0)
            {
                kebab.Append('-');
            }

            kebab.Append(char.ToLowerInvariant(c));
        }

        return kebab.ToString();
    }
}
