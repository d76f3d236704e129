using System.CommandLine;
using SecureChat.Benchmarks.Cli;

// The benchmark harness: dotnet run -c Release --project tests/SecureChat.Benchmarks -- all
return await BenchCommands.Build().Parse(args).InvokeAsync();
