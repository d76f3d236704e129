using Akka.Actor;
using SecureChat.Client.Session;
using SecureChat.Client.Tests.Support;
using SecureChat.Testing.Hosting;
using SecureChat.Testing.RealClients;

namespace SecureChat.Client.Tests.Cli;

/// <summary>
/// The chat command in a real terminal (tmux), typed at as a person types, against the real server: what the screen
/// shows is what is asserted.
/// </summary>
public sealed class TerminalChatTests : IAsyncLifetime
{
    private readonly ActorSystem _system = ActorSystem.Create("cli-terminal", ClientHocon.Quiet);
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
    public async Task Typing_edits_the_line_tab_completes_and_the_history_comes_back_in_the_next_run()
    {
        await using (var alice = await StartAliceAsync())
        {
            await alice.WaitForRowAsync("connected as alice");
            await alice.TypeAsync("/jo");
            await alice.SendKeysAsync("Tab");
            await alice.WaitForInputRowAsync("> /join");
            await alice.TypeAsync("dev");
            await alice.SendKeysAsync("Enter");
            await alice.WaitForRowAsync("[dev] keys ready");

            await using var bob = TestChatClient.Start(_server, _system, "bob");
            bob.Client.Join("dev");
            await bob.WaitForNextAsync<KeyEstablished>();
            await alice.WaitForRowAsync("bob joined");

            // abc, left, left, Z: the Z goes where the cursor is.
            await alice.TypeAsync("abc");
            await alice.SendKeysAsync("Left", "Left");
            await alice.TypeAsync("Z");
            await alice.WaitForInputRowAsync("dev> aZbc");
            Assert.Equal("dev> aZ".Length, await alice.CursorColumnAsync());

            // Home and End, Ctrl-A and Ctrl-E; Ctrl-W and Ctrl-U cut words and the line.
            await alice.SendKeysAsync("Home");
            await alice.TypeAsync("<");
            await alice.SendKeysAsync("End");
            await alice.TypeAsync(">");
            await alice.WaitForInputRowAsync("dev> <aZbc>");
            await alice.TypeAsync(" extra words");
            await alice.SendKeysAsync("C-w");
            await alice.WaitForInputRowAsync("dev> <aZbc> extra");
            await alice.SendKeysAsync("C-a", "C-k");
            await alice.WaitForInputRowAsync("dev>");
            await alice.TypeAsync("gone");
            await alice.SendKeysAsync("C-u");
            await alice.WaitForInputRowAsync("dev>");

            // A member id completes at the start of a message (a Tab with nothing to complete types nothing); the whole
            // line goes, wherever the cursor is.
            await alice.TypeAsync("bo");
            await alice.SendKeysAsync("Tab");
            await alice.WaitForInputRowAsync("dev> bob:");
            await alice.TypeAsync("hi\tthere");
            await alice.SendKeysAsync("Left", "Enter");
            var atBob = await bob.WaitForNextAsync<MessageReceived>();
            Assert.Equal(("alice", "bob: hithere"), (atBob.SenderId, atBob.Text));
            await alice.WaitForRowAsync("alice: bob: hithere");

            await alice.TypeAsync("/quit");
            await alice.SendKeysAsync("Enter");
            await alice.WaitForRowAsync("bye");
            Assert.Equal(0, await alice.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        }

        // The next run of the same identity has the history: Up gives the newest line first.
        await using var again = await StartAliceAsync();
        await again.WaitForRowAsync("connected as alice");
        await again.SendKeysAsync("Up");
        await again.WaitForInputRowAsync("> /quit");
        await again.SendKeysAsync("Up");
        await again.WaitForInputRowAsync("> bob: hithere");
        await again.SendKeysAsync("Up");
        await again.WaitForInputRowAsync("> /join dev");
        await again.SendKeysAsync("Down", "Down", "Down");
        await again.WaitForInputRowAsync(">");
        var history = Path.Combine(_home, "alice", "history");
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(history));
        }
    }

    private Task<TmuxTerminal> StartAliceAsync() =>
        TmuxTerminal.StartAsync("chat", "--id", "alice", "--server", $"127.0.0.1:{_server.Port}", "--certs", _server.Certificates.Directory, "--home", _home);
}
