using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace SecureChat.Testing.Hosting;

/// <summary>
/// Listens to the server's meter (SecureChat.Server) in this process and adds up what the named counters record,
/// by tag. Every server in the process records into it: tests check for at least what they caused.
/// </summary>
public sealed class MetricTotals : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _totals = new(StringComparer.Ordinal);

    public MetricTotals(params string[] instruments)
    {
        var names = instruments.ToHashSet(StringComparer.Ordinal);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "SecureChat.Server" && names.Contains(instrument.Name))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            _totals.AddOrUpdate(instrument.Name, value, (_, total) => total + value);
            foreach (var tag in tags)
            {
                _totals.AddOrUpdate($"{instrument.Name}{{{tag.Key}={tag.Value}}}", value, (_, total) => total + value);
            }
        });
        _listener.Start();
    }

    /// <summary>What <paramref name="instrument"/> recorded since this listener started, or only with the tag given.</summary>
    public long Total(string instrument, (string Key, string Value)? tag = null) =>
        _totals.GetValueOrDefault(tag is { } t ? $"{instrument}{{{t.Key}={t.Value}}}" : instrument);

    public void Dispose() => _listener.Dispose();
}
