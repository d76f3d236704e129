using System.Globalization;
using System.Net;

namespace SecureChat.Testing.Hosting;

/// <summary>
/// One scrape of a server's <c>/metrics</c> in the Prometheus text format: each sample by its name with its labels as
/// written (<c>securechat_frames_rejected_total{code="NOT_A_MEMBER"}</c>), and the HTTP calls the health tests make.
/// </summary>
public sealed class MetricsScrape
{
    private readonly Dictionary<string, double> _samples;

    private MetricsScrape(Dictionary<string, double> samples, string text)
    {
        _samples = samples;
        Text = text;
    }

    public string Text { get; }

    public static async Task<MetricsScrape> TakeAsync(HttpClient http, IPEndPoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(http);
        var text = await http.GetStringAsync(new Uri($"http://{endpoint}/metrics"));
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            // NAME{LABELS} VALUE [TIMESTAMP]; label values here never hold a space.
            var parts = line.Split(' ');
            samples[WithoutOtelScope(parts[0])] = double.Parse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        return new MetricsScrape(samples, text);
    }

    /// <summary>The sample's value, or 0 when the scrape has none of that name (a counter nothing has counted yet).</summary>
    public double this[string sample] => _samples.GetValueOrDefault(sample);

    /// <summary>The sum of the samples named <paramref name="name"/>, whatever their labels.</summary>
    public double Sum(string name) =>
        _samples.Where(s => s.Key == name || s.Key.StartsWith(name + "{", StringComparison.Ordinal)).Sum(s => s.Value);

    public bool Has(string name) => Sum(name) > 0 || _samples.Keys.Any(k => k == name || k.StartsWith(name + "{", StringComparison.Ordinal));

    /// <summary>GET <paramref name="path"/>: the status code and the body.</summary>
    public static async Task<(HttpStatusCode Status, string Body)> GetAsync(HttpClient http, IPEndPoint endpoint, string path)
    {
        ArgumentNullException.ThrowIfNull(http);
        using var response = await http.GetAsync(new Uri($"http://{endpoint}{path}"));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The exporter adds the meter's name and version as labels to every sample; the tests do not name them.</summary>
    private static string WithoutOtelScope(string sample)
    {
        var open = sample.IndexOf('{', StringComparison.Ordinal);
        if (open < 0)
        {
            return sample;
        }

        var labels = sample[(open + 1)..^1].Split(',').Where(l => l.Length > 0 && !l.StartsWith("otel_scope_", StringComparison.Ordinal)).ToList();
        return labels.Count == 0 ? sample[..open] : $"{sample[..open]}{{{string.Join(',', labels)}}}";
    }
}
