using Microsoft.Extensions.Configuration;
using SecureChat.Server.Configuration;

namespace SecureChat.Server.Tests.Configuration;

public sealed class ServerCommandLineTests
{
    [Fact]
    public void Switches_become_configuration_keys_and_a_flag_alone_means_true()
    {
        var parsed = ServerCommandLine.Parse(["--port", "0", "--certs=/tmp/x", "--dev-certs", "--Server:MaxMembersPerRoom", "5", "--verbose"]);

        Assert.Null(parsed.Error);
        Assert.Equal(ServerCommand.Run, parsed.Command);
        Assert.Equal(
            [new("Server:Port", "0"), new("Server:CertificatesPath", "/tmp/x"), new("Server:CreateDevelopmentCertificates", "true"),
                new("Server:MaxMembersPerRoom", "5"), new("Server:Verbose", "true")],
            parsed.Settings);
        Assert.True(parsed.Verbose);
    }

    [Fact]
    public void Other_configuration_sections_pass_through()
    {
        var parsed = ServerCommandLine.Parse(["--Logging:LogLevel:Default=Debug", "--Logging:LogLevel:Akka", "Warning"]);

        Assert.Null(parsed.Error);
        Assert.Equal([new("Logging:LogLevel:Default", "Debug"), new("Logging:LogLevel:Akka", "Warning")], parsed.Settings);
    }

    [Fact]
    public void A_repeated_setting_keeps_its_last_value()
    {
        var parsed = ServerCommandLine.Parse(["--port", "1", "--host", "::1", "--Server:port", "2"]);

        Assert.Equal([new("Server:Host", "::1"), new("Server:Port", "2")], parsed.Settings);
    }

    [Fact]
    public void Every_seed_is_kept_in_order_whether_repeated_or_comma_separated()
    {
        var parsed = ServerCommandLine.Parse(["--seed", "a:1", "--seed=b:2,c:3", "--seed", "d:4"]);

        Assert.Equal(["Server:Seeds:0", "Server:Seeds:1", "Server:Seeds:2", "Server:Seeds:3"], parsed.Settings.Select(s => s.Key));
        Assert.Equal(["a:1", "b:2", "c:3", "d:4"], parsed.Settings.Select(s => s.Value));
    }

    [Theory]
    [InlineData("--prot", "unknown option --prot (did you mean --port?)")]
    [InlineData("--Server:MaxMembresPerRoom", "unknown option --Server:MaxMembresPerRoom (did you mean --Server:MaxMembersPerRoom?)")]
    [InlineData("--max-members-per-rom", "unknown option --max-members-per-rom (did you mean --max-members-per-room?)")]
    [InlineData("--zzzzzzzzzzzz", "unknown option --zzzzzzzzzzzz")]
    [InlineData("4443", "unexpected argument '4443' (options start with --; see --help)")]
    public void An_unknown_option_is_an_error_naming_the_closest_valid_one(string option, string error)
    {
        var parsed = ServerCommandLine.Parse([option, "5"]);

        Assert.Equal(error, parsed.Error);
        Assert.Empty(parsed.Settings);
    }

    [Theory]
    [InlineData("--port", "abc", "--port: 'abc' is not a whole number")]
    [InlineData("--handshake-timeout", "5s", "--handshake-timeout: '5s' is not a time span (HH:MM:SS, or D.HH:MM:SS)")]
    [InlineData("--log-format", "xml", "--log-format: 'xml' is not one of text, json")]
    public void A_value_of_the_wrong_kind_is_an_error_naming_the_option_and_the_value(string option, string value, string error)
    {
        Assert.Equal(error, ServerCommandLine.Parse([option, value]).Error);
    }

    [Fact]
    public void An_option_without_its_value_is_an_error()
    {
        Assert.Equal("--port needs a value (N)", ServerCommandLine.Parse(["--port"]).Error);
        Assert.Equal("--certs needs a value (DIR)", ServerCommandLine.Parse(["--certs", "--port", "1"]).Error);
    }

