using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SecureChat.Server;

// The relay: TLS 1.3 mutual-TLS listener, one actor per connection, one per room (see ServerHost).
// Ctrl-C or SIGTERM stops it through the host and Akka's CoordinatedShutdown, exiting 0.
try
{
    using var host = ServerHost.Build(args);
    await host.RunAsync();
    return 0;
}
catch (OptionsValidationException ex)
{
    await Console.Error.WriteLineAsync($"securechat-server: invalid settings: {string.Join("; ", ex.Failures)}");
    return 2;
}
catch (Exception ex) when (ex is IOException or InvalidOperationException or System.Net.Sockets.SocketException or System.Security.Cryptography.CryptographicException)
{
    await Console.Error.WriteLineAsync($"securechat-server: cannot start: {ex.Message}");
    return 1;
}
