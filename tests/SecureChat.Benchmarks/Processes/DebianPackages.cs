using System.Diagnostics;

namespace SecureChat.Benchmarks.Processes;

/// <summary>Finds a program from a Debian package, installing the package with apt-get when allowed and missing.</summary>
internal static class DebianPackages
{
    private static readonly string[] Folders = ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"];

    /// <summary>When false (--no-install, and always in smoke runs) a missing program is reported, never installed.</summary>
    public static bool AllowInstall { get; set; } = true;

    /// <returns>The program's path, or null with the reason in <paramref name="why"/>.</returns>
    public static string? Find(string program, string package, TextWriter progress, out string why)
    {
        if (Locate(program) is { } found)
        {
            why = "";
            return found;
        }

        if (!AllowInstall)
        {
            why = $"{program} is not installed (apt-get install -y {package})";
            return null;
        }

        progress.WriteLine($"{program} missing: apt-get install -y {package}");
        if (!AptGet(progress, "install", "-y", package))
        {
            // A fresh machine may have no package lists yet.
            AptGet(progress, "update");
            AptGet(progress, "install", "-y", package);
        }

        if (Locate(program) is { } installed)
        {
            why = "";
            return installed;
        }

        why = $"{program} could not be installed with apt-get install -y {package}";
        return null;
    }

    /// <summary>The first line of the program's version output, for the report.</summary>
    public static string Version(string path, string argument)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(path, [argument]) { RedirectStandardOutput = true, RedirectStandardError = true });
            if (process is null)
            {
                return "unknown version";
            }

            var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit(5000);
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "unknown version";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown version";
        }
    }

    private static string? Locate(string program) =>
        Folders.Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            .Select(folder => Path.Combine(folder, program))
            .FirstOrDefault(File.Exists);

    private static bool AptGet(TextWriter progress, params string[] arguments)
    {
        try
        {
            var info = new ProcessStartInfo("apt-get", arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
            info.Environment["DEBIAN_FRONTEND"] = "noninteractive";
            using var process = Process.Start(info);
            if (process is null)
            {
                return false;
            }

            var errors = process.StandardError.ReadToEndAsync();
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                progress.WriteLine($"apt-get {string.Join(' ', arguments)}: exit {process.ExitCode}: {errors.Result.Trim()}");
            }

            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            progress.WriteLine($"apt-get unavailable: {ex.Message}");
            return false;
        }
    }
}