    [Fact]
    public void Help_and_version_win_over_everything_else()
    {
        Assert.Equal(ServerCommand.Help, ServerCommandLine.Parse(["--port", "1", "--help"]).Command);
        Assert.Equal(ServerCommand.Help, ServerCommandLine.Parse(["--prot", "1", "-h"]).Command);
        Assert.Equal(ServerCommand.Version, ServerCommandLine.Parse(["--version"]).Command);
        Assert.Contains("wire protocol version 2", ServerCommandLine.VersionText(), StringComparison.Ordinal);
    }

    [Fact]
    public void Help_lists_every_setting_with_its_switch_key_default_and_meaning()
    {
        var help = ServerCommandLine.HelpText();
        var defaults = new ServerOptions();

        Assert.Equal(typeof(ServerOptions).GetProperties().Count(p => p.CanWrite), ServerOptionCatalog.Options.Count);
        foreach (var option in ServerOptionCatalog.Options)
        {
            Assert.Contains($"  {option.Switch}", help, StringComparison.Ordinal);
            Assert.Contains($"{option.Key}, default {option.DefaultText}", help, StringComparison.Ordinal);
            Assert.Contains(option.Description.Split(' ')[0], help, StringComparison.Ordinal);
        }

        // The defaults are read from the options themselves.
        Assert.Contains($"Server:Port, default {defaults.Port}", help, StringComparison.Ordinal);
        Assert.Contains("Server:HandshakeTimeout, default 00:00:05", help, StringComparison.Ordinal);
        Assert.Contains("Server:MetricsEndpoint, default (unset)", help, StringComparison.Ordinal);
        Assert.Contains("  --seed HOST:PORT", help, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_switch_is_unique()
    {
        var switches = ServerOptionCatalog.Options.Select(o => o.Switch).ToList();
        Assert.Equal(switches.Count, switches.Distinct(StringComparer.Ordinal).Count());
        Assert.DoesNotContain(ServerCommandLine.HelpSwitch, switches);
        Assert.DoesNotContain(ServerCommandLine.VersionSwitch, switches);
    }

    [Fact]
    public void Unknown_keys_and_bad_values_under_Server_from_any_source_are_found()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Server:Prot"] = "5",
            ["Server:Port"] = "x",
            ["Server:Seeds:0"] = "a:1",
            ["Server:Host:Sub"] = "y",
            ["Server:MaxFrameBytes"] = "65536",
            ["Other:Thing"] = "ignored",
        }).Build();

        var problems = ServerOptionCatalog.Problems(configuration);

        Assert.Equal(3, problems.Count);
        Assert.Contains("unknown setting Server:Prot (did you mean Server:Port?)", problems);
        Assert.Contains("Server:Port: 'x' is not a whole number", problems);
        Assert.Contains(problems, p => p.StartsWith("unknown setting Server:Host:Sub", StringComparison.Ordinal));
    }

    [Fact]
    public void The_distance_counts_edits()
    {
        Assert.Equal(0, ServerOptionCatalog.Distance("port", "port"));
        Assert.Equal(2, ServerOptionCatalog.Distance("prot", "port"));
        Assert.Equal(3, ServerOptionCatalog.Distance("kitten", "sitting"));
    }

    [Fact]
    public void Development_certificates_are_made_unasked_only_in_the_default_folder()
    {
        var unset = new ServerOptions();
        Assert.True(unset.MayCreateDevelopmentCertificates(Path.GetFullPath(ServerOptions.DefaultCertificatesPath)));
        Assert.False(unset.MayCreateDevelopmentCertificates(Path.GetFullPath("certz")));
        Assert.True(new ServerOptions { CreateDevelopmentCertificates = true }.MayCreateDevelopmentCertificates(Path.GetFullPath("certz")));
        Assert.False(new ServerOptions { CreateDevelopmentCertificates = false }.MayCreateDevelopmentCertificates(Path.GetFullPath(ServerOptions.DefaultCertificatesPath)));
    }

    [Fact]
    public void The_README_server_section_shows_the_help_text()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SecureChat.sln")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        var readme = File.ReadAllText(Path.Combine(dir.FullName, "README.md")).ReplaceLineEndings("\n");
        Assert.Contains("```text\n" + ServerCommandLine.HelpText().ReplaceLineEndings("\n") + "```\n", readme, StringComparison.Ordinal);
    }
}
