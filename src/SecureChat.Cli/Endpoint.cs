using System.Globalization;

namespace SecureChat.Cli;

/// <summary>A HOST:PORT pair from the command line (<c>--server</c> takes a comma-separated list of them).</summary>
internal sealed record Endpoint(string Host, int Port)
{
    public const string Default = "127.0.0.1:4443";

    public static bool TryParse(string? text, out Endpoint endpoint, out string problem)
    {
        endpoint = new Endpoint("127.0.0.1", 4443);
        problem = string.Empty;
        if (string.IsNullOrWhiteSpace(text))
        {
            problem = "the server address is empty; use HOST:PORT";
            return false;
        }

        var colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            problem = $"'{text}' is not HOST:PORT";
            return false;
        }

        var host = text[..colon].Trim('[', ']');
        if (!int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            problem = $"'{text[(colon + 1)..]}' is not a port number (1-65535)";
            return false;
        }

        endpoint = new Endpoint(host, port);
        return true;
    }

    /// <summary>A comma-separated list of HOST:PORT (<c>A,B,C</c>), in order; refused when empty or when any entry is not HOST:PORT.</summary>
    public static bool TryParseList(string? text, out IReadOnlyList<Endpoint> endpoints, out string problem)
    {
        endpoints = [];
        var parsed = new List<Endpoint>();
        foreach (var entry in (text ?? string.Empty).Split(',', StringSplitOptions.TrimEntries))
        {
            if (!TryParse(entry, out var endpoint, out problem))
            {
                return false;
            }

            parsed.Add(endpoint);
        }

        endpoints = parsed;
        problem = string.Empty;
        return true;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Host}:{Port}");
}
