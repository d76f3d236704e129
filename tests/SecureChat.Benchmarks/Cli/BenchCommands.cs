using System.CommandLine;
using SecureChat.Benchmarks.Processes;
using SecureChat.Benchmarks.Reporting;
using SecureChat.Benchmarks.Targets.SecureChat;

namespace SecureChat.Benchmarks.Cli;

/// <summary>The command line: all, relay, micro, join, connections, smoke (and the hidden serve-bare).</summary>
internal static class BenchCommands
{
    /// <summary>BenchmarkDotNet.Artifacts/ is in .gitignore, so results never land in the repository unignored.</summary>
    public static readonly string DefaultOutput = Path.Combine("BenchmarkDotNet.Artifacts", "securechat");

    public static RootCommand Build()
    {
        var output = new Option<string>("--out") { Description = "Folder for results-*.json and results-*.md", DefaultValueFactory = _ => DefaultOutput, Recursive = true };
        var targets = new Option<string[]>("--targets") { Description = "Relay targets", DefaultValueFactory = _ => [.. TargetFactory.All], AllowMultipleArgumentsPerToken = true };
        var rooms = new Option<int[]>("--rooms") { Description = "Room counts R to measure (one shape each)", DefaultValueFactory = _ => [1, 10], AllowMultipleArgumentsPerToken = true };
        var members = new Option<int>("--members") { Description = "Members N per room", DefaultValueFactory = _ => 10 };
        var messages = new Option<int>("--messages") { Description = "Messages M each member sends in the closed-loop run", DefaultValueFactory = _ => 20_000 };
        var size = new Option<int>("--size") { Description = "Payload bytes S per message", DefaultValueFactory = _ => 256 };
        var rates = new Option<int[]>("--rates") { Description = "Open-loop rates, in percent of the closed-loop maximum", DefaultValueFactory = _ => [10, 50, 90], AllowMultipleArgumentsPerToken = true };
        var duration = new Option<double>("--open-seconds") { Description = "Length of each open-loop run in seconds (at most M messages per member)", DefaultValueFactory = _ => 5 };
        var e2eMessages = new Option<int>("--e2e-messages") { Description = "Messages per member for securechat-e2e (real client crypto is slow)", DefaultValueFactory = _ => 2_000 };
        var serverSettings = new Option<string[]>("--server-setting") { Description = "Extra option for our server as Name=value (e.g. OutboundQueueLength=8192); repeatable", DefaultValueFactory = _ => [] };
        var nodes = new Option<int>("--nodes") { Description = "securechat: server processes forming one cluster on loopback, members spread over them (more than 1 needs --postgres)", DefaultValueFactory = _ => 1 };
        var postgres = new Option<string?>("--postgres") { Description = "securechat: store the rooms in this PostgreSQL database (Npgsql connection string) instead of SQLite" };
        var baselineServer = new Option<string?>("--baseline-server") { Description = "securechat-baseline: another build's SecureChat.Server.dll to run side by side (e.g. the relay before sharded rooms)" };
        var window = new Option<int>("--window") { Description = "Closed loop: messages in flight per sender", DefaultValueFactory = _ => 100 };
        var pin = new Option<bool>("--pin") { Description = "Also run with the relay pinned to core 0 and the load generator to core 1 (taskset)" };
        var noInstall = new Option<bool>("--no-install") { Description = "Do not apt-get install nats-server and mosquitto when missing", Recursive = true };
        var filter = new Option<string>("--filter") { Description = "BenchmarkDotNet filter (glob on Namespace.Class.Method)", DefaultValueFactory = _ => "*" };
        var quick = new Option<bool>("--quick") { Description = "Micro-benchmarks: BenchmarkDotNet's short job with 100 ms iterations" };
        var fullMicro = new Option<bool>("--full-micro") { Description = "all: BenchmarkDotNet's default job for the micro-benchmarks (about 2 hours here) instead of the short one" };
        var dry = new Option<bool>("--dry") { Description = "Micro-benchmarks: one invocation each, to check the setups (measures nothing)" };

        var relay = new Command("relay", "Relay throughput and latency: our server, the bare TLS relay, nats-server and mosquitto");
        foreach (var option in new Option[] { targets, rooms, members, messages, size, rates, duration, window, pin, e2eMessages, serverSettings, nodes, postgres, baselineServer })
        {
            relay.Options.Add(option);
        }

        RelaySettings RelayFrom(ParseResult r) => new(
            r.GetValue(targets)!, r.GetValue(rooms)!, r.GetValue(members), r.GetValue(messages), r.GetValue(size),
            r.GetValue(rates)!, TimeSpan.FromSeconds(r.GetValue(duration)), r.GetValue(window), r.GetValue(pin),
            EndToEndMessagesPerMember: r.GetValue(e2eMessages), ServerSettings: r.GetValue(serverSettings),
            Deployment: DeploymentFrom(r), BaselineServer: OnlyOnRelay(r, baselineServer));

        // `all` shares RelayFrom but not the cluster options: it always measures one node of this build.
        T? OnlyOnRelay<T>(ParseResult r, Option<T> option) => r.CommandResult.Command.Options.Contains(option) ? r.GetValue(option) : default;
        SecureChatDeployment DeploymentFrom(ParseResult r) =>
            new SecureChatDeployment(Math.Max(1, OnlyOnRelay(r, nodes)), OnlyOnRelay(r, postgres)).Validate();

        relay.SetAction(async (r, ct) => await ReportAsync("relay", r.GetValue(output)!, async report =>
        {
            DebianPackages.AllowInstall = !r.GetValue(noInstall);
            await RelayBenchmark.RunAsync(RelayFrom(r), report, Console.Error, ct);
            return 0;
        }));

        var micro = new Command("micro", "BenchmarkDotNet micro-benchmarks: frame parse/encode, AEAD, and the group engine");
        micro.Options.Add(filter);
        micro.Options.Add(quick);
        micro.Options.Add(dry);
        micro.SetAction(async (r, ct) => await ReportAsync("micro", r.GetValue(output)!, report =>
        {
            Micro.MicroBenchmarks.Run(r.GetValue(filter)!, r.GetValue(quick), r.GetValue(dry), r.GetValue(output)!, report);
            return Task.FromResult(0);
        }));

        var sizes = new Option<int[]>("--sizes") { Description = "Room sizes N: the N-th member's join is measured", DefaultValueFactory = _ => [10, 50, 100, 250], AllowMultipleArgumentsPerToken = true };
        var join = new Command("join", "Join cost on our server: time until the N-th member can read and send, bytes relayed for it");
        join.Options.Add(sizes);
        join.SetAction(async (r, ct) => await ReportAsync("join", r.GetValue(output)!, async report =>
        {
            await JoinBenchmark.RunAsync(r.GetValue(sizes)!, report, Console.Error, ct);
            return report.Joins.Any(j => j.Failure is not null) ? 1 : 0;
        }));
        var missed = new Option<int[]>("--missed") { Description = "Messages sent while the member was away", DefaultValueFactory = _ => [10_000], AllowMultipleArgumentsPerToken = true };
        var repeats = new Option<int>("--repeats") { Description = "Measurements per count", DefaultValueFactory = _ => 3 };
        var catchup = new Command("catchup", "Catch-up on our server: time for a member back from away to receive what it missed from the room's message log");
        catchup.Options.Add(missed);
        catchup.Options.Add(repeats);
        catchup.Options.Add(size);
        catchup.SetAction(async (r, ct) => await ReportAsync("catchup", r.GetValue(output)!, async report =>
        {
            await CatchUpBenchmark.RunAsync(r.GetValue(missed)!, r.GetValue(size), r.GetValue(repeats), report, Console.Error, ct);
            return report.Notes.Any(n => n.Contains("failed", StringComparison.Ordinal) || n.Contains(" of ", StringComparison.Ordinal)) ? 1 : 0;
        }));
        var count = new Option<int>("--count") { Description = "Idle connections to open", DefaultValueFactory = _ => 10_000 };
        var parallel = new Option<int>("--parallel") { Description = "Connections being opened at once", DefaultValueFactory = _ => 64 };
        var hold = new Option<double>("--hold") { Description = "Seconds the connections stay open before the server's memory is read (longer for a profiler)", DefaultValueFactory = _ => 1 };
        var connections = new Command("connections", "Idle authenticated connections: server memory per connection and the time to accept them");
        connections.Options.Add(targets);
        connections.Options.Add(count);
        connections.Options.Add(parallel);
        connections.Options.Add(hold);
        connections.SetAction(async (r, ct) => await ReportAsync("connections", r.GetValue(output)!, async report =>
        {
            DebianPackages.AllowInstall = !r.GetValue(noInstall);
            await ConnectionsBenchmark.RunAsync(new ConnectionSettings(r.GetValue(targets)!, r.GetValue(count), r.GetValue(parallel), HoldSeconds: r.GetValue(hold)), report, Console.Error, ct);
            return 0;
        }));

        var clients = new Option<int>("--clients") { Description = "storm: clients connected when the server is killed", DefaultValueFactory = _ => 10_000 };
        var storm = new Command("storm", "Reconnect storm on our server: every client connected, the server killed (SIGKILL) and restarted, the time until all are back");
        storm.Options.Add(clients);
        storm.Options.Add(parallel);
        storm.SetAction(async (r, ct) => await ReportAsync("storm", r.GetValue(output)!, async report =>
        {
            await StormBenchmark.RunAsync(r.GetValue(clients), r.GetValue(parallel), report, Console.Error, ct);
            return report.Storms.All(s => s.Failure is null) && report.Storms.Count > 0 ? 0 : 1;
        }));

        var all = new Command("all", "Everything: relay with every target (securechat-e2e included) pinned and unpinned, connections, join, micro");
        foreach (var option in new Option[] { targets, rooms, members, messages, size, rates, duration, window, fullMicro, e2eMessages })
        {
            all.Options.Add(option);
        }

        all.SetAction(async (r, ct) => await ReportAsync("all", r.GetValue(output)!, async report =>
        {
            DebianPackages.AllowInstall = !r.GetValue(noInstall);
            await RelayBenchmark.RunAsync(RelayFrom(r) with { Pin = true }, report, Console.Error, ct);
            await ConnectionsBenchmark.RunAsync(new ConnectionSettings(r.GetValue(targets)!, 10_000, 64), report, Console.Error, ct);
            await JoinBenchmark.RunAsync([10, 50, 100, 250], report, Console.Error, ct);
            // The short job: BenchmarkDotNet's default one takes about 2 hours for these 26 cases on this machine.
            Micro.MicroBenchmarks.Run("*", quick: !r.GetValue(fullMicro), dry: false, r.GetValue(output)!, report);
            return 0;
        }));

        var commits = new Option<int>("--commits") { Description = "persist: commits the room makes, one after the other", DefaultValueFactory = _ => 500 };
        var persist = new Command("persist", "Commits per second one room persists: on SQLite, and on PostgreSQL with --postgres");
        persist.Options.Add(commits);
        persist.Options.Add(postgres);
        persist.SetAction(async (r, ct) => await ReportAsync("persist", r.GetValue(output)!, async report =>
        {
            await PersistBenchmark.RunAsync(r.GetValue(commits), r.GetValue(postgres), report, Console.Error, ct);
            return 0;
        }));

        var smoke = new Command("smoke", "A few seconds of every target with tiny counts; fails unless our server and the bare relay deliver everything");
        smoke.Options.Add(targets);
        smoke.SetAction(async (r, ct) => await ReportAsync("smoke", r.GetValue(output)!, async report =>
        {
            DebianPackages.AllowInstall = false;
            var failures = await SmokeRun.RunAsync(r.GetValue(targets)!, inProcess: false, report, Console.Error, ct);
            foreach (var failure in failures)
            {
                Console.Error.WriteLine($"smoke: FAILED: {failure}");
            }

            return failures.Count == 0 ? 0 : 1;
        }));

        var serveCertificates = new Option<string>("--certs") { Description = "Folder with ca.pem, server.pem, server.key", Required = true };
        var servePort = new Option<int>("--port") { DefaultValueFactory = _ => 0 };
        var serveBare = new Command("serve-bare", "Runs the bare TLS relay (started by the relay benchmark as its own process)") { Hidden = true };
        serveBare.Options.Add(serveCertificates);
        serveBare.Options.Add(servePort);
        serveBare.SetAction(async (r, ct) => await ServeBare.RunAsync(r.GetValue(serveCertificates)!, r.GetValue(servePort), ct));

        var root = new RootCommand("SecureChat benchmarks: prints a markdown table and writes the same figures as JSON");
        root.Options.Add(output);
        root.Options.Add(noInstall);
        foreach (var command in new[] { all, relay, micro, join, catchup, connections, storm, persist, smoke, serveBare })
        {
            root.Subcommands.Add(command);
        }

        return root;
    }

    private static async Task<int> ReportAsync(string command, string output, Func<ResultsReport, Task<int>> run)
    {
        var report = new ResultsReport(command);
        var exitCode = await run(report);
        Console.Out.Write(report.ToMarkdown());
        var json = report.Save(output);
        Console.Error.WriteLine($"results: {Path.GetFullPath(json)}");
        return exitCode;
    }
}
