namespace SecureChat.Benchmarks.Processes;

/// <summary>How to start a .NET program that sits next to this one: <c>dotnet PROGRAM.dll</c>.</summary>
internal static class SelfCommand
{
    /// <summary>The dotnet host running us (or the one on PATH when we run from an apphost).</summary>
    public static string DotnetHost =>
        Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";

    /// <summary>This benchmark program: the host and the arguments that come before its own.</summary>
    public static (string FileName, string[] Prefix) Get() => (DotnetHost, [typeof(SelfCommand).Assembly.Location]);

    /// <summary>Another program built into our output folder (the server, referenced as a project).</summary>
    public static (string FileName, string[] Prefix) Sibling(string assemblyFileName)
    {
        var path = Path.Combine(AppContext.BaseDirectory, assemblyFileName);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{assemblyFileName} is not next to the benchmark program; build tests/SecureChat.Benchmarks", path);
        }

        return (DotnetHost, [path]);
    }
}
