using Xunit.Abstractions;
using System.Text.Json;

namespace SecureChat.Core.Tests.TestSupport;

/// <summary>
/// Finds ../shared/test-vectors relative to the repository root (the folder holding SecureChat.sln).
/// A missing folder is a failure, never a skip: CI must not go green without the known-answer suites.
/// </summary>
internal static class TestVectors
{
    public static string Root => FindRoot(AppContext.BaseDirectory);

    /// <summary>Walks up from <paramref name="start"/> to the folder holding SecureChat.sln, then ../shared/test-vectors.</summary>
    public static string FindRoot(string start)
    {
        var directory = new DirectoryInfo(start);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "SecureChat.sln")))
        {
            directory = directory.Parent;
        }

        Assert.True(directory is not null, $"no SecureChat.sln above {start}");
        var root = Path.GetFullPath(Path.Combine(directory!.FullName, "..", "shared", "test-vectors"));
        Assert.True(Directory.Exists(root), $"test vectors missing: expected the folder {root}");
        return root;
    }

    public static JsonDocument Load(string relativePath)
    {
        var path = Path.Combine(Root, relativePath);
        Assert.True(File.Exists(path), $"test vector file missing: {path}");
        return JsonDocument.Parse(File.ReadAllBytes(path));
    }
}

/// <summary>Counts one vector file's cases and prints the line CI greps for.</summary>
internal sealed class VectorTally(string file)
{
    private readonly List<string> _failures = [];

    public int Ran { get; private set; }

    public int Passed { get; private set; }

    public int Unsupported { get; private set; }

    public void Skip() => Unsupported++;

    public void Record(string caseId, bool passed, string? detail = null)
    {
        Ran++;
        if (passed)
        {
            Passed++;
        }
        else
        {
            _failures.Add(detail is null ? caseId : $"{caseId} ({detail})");
        }
    }

    public void Report(ITestOutputHelper output, int minimumRan)
    {
        output.WriteLine($"vectors: {file}: {Ran} ran, {Passed} passed, {Unsupported} unsupported");
        Assert.True(_failures.Count == 0, $"{file}: {_failures.Count} failing case(s): {string.Join(", ", _failures)}");
        Assert.True(Ran >= minimumRan, $"{file}: only {Ran} cases ran, expected at least {minimumRan}");
        Assert.Equal(Ran, Passed);
    }
}

internal static class JsonExtensions
{
    public static byte[] Hex(this JsonElement element, string property) =>
        Convert.FromHexString(element.GetProperty(property).GetString() ?? string.Empty);

    public static string Str(this JsonElement element, string property) =>
        element.GetProperty(property).GetString() ?? string.Empty;

    public static int Int(this JsonElement element, string property) => element.GetProperty(property).GetInt32();

    public static string[] Flags(this JsonElement element) =>
        element.TryGetProperty("flags", out var flags) ? flags.EnumerateArray().Select(f => f.GetString() ?? string.Empty).ToArray() : [];
}
