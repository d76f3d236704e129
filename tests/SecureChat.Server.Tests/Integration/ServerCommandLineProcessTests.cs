using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using SecureChat.Server.Configuration;
using SecureChat.Testing.Hosting;
using SecureChat.Testing.RawClients;
using SecureChat.Transport.Tls;
using Xunit.Abstractions;

namespace SecureChat.Server.Tests.Integration;

/// <summary>The built server as an operator runs it: its command line, its startup failures, its log.</summary>
public sealed class ServerCommandLineProcessTests(ITestOutputHelper output)
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Help_prints_every_setting_and_starts_nothing()
    {
        using var dir = new TempDirectory();

        var (code, lines) = await RunToExitAsync(dir.Path, "--help");

        Assert.Equal(0, code);
        Assert.Equal(ServerCommandLine.HelpText().ReplaceLineEndings("\n").TrimEnd('\n').Split('\n'), lines);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Path)); // no certs/, no data
    }

    [Fact]
    public async Task Version_prints_the_versions()
    {
        using var dir = new TempDirectory();

        var (code, lines) = await RunToExitAsync(dir.Path, "--version");

        Assert.Equal(0, code);
        Assert.Equal(ServerCommandLine.VersionText(), Assert.Single(lines));
    }

    [Theory]
    [InlineData("--prot", "1234", "unknown option --prot (did you mean --port?)")]
    [InlineData("--Server:MaxMembresPerRoom", "5", "unknown option --Server:MaxMembresPerRoom (did you mean --Server:MaxMembersPerRoom?)")]
    [InlineData("--port", "many", "--port: 'many' is not a whole number")]
    public async Task A_bad_command_line_is_one_line_naming_the_option_and_exit_code_2(string option, string value, string error)
    {
        using var dir = new TempDirectory();

        var (code, lines) = await RunToExitAsync(dir.Path, option, value);

        Assert.Equal(2, code);
        Assert.Equal($"stderr: securechat-server: {error}; see --help", Assert.Single(lines));
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Path));
    }

    [Fact]
    public async Task A_certificates_folder_without_certificates_is_an_error_listing_what_is_missing()
    {
        using var dir = new TempDirectory();
        var certs = Directory.CreateDirectory(Path.Combine(dir.Path, "my-certs")).FullName;

        var (code, lines) = await RunToExitAsync(dir.Path, "--port", "0", "--certs", certs, "--data", Path.Combine(dir.Path, "data"));

        Assert.Equal(1, code);
        var failure = Assert.Single(lines, l => l.StartsWith("stderr:", StringComparison.Ordinal));
        Assert.Contains($"certificate folder {certs} (--certs) lacks ca.pem, server.pem, server.key", failure, StringComparison.Ordinal);
        Assert.Contains("--dev-certs", failure, StringComparison.Ordinal);
        Assert.Contains("securechat certs init", failure, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(certs)); // no new CA made behind the operator's back
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "data")), "the certificates are checked before the storage is opened");
    }

    [Fact]
    public async Task A_port_in_use_is_one_line_naming_the_address_and_only_verbose_shows_the_stack_trace()
    {
        await WithATakenPortAsync(async (dir, certificates, port) =>
        {
            string[] args = ["--port", port, "--certs", certificates.Directory, "--data", Path.Combine(dir.Path, "data")];

            var (code, lines) = await RunToExitAsync(dir.Path, args);

            Assert.Equal(1, code);
            var stderr = lines.Where(l => l.StartsWith("stderr:", StringComparison.Ordinal)).ToList();
            Assert.Equal($"stderr: securechat-server: cannot start: cannot listen on 127.0.0.1:{port} (--host, --port): Address already in use", Assert.Single(stderr));
            Assert.DoesNotContain(lines, l => l.Replace("stderr:", "", StringComparison.Ordinal).TrimStart().StartsWith("at ", StringComparison.Ordinal));

            var (verboseCode, verboseLines) = await RunToExitAsync(dir.Path, [.. args, "--verbose"]);

            Assert.Equal(1, verboseCode);
            Assert.Contains(verboseLines, l => l.Replace("stderr:", "", StringComparison.Ordinal).TrimStart().StartsWith("at ", StringComparison.Ordinal));
        });
    }

    [Fact]
    public async Task A_metrics_port_in_use_or_not_an_endpoint_is_one_line_naming_it()
    {
        await WithATakenPortAsync(async (dir, certificates, port) =>
        {
            string[] args = ["--port", "0", "--certs", certificates.Directory, "--data", Path.Combine(dir.Path, "data")];

            var (code, lines) = await RunToExitAsync(dir.Path, [.. args, "--metrics", $"127.0.0.1:{port}"]);

            Assert.Equal(1, code);
            var failure = Assert.Single(lines, l => l.StartsWith("stderr:", StringComparison.Ordinal));
            Assert.StartsWith($"stderr: securechat-server: cannot start: cannot serve metrics on 127.0.0.1:{port} (--metrics): ", failure, StringComparison.Ordinal);
            Assert.Contains("address already in use", failure, StringComparison.OrdinalIgnoreCase);

            var (badCode, badLines) = await RunToExitAsync(dir.Path, [.. args, "--metrics", "9100"]);

            Assert.Equal(1, badCode);
            Assert.Contains("MetricsEndpoint: '9100' is not HOST:PORT", Assert.Single(badLines, l => l.StartsWith("stderr:", StringComparison.Ordinal)), StringComparison.Ordinal);
        });
    }

    /// <summary>Runs <paramref name="test"/> with a temp folder, certificates and a loopback port another listener holds.</summary>
    private static async Task WithATakenPortAsync(Func<TempDirectory, TestCertificates, string, Task> test)
    {
        using var dir = new TempDirectory();
        using var certificates = new TestCertificates();
        var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        try
        {
            await test(dir, certificates, ((IPEndPoint)taken.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        finally
        {
            taken.Stop();
        }
    }

    [Theory]
    [InlineData("akka {\n  loglevel = INFO\n", "does not parse: the '{' opened on line 1 is never closed")]
    [InlineData("akka {\n  cluster { leader-actions-interval = soon }\n}\n", "akka.cluster.leader-actions-interval = soon")]
    public async Task A_HOCON_file_that_does_not_parse_or_holds_a_bad_value_is_named(string hocon, string expected)
    {
        using var dir = new TempDirectory();
        using var certificates = new TestCertificates();
        var file = Path.Combine(dir.Path, "broken.hocon");
        await File.WriteAllTextAsync(file, hocon);

        var (code, lines) = await RunToExitAsync(dir.Path, "--port", "0", "--certs", certificates.Directory, "--data", Path.Combine(dir.Path, "data"), "--hocon", file);

        Assert.Equal(1, code);
        var failure = Assert.Single(lines, l => l.StartsWith("stderr:", StringComparison.Ordinal));
        Assert.Contains($"HOCON file {file}", failure, StringComparison.Ordinal);
        Assert.Contains(expected, failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Json_logs_have_one_line_per_connection_opened_and_closed_with_its_reason()
    {
        using var dir = new TempDirectory();
        using var certificates = new TestCertificates();
        using var server = ServerProcess.Start("server", dir.Path,
            ["--port", "0", "--certs", certificates.Directory, "--data", Path.Combine(dir.Path, "data"), "--log-format", "json"]);
        try
        {
            var port = await server.ListeningPortAsync(ExitTimeout);
            await using (var alice = await TestClient.ConnectAsync("alice", port, TlsSettings.ForClient(certificates.IssueClientCertificate("alice"), certificates.CaCertificate, TestCertificates.ServerName)))
            {
                await alice.HelloAsync();
            }

            var closed = await server.WaitForLineAsync(l => l.Contains("Connection of alice", StringComparison.Ordinal), ExitTimeout);
            using var closedEntry = JsonDocument.Parse(closed);
            Assert.Equal("Information", closedEntry.RootElement.GetProperty("LogLevel").GetString());
            Assert.Contains("closed: peer closed the connection", closedEntry.RootElement.GetProperty("Message").GetString(), StringComparison.Ordinal);
            Assert.Single(server.Lines, l => l.Contains("Client alice connected from", StringComparison.Ordinal));
            Assert.Single(server.Lines, l => l.Contains("Connection of alice", StringComparison.Ordinal));
            foreach (var line in server.Lines.Where(l => l.StartsWith('{')))
            {
                using var entry = JsonDocument.Parse(line); // every log line is one JSON object
                Assert.True(entry.RootElement.TryGetProperty("Category", out _));
            }
        }
        finally
        {
            server.Kill();
            Dump(server.Lines);
        }
    }

    private async Task<(int Code, IReadOnlyList<string> Lines)> RunToExitAsync(string workingDirectory, params string[] args)
    {
        using var server = ServerProcess.Start("server", workingDirectory, args);
        using var deadline = new CancellationTokenSource(ExitTimeout);
        try
        {
            await server.WaitForExitAsync(deadline.Token);
        }
        finally
        {
            server.Kill();
        }

        server.WaitForOutput();
        Dump(server.Lines);
        return (server.ExitCode, server.Lines.Where(l => !l.Contains("Remoting shut down", StringComparison.Ordinal)).ToList());
    }

    private void Dump(IEnumerable<string> lines)
    {
        foreach (var line in lines)
        {
            output.WriteLine(line);
        }
    }
}
