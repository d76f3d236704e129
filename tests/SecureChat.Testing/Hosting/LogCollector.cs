using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using SecureChat.Testing.RawClients;

namespace SecureChat.Testing.Hosting;

/// <summary>Keeps every log line the host writes (Akka's included, which are routed through the logger factory).</summary>
public sealed class LogCollector : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => [.. _lines];

    public int Count(string part) => _lines.Count(line => line.Contains(part, StringComparison.Ordinal));

    /// <summary>Akka logs asynchronously: waits (up to a generous deadline) until a line with <paramref name="part"/> was written.</summary>
    public async Task<string> WaitForAsync(string part)
    {
        using var deadline = new CancellationTokenSource(TestClient.Timeout);
        while (true)
        {
            var line = _lines.FirstOrDefault(l => l.Contains(part, StringComparison.Ordinal));
            if (line is not null)
            {
                return line;
            }

            await Task.Delay(20, deadline.Token);
        }
    }

    public ILogger CreateLogger(string categoryName) => new Collector(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Collector(LogCollector owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)}");
    }
}
