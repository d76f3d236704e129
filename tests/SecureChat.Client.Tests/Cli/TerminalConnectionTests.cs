using Akka.Actor;
using SecureChat.Client.Session;
using SecureChat.Client.Tests.Support;
using SecureChat.Testing.Hosting;
using SecureChat.Testing.RealClients;
using SecureChat.Transport.Certificates;

namespace SecureChat.Client.Tests.Cli;

/// <summary>
/// The chat in a real terminal (tmux) when the connection cannot go on by itself: the same id signed in twice, a server
/// certificate from a CA we do not trust, a certificate for another id. The terminal says what happened and what to do,
/// makes no attempt of its own, and /reconnect connects once the cause is fixed.
/// </summary>
public sealed class TerminalConnectionTests : IAsyncLifetime
{
    // Long enough for many retries at the first backoff (0.5 s): a terminal that retried would show "retry #" by then.
    private static readonly TimeSpan ManyBackoffs = TimeSpan.FromSeconds(3);

    private readonly ActorSystem _system = ActorSystem.Create("cli-connection", ClientHocon.Quiet);
    private readonly string _home = Directory.CreateTempSubdirectory("securechat-home-").FullName;
    private readonly string _certs = Directory.CreateTempSubdirectory("securechat-certs-").FullName; // the terminal's --certs folder
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _system.Terminate();
        await _server.DisposeAsync();
        Directory.Delete(_certs, recursive: true);
        Directory.Delete(_home, recursive: true);
    }

    [Fact]
    public async Task A_second_terminal_with_the_same_id_takes_over_the_first_says_so_and_stops_and_reconnect_takes_it_back()
    {
        await using var bob = TestChatClient.Start(_server, _system, "bob");
        await bob.WaitForAsync<Connected>();
        bob.Client.Join("dev");
        await bob.WaitForAsync<KeyEstablished>();

        await using var first = await StartAliceAsync(_server.Certificates.Directory);
        await first.WaitForRowAsync("connected as alice");
        await first.TypeAsync("/join dev");
        await first.SendKeysAsync("Enter");
        await first.WaitForRowAsync("[dev] keys ready");
        await first.TypeAsync("before the takeover");
        await first.SendKeysAsync("Enter");
        await first.WaitForRowAsync("[dev] alice: before the takeover  ✓ relayed");
        await bob.WaitForAsync<MessageReceived>(m => m.Text == "before the takeover");

        // The same person in a second terminal: the same id, the same home folder.
        await using var second = await StartAliceAsync(_server.Certificates.Directory);
        await second.WaitForRowAsync("connected as alice");

        await first.WaitForRowAsync("! signed in elsewhere: another client with id alice connected; this one stopped. /reconnect to take over again");
        await first.WaitForScreenAsync(rows => rows.Any(r => r.StartsWith("alice · stopped: signed in elsewhere (/reconnect)", StringComparison.Ordinal)),
            "the stop on the status row");
        await second.TypeAsync("/join dev");
        await second.SendKeysAsync("Enter");
        await second.WaitForRowAsync("[dev] keys ready");
        await second.TypeAsync("from the second terminal");
        await second.SendKeysAsync("Enter");
        await second.WaitForRowAsync("[dev] alice: from the second terminal  ✓ relayed");
        await bob.WaitForAsync<MessageReceived>(m => m.Text == "from the second terminal");

        // The first makes no attempt of its own: the stop stays, no retry shows, the second is not disturbed.
        await Task.Delay(ManyBackoffs);
        Assert.Contains("alice · stopped: signed in elsewhere", await first.StatusRowAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(await first.ScreenAsync(), r => r.Contains("retry #", StringComparison.Ordinal) || r.Contains("reconnected", StringComparison.Ordinal));
        Assert.DoesNotContain(await second.ScreenAsync(), r => r.Contains("signed in elsewhere", StringComparison.Ordinal));

        // Typed while stopped: queued, not lost; /reconnect takes over again, and the queued line goes.
        await first.TypeAsync("typed while stopped");
        await first.SendKeysAsync("Enter");
        await first.WaitForRowAsync("[dev] alice: typed while stopped  … queued");
        await first.TypeAsync("/reconnect");
        await first.SendKeysAsync("Enter");
        await second.WaitForRowAsync("! signed in elsewhere: another client with id alice connected");
        await first.WaitForRowAsync("[dev] alice: typed while stopped  ✓ relayed");
        await bob.WaitForAsync<MessageReceived>(m => m.Text == "typed while stopped");
    }

    [Fact]
    public async Task A_server_certificate_from_a_ca_we_do_not_trust_stops_with_advice_and_reconnect_connects_once_the_ca_is_fixed()
    {
        // Our certificate is from the server's CA, but the CA we check the server against is another one.
        using var otherCa = new TestCertificates();
        SaveAliceCertificate(_server.Certificates.Authority);
        File.Copy(CertificateFiles.CaCertificatePath(otherCa.Directory), CertificateFiles.CaCertificatePath(_certs));

        await using var alice = await StartAliceAsync(_certs);

        var line = await alice.WaitForRowAsync(" is not one we trust: its certificate is not issued by our CA ");
        Assert.Contains($"! the server at 127.0.0.1:{_server.Port} is not one we trust", line, StringComparison.Ordinal);
        await alice.WaitForScreenAsync(rows => rows.Any(r => r.StartsWith("alice · stopped: server certificate not trusted (/reconnect)", StringComparison.Ordinal)),
            "the stop on the status row");
        await AssertNoRetryAsync(alice);

        File.Copy(CertificateFiles.CaCertificatePath(_server.Certificates.Directory), CertificateFiles.CaCertificatePath(_certs), overwrite: true);
        await alice.TypeAsync("/reconnect");
        await alice.SendKeysAsync("Enter");
        await alice.WaitForRowAsync("connected as alice");
        await alice.WaitForScreenAsync(rows => rows.Any(r => r.StartsWith("alice · online", StringComparison.Ordinal)), "online on the status row");
    }

    [Fact]
    public async Task A_certificate_for_another_id_is_found_before_connecting_and_the_advised_command_fixes_it_for_reconnect()
    {
        // certs/alice.pem holds bob's certificate; the folder has the server's CA (with its key, as the development setup does).
        foreach (var name in new[] { CertificateFiles.CaCertificate, CertificateFiles.CaKey })
        {
            File.Copy(Path.Combine(_server.Certificates.Directory, name), Path.Combine(_certs, name));
        }

        using (var bobs = _server.Certificates.Authority.IssueClientCertificate("bob"))
        {
            PemFiles.SaveCertificateAndKey(bobs, CertificateFiles.ClientCertificatePath(_certs, "alice"), CertificateFiles.ClientKeyPath(_certs, "alice"));
        }

        await using var alice = await StartAliceAsync(_certs);

        await alice.WaitForRowAsync($"! our certificate {CertificateFiles.ClientCertificatePath(_certs, "alice")} is not for alice");
        await alice.WaitForRowAsync("securechat certs issue alice --out");
        await alice.WaitForScreenAsync(rows => rows.Any(r => r.StartsWith("alice · stopped: our certificate is for another id (/reconnect)", StringComparison.Ordinal)),
            "the stop on the status row");
        await AssertNoRetryAsync(alice);
        Assert.DoesNotContain(_server.Logs.Lines, l => l.Contains("SenderMismatch", StringComparison.Ordinal)); // it never reached the server

        // The advice, as typed: securechat certs issue alice --out DIR --force.
        await using (var issue = CliProcess.Start("certs", "issue", "alice", "--out", _certs, "--force"))
        {
            Assert.Equal(0, await issue.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        }

        await alice.TypeAsync("/reconnect");
        await alice.SendKeysAsync("Enter");
        await alice.WaitForRowAsync("connected as alice");
    }

    private static async Task AssertNoRetryAsync(TmuxTerminal terminal)
    {
        var before = (await terminal.ScreenAsync()).Count(r => r.Length > 0);
        await Task.Delay(ManyBackoffs); // the absence of a retry: waited for, several backoffs long
        var rows = await terminal.ScreenAsync();
        Assert.DoesNotContain(rows, r => r.Contains("retry #", StringComparison.Ordinal) || r.Contains("connected as", StringComparison.Ordinal));
        Assert.Equal(before, rows.Count(r => r.Length > 0)); // not a line more
    }

    private void SaveAliceCertificate(CertificateAuthority authority)
    {
        using var certificate = authority.IssueClientCertificate("alice");
        PemFiles.SaveCertificateAndKey(certificate, CertificateFiles.ClientCertificatePath(_certs, "alice"), CertificateFiles.ClientKeyPath(_certs, "alice"));
    }

    private Task<TmuxTerminal> StartAliceAsync(string certs) =>
        TmuxTerminal.StartAsync("chat", "--id", "alice", "--server", $"127.0.0.1:{_server.Port}", "--certs", certs, "--home", _home);
}
