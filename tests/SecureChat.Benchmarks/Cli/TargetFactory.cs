using SecureChat.Benchmarks.Load;
using SecureChat.Benchmarks.Targets;
using SecureChat.Benchmarks.Targets.Bare;
using SecureChat.Benchmarks.Targets.Mqtt;
using SecureChat.Benchmarks.Targets.Nats;
using SecureChat.Benchmarks.Targets.SecureChat;

namespace SecureChat.Benchmarks.Cli;

/// <summary>Makes a fresh target by name; each measured shape gets a freshly started relay.</summary>
internal static class TargetFactory
{
    public static readonly IReadOnlyList<string> All = ["securechat", "securechat-nolog", "bare", "nats", "jetstream", "mosquitto", "securechat-e2e"];

    /// <summary>
    /// The relay benchmark's .NET relays (ours, bare) run without tiered compilation: every method is compiled optimised at
    /// its first call, as nats-server and mosquitto are compiled ahead of time. With tiering, a warm-up of a few seconds on
    /// a loaded machine left much of the server in tier-0 and instrumented code, and the closed loop measured the JIT
    /// (its compiler thread a fifth of the server's samples): 4.5–5.7 µs server CPU per delivery durable instead of 2.0–2.3.
    /// A long-running server reaches tier 1 with dynamic PGO, which is at least as fast, so this errs against us if at all.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> OptimisedJit = new Dictionary<string, string> { ["DOTNET_TieredCompilation"] = "0" };

    /// <param name="serverCpu">Core to pin the relay process to, or null.</param>
    /// <param name="inProcess">Run the bare relay inside this process (the unit test's smoke run).</param>
    /// <param name="serverSettings">Extra <c>Name=value</c> server options for our server (<c>--server-setting</c>).</param>
    /// <param name="deployment">Nodes and storage of our server (<c>--nodes</c>, <c>--postgres</c>).</param>
    /// <param name="baselineServer">Another build's SecureChat.Server.dll for <c>securechat-baseline</c> (<c>--baseline-server</c>).</param>
    /// <param name="dotnetEnvironment">Variables for the relays written in .NET (e.g. <see cref="OptimisedJit"/>).</param>
    public static IRelayTarget Create(string name, BenchCertificates certificates, int? serverCpu, TextWriter progress, bool inProcess = false,
        IReadOnlyList<string>? serverSettings = null, SecureChatDeployment? deployment = null, string? baselineServer = null,
        IReadOnlyDictionary<string, string>? dotnetEnvironment = null) => name switch
    {
        "securechat" => new SecureChatTarget(certificates, serverCpu, ServerSwitches(serverSettings), deployment: deployment, environment: dotnetEnvironment),
        "securechat-nolog" => new SecureChatTarget(certificates, serverCpu, [.. ServerSwitches(serverSettings), "--Server:MessageLog=false"],
            deployment: (deployment ?? new SecureChatDeployment()) with { Label = "nolog" }, environment: dotnetEnvironment),
        "securechat-e2e" => new SecureChatTarget(certificates, serverCpu, ServerSwitches(serverSettings), endToEnd: true, deployment: deployment,
            environment: dotnetEnvironment),
        "securechat-baseline" => new SecureChatTarget(certificates, serverCpu, ServerSwitches(serverSettings),
            deployment: new SecureChatDeployment(ServerAssembly: baselineServer ?? throw new ArgumentException("securechat-baseline needs --baseline-server PATH/SecureChat.Server.dll"),
                Label: "baseline"), environment: dotnetEnvironment),
        "bare" => new BareRelayTarget(certificates, inProcess, serverCpu, dotnetEnvironment),
        "nats" => new NatsTarget(certificates, serverCpu, progress),
        "jetstream" => new NatsTarget(certificates, serverCpu, progress, jetStream: true),
        "mosquitto" => new MosquittoTarget(certificates, serverCpu, progress),
        _ => throw new ArgumentException($"unknown target '{name}'; known: {string.Join(", ", All)}", nameof(name)),
    };

    private static List<string> ServerSwitches(IReadOnlyList<string>? settings) =>
        (settings ?? []).Select(setting => "--Server:" + setting).ToList();
}
