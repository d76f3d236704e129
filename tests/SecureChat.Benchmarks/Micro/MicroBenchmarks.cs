using SecureChat.Benchmarks.Reporting;

namespace SecureChat.Benchmarks.Micro;

internal static class MicroBenchmarks
{
    public static void Run(string filter, bool quick, string output, ResultsReport report)
    {
        _ = filter;
        _ = quick;
        _ = output;
        report.Notes.Add("micro-benchmarks: not implemented yet");
    }
}
