using Microsoft.Extensions.Hosting;
using SecureChat.Server;
using SecureChat.Server.Configuration;

// The relay: TLS 1.3 mutual-TLS listener, one actor per connection, one per room (see ServerHost).
// Ctrl-C or SIGTERM stops it through the host and Akka's CoordinatedShutdown, exiting 0.
var commandLine = ServerCommandLine.Parse(args);
switch (commandLine)
{
    case { Command: ServerCommand.Help }:
        Console.Out.Write(ServerCommandLine.HelpText());
        return 0;
    case { Command: ServerCommand.Version }:
        Console.Out.WriteLine(ServerCommandLine.VersionText());
        return 0;
    case { Error: { } error }:
        await Console.Error.WriteLineAsync($"securechat-server: {error}; see --help");
        return 2;
}

try
{
    using var host = ServerHost.Build(args);
    await host.RunAsync();
    return 0;
}
#pragma warning disable CA1031 // the process's last word on any failure: one line (the trace with --verbose) and exit 1
catch (Exception ex)
#pragma warning restore CA1031
{
    await Console.Error.WriteLineAsync($"securechat-server: cannot start: {StartupFailure.Describe(ex, ServerHost.HoconPathOf(commandLine))}");
    if (commandLine.Verbose)
    {
        await Console.Error.WriteLineAsync(ex.ToString());
    }

    return 1;
}
