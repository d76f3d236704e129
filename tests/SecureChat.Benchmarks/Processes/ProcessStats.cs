using System.Globalization;

namespace SecureChat.Benchmarks.Processes;

/// <summary>CPU time and memory of a process, read from /proc (Linux only; null elsewhere or once it has exited).</summary>
internal readonly record struct ProcessSample(double CpuSeconds, long ResidentBytes, long PeakResidentBytes);

internal static class ProcessStats
{
    // /proc/PID/stat counts CPU time in clock ticks; USER_HZ is 100 on every Linux architecture .NET runs on.
    private const double TicksPerSecond = 100.0;

    /// <summary>Several processes together (the nodes of a cluster): CPU and memory added up; null if any cannot be read.</summary>
    public static ProcessSample? ReadAll(IReadOnlyList<int> processIds)
    {
        if (processIds.Count == 0)
        {
            return null;
        }

        var total = new ProcessSample(0, 0, 0);
        foreach (var processId in processIds)
        {
            if (Read(processId) is not { } sample)
            {
                return null;
            }

            total = new ProcessSample(total.CpuSeconds + sample.CpuSeconds, total.ResidentBytes + sample.ResidentBytes, total.PeakResidentBytes + sample.PeakResidentBytes);
        }

        return total;
    }

    public static ProcessSample? Read(int processId)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{processId}/stat");
            // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // fields[0] is field 3 (state), so utime (field 14) is fields[11] and stime (15) fields[12].
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            long rss = 0, hwm = 0;
            foreach (var line in File.ReadLines($"/proc/{processId}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = Kilobytes(line) * 1024;
                }
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    hwm = Kilobytes(line) * 1024;
                }
            }

            return new ProcessSample(ticks / TicksPerSecond, rss, hwm);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>
    /// The CPUs the threads of a process may run on (Cpus_allowed_list of each thread, distinct ones joined by
    /// " | "): shows in the results whether pinning took effect. Null where /proc is not readable.
    /// </summary>
    public static string? AllowedCpus(int processId)
    {
        try
        {
            var lists = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var thread in Directory.EnumerateDirectories($"/proc/{processId}/task"))
            {
                try
                {
                    var line = File.ReadLines(Path.Combine(thread, "status")).FirstOrDefault(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal));
                    if (line is not null)
                    {
                        lists.Add(line["Cpus_allowed_list:".Length..].Trim());
                    }
                }
                catch (IOException)
                {
                    // The thread ended while we looked.
                }
            }

            return lists.Count == 0 ? null : string.Join(" | ", lists);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static long Kilobytes(string line) =>
        long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
}
