using System.Diagnostics;
using System.Globalization;

namespace SecureChat.Benchmarks.Cli;

/// <summary>Pins every thread of this process (the load generator) to one core with taskset, and undoes it.</summary>
internal static class Affinity
{
    public static void PinSelf(int cpu) => SetSelf(cpu.ToString(CultureInfo.InvariantCulture));

    public static void UnpinSelf() => SetSelf($"0-{Environment.ProcessorCount - 1}");

    private static void SetSelf(string cpuList)
    {
        // -a: all threads that exist now; threads started later inherit the affinity of the thread starting them.
        using var taskset = Process.Start(new ProcessStartInfo("taskset", ["-a", "-cp", cpuList, Environment.ProcessId.ToString(CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("taskset did not start");
        taskset.WaitForExit();
        if (taskset.ExitCode != 0)
        {
            throw new InvalidOperationException($"taskset failed: {taskset.StandardError.ReadToEnd().Trim()}");
        }
    }
}
