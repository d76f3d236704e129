using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Filters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using SecureChat.Benchmarks.Reporting;

namespace SecureChat.Benchmarks.Micro;

/// <summary>Runs the BenchmarkDotNet classes and copies their summary tables into the report.</summary>
internal static class MicroBenchmarks
{
    public static readonly Type[] Classes = [typeof(FrameBenchmarks), typeof(AeadBenchmarks), typeof(GroupSendBenchmarks), typeof(GroupReceiveBenchmarks), typeof(MessageLogBenchmarks)];

    /// <param name="quick">BenchmarkDotNet's short run with 100 ms iterations: figures within tens of percent, in a minute or two.</param>
    /// <param name="dry">One invocation of each benchmark: proves the setups work, measures nothing.</param>
    public static void Run(string filter, bool quick, bool dry, string output, ResultsReport report)
    {
        // In-process: no generated project to build, so it runs the same on a fresh clone and on CI machines.
        var job = dry ? Job.Dry
            : quick ? Job.ShortRun.WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(100))
            : Job.Default;
        var progress = new StreamWriter(Console.OpenStandardError()) { AutoFlush = true };
        var config = ManualConfig.CreateEmpty()
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddDiagnoser(BenchmarkDotNet.Diagnosers.MemoryDiagnoser.Default)
            .AddLogger(new StreamLogger(progress)) // stdout carries only the report
            .AddJob(job.WithToolchain(InProcessEmitToolchain.Instance))
            .AddExporter(MarkdownExporter.GitHub)
            .AddFilter(new GlobFilter([filter]))
            .WithArtifactsPath(Path.GetFullPath(Path.Combine(output, "micro")));
        foreach (var summary in BenchmarkRunner.Run(Classes, config))
        {
            if (summary.BenchmarksCases.Length == 0)
            {
                continue;
            }

            var table = new AccumulationLogger();
            MarkdownExporter.GitHub.ExportToLog(summary, table);
            report.Micro.Add($"### {summary.BenchmarksCases[0].Descriptor.Type.Name}{(dry ? " (dry run: one invocation, not a measurement)" : "")}\n\n{table.GetLog().Trim()}");
        }
    }
}
