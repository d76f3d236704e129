using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SecureChat.Server.Configuration;
using SecureChat.Testing.Hosting;

namespace SecureChat.Server.Tests;

public sealed class HostConfigurationTests
{
    [Fact]
    public void Defaults_are_valid_and_match_the_documented_ones()
    {
        var options = new ServerOptions();

        Assert.True(new ServerOptionsValidator().Validate(null, options).Succeeded);
        Assert.Equal("127.0.0.1", options.Host);
        Assert.Equal(4443, options.Port);
        Assert.Equal("certs", options.CertificatesPath);
    }

    [Fact]
    public void Out_of_range_settings_are_refused_with_their_names()
    {
        var options = new ServerOptions { Port = 70000, HelloTimeout = TimeSpan.Zero, MaxConnections = 0 };

        var result = new ServerOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("Port", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("HelloTimeout", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("MaxConnections", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_host_refuses_to_start_with_invalid_settings()
    {
        using var dir = new TempDirectory();
        using var host = ServerHost.Build(["--port", "0", "--certs", dir.Path, "--data", dir.Path, "--Server:MaxFrameBytes", "10"]);

        await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
    }

    [Fact]
    public void The_akka_settings_are_found_next_to_the_binary()
    {
        var found = ServerHost.FindHocon(configured: null);

        Assert.NotNull(found);
        Assert.Equal(ServerHost.HoconFileName, Path.GetFileName(found));
        Assert.Contains("coordinated-shutdown", File.ReadAllText(found), StringComparison.Ordinal);
    }

    [Fact]
    public void A_configured_akka_settings_file_that_does_not_exist_is_an_error()
    {
        var error = Assert.Throws<StartupException>(() => ServerHost.FindHocon("/nonexistent/server.hocon"));
        Assert.Equal("HOCON file not found: /nonexistent/server.hocon (--hocon)", error.Message);
    }
}
