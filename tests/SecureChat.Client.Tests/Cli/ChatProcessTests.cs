using Akka.Actor;
using SecureChat.Client.Session;
using SecureChat.Core.Wire;
using SecureChat.Client.Tests.Support;
using SecureChat.Testing.Hosting;
using SecureChat.Testing.Fakes;
using SecureChat.Testing.RealClients;

namespace SecureChat.Client.Tests.Cli;

/// <summary>The chat command as a user runs it: a separate process on pipes, against the real server.</summary>
public sealed class ChatProcessTests : IAsyncLifetime
{
    private readonly ActorSystem _system = ActorSystem.Create("cli-process", ClientHocon.Quiet);
    private readonly string _home = Directory.CreateTempSubdirectory("securechat-home-").FullName;
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _system.Terminate();
        await _server.DisposeAsync();
        Directory.Delete(_home, recursive: true);
    }

    [Fact]
    public async Task Alice_in_the_cli_joins_sends_receives_from_bob_and_quits_cleanly()
    {
        await using var alice = CliProcess.Start("chat", "--id", "alice", "--server", $"127.0.0.1:{_server.Port}",
            "--certs", _server.Certificates.Directory, "--home", _home);
        await alice.WaitForLineAsync("issued a client certificate for alice");
        await alice.WaitForLineAsync("connected as alice");
        await alice.SendLineAsync("/join lobby");
        await alice.WaitForLineAsync("[lobby] keys ready");

        await using var bob = TestChatClient.Start(_server, _system, "bob");
        bob.Client.Join("lobby");
        await bob.WaitForNextAsync<KeyEstablished>();
        var bobJoined = await alice.WaitForLineAsync("bob joined");
        Assert.Contains(bob.Client.Fingerprint, bobJoined, StringComparison.Ordinal);

        await alice.SendLineAsync("hello from the terminal");
        var atBob = await bob.WaitForNextAsync<MessageReceived>();
        Assert.Equal(("alice", "hello from the terminal"), (atBob.SenderId, atBob.Text));
        bob.Client.Send("lobby", "hello back");
        await alice.WaitForLineAsync("bob: hello back");

        await alice.SendLineAsync("/frobnicate");
        await alice.WaitForLineAsync("unknown command /frobnicate");
        await alice.SendLineAsync("/who");
        await alice.WaitForLineAsync("(you)");
        await alice.SendLineAsync("/quit");
        Assert.Equal(0, await alice.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(File.Exists(Path.Combine(_home, "alice", "store.sc")));
        Assert.False(File.Exists(Path.Combine(_home, "alice", "identity.key")));
    }

    [Fact]
    public async Task Hostile_text_prints_escaped_server_text_is_labelled_and_a_changed_key_is_marked_until_its_fingerprint_is_trusted()
    {
        // Alice's connection passes a man in the middle: it can say anything the server could.
        await using var mitm = new TlsInterceptor(_server);
        await using var alice = CliProcess.Start("chat", "--id", "alice", "--server", $"127.0.0.1:{mitm.Port}",
            "--certs", _server.Certificates.Directory, "--home", _home);
        await alice.WaitForLineAsync("connected as alice");
        await alice.SendLineAsync("/join lobby");
        await alice.WaitForLineAsync("[lobby] keys ready");
        var bob = TestChatClient.Start(_server, _system, "bob");
        bob.Client.Join("lobby");
        await bob.WaitForNextAsync<KeyEstablished>();
        await alice.WaitForLineAsync("bob joined");

        // Bob's text with a bidi override, a zero-width space and an escape sequence; a server reason that fakes a chat line.
        bob.Client.Send("lobby", "pay \u202e0001\u200b\u001b[31m");
        Assert.EndsWith("bob: pay \\u202e0001\\u200b\\u001b[31m", await alice.WaitForLineAsync("bob: pay"), StringComparison.Ordinal);
        await mitm.InjectAsync("alice", ServerFrames.Error("lobby", ErrorCode.StaleEpoch, "late\n[lobby] 12:00 bob: send the code to mallory"));
        var labelled = await alice.WaitForLineAsync("the server says");
        Assert.Matches(@"^\d\d:\d\d:\d\d error \[lobby\] \(StaleEpoch\): ", labelled);
        Assert.EndsWith("error [lobby] (StaleEpoch): the server says \"late\\u000a[lobby] 12:00 bob: send the code to mallory\"", labelled, StringComparison.Ordinal);

        // Bob comes back with a new identity key (a new device, or an impostor): alice is told, and each of his lines is marked.
        // (A disconnect is not a leave: the old bob stays a member until the commit that admits the new one removes him.)
        await bob.DisposeAsync();
        await using var newBob = TestChatClient.Start(_server, _system, "bob");
        newBob.Client.Join("lobby");
        await alice.WaitForLineAsync("bob is out");
        await alice.WaitForLineAsync("bob's identity key changed");
        await newBob.WaitForNextAsync<KeyEstablished>();
        newBob.Client.Send("lobby", "it's me");
        newBob.Client.Send("lobby", "really");
        Assert.Contains("bob [unverified key]: it's me", await alice.WaitForLineAsync("it's me"), StringComparison.Ordinal);
        Assert.Contains("bob [unverified key]: really", await alice.WaitForLineAsync("really"), StringComparison.Ordinal);

        await alice.SendLineAsync("/trust bob");
        Assert.Contains(newBob.Client.Fingerprint, await alice.WaitForLineAsync("changed key(s) waiting"), StringComparison.Ordinal);
        await alice.SendLineAsync("/trust bob 12345 67890");
        await alice.WaitForLineAsync("nothing accepted");
        await alice.SendLineAsync("/trust bob " + newBob.Client.Fingerprint);
        await alice.WaitForLineAsync("now trusting the key of bob");
        newBob.Client.Send("lobby", "compared");
        Assert.EndsWith(" bob: compared", await alice.WaitForLineAsync("compared"), StringComparison.Ordinal);

        await alice.SendLineAsync("/quit");
        Assert.Equal(0, await alice.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.DoesNotContain(alice.Seen, line => line.Contains(" [lobby] 12:00 bob: send the code", StringComparison.Ordinal) && !line.Contains("the server says", StringComparison.Ordinal));
        Assert.All(alice.Seen, line => Assert.DoesNotContain(line, c => c is '\u202e' or '\u200b' or '\u001b'));
    }

    [Fact]
    public async Task Plaintext_keys_are_migrated_once_and_the_store_then_needs_its_passphrase()
    {
        // An identity folder as earlier versions left it: the identity key in plaintext.
        string fingerprint;
        using (var old = Protocol.Identity.IdentityStore.LoadOrCreate(Path.Combine(_home, "alice"), "alice", Protocol.Infrastructure.SystemRandomSource.Instance))
        {
            fingerprint = old.Fingerprint;
        }

        string[] args = ["chat", "--id", "alice", "--server", $"127.0.0.1:{_server.Port}", "--certs", _server.Certificates.Directory, "--home", _home];
        await using (var first = CliProcess.Start(args))
        {
            await first.WaitForLineAsync("moved your identity key and 0 pinned key(s) from plaintext files into the encrypted store");
            await first.WaitForLineAsync($"your fingerprint: {fingerprint}");
            await first.SendLineAsync("/quit");
            Assert.Equal(0, await first.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }

        Assert.False(File.Exists(Path.Combine(_home, "alice", "identity.key")));
        var store = Path.Combine(_home, "alice", "store.sc");

        // No terminal and no SECURECHAT_PASSPHRASE: nobody to ask.
        await using (var noPassphrase = CliProcess.Start(new Dictionary<string, string?> { ["SECURECHAT_PASSPHRASE"] = null }, args))
        {
            await noPassphrase.WaitForLineAsync($"stderr: securechat: the local store {store} needs a passphrase, and there is no terminal to ask for it on: set SECURECHAT_PASSPHRASE");
            Assert.Equal(2, await noPassphrase.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }

        await using (var wrong = CliProcess.Start(new Dictionary<string, string?> { ["SECURECHAT_PASSPHRASE"] = "not it" }, args))
        {
            await wrong.WaitForLineAsync($"stderr: securechat: the local store {store} cannot be opened with this passphrase (wrong passphrase?)");
            Assert.Equal(2, await wrong.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }

        await using var again = CliProcess.Start(args);
        var line = await again.WaitForLineAsync("your fingerprint:");
        Assert.EndsWith(fingerprint, line, StringComparison.Ordinal);
        Assert.DoesNotContain(again.Seen, l => l.Contains("moved your identity key", StringComparison.Ordinal));
        await again.SendLineAsync("/quit");
        Assert.Equal(0, await again.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }
}
