using SecureChat.Benchmarks.Load;
using SecureChat.Benchmarks.Targets;
using SecureChat.Benchmarks.Targets.Bare;

namespace SecureChat.Benchmarks.Cli;

/// <summary>Makes a fresh target by name; each measured shape gets a freshly started relay.</summary>
internal static class TargetFactory
{
    public static readonly IReadOnlyList<string> All = ["securechat", "bare", "nats", "mosquitto"];

    /// <param name="serverCpu">Core to pin the relay process to, or null.</param>
    /// <param name="inProcess">Run the bare relay inside this process (the unit test's smoke run).</param>
    public static IRelayTarget Create(string name, BenchCertificates certificates, int? serverCpu, bool inProcess = false) => name switch
    {
        "bare" => new BareRelayTarget(certificates, inProcess, serverCpu),
        _ => throw new ArgumentException($"unknown target '{name}'; known: {string.Join(", ", All)}", nameof(name)),
    };
}
