using Akka.Actor;
using SecureChat.Client.Session;
using SecureChat.Client.Tests.Support;
using SecureChat.Testing.Hosting;
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
        Assert.True(File.Exists(Path.Combine(_home, "alice", "identity.key")));
    }
}
