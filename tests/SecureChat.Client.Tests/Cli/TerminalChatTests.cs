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
        await again.WaitForInputRowAsync("dev> /quit"); // back in dev: the room came back from the local store
        await again.SendKeysAsync("Up");
        await again.WaitForInputRowAsync("dev> bob: hithere");
        await again.SendKeysAsync("Up");
        await again.WaitForInputRowAsync("dev> /join dev");
        await again.SendKeysAsync("Down", "Down", "Down");
        await again.WaitForInputRowAsync("dev>");
        var history = Path.Combine(_home, "alice", "history");
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(history));
        }
    }

    [Fact]
    public async Task Through_a_server_restart_the_current_room_stays_offline_commands_answer_and_own_messages_show_their_delivery()
    {
        // The server restarts on the same port, with the same certificates and room storage.
        using var data = new TempDirectory();
        using var certs = new TempDirectory();
        var first = await TestServer.StartAsync("--data=" + data.Path);
        foreach (var file in Directory.GetFiles(first.Certificates.Directory))
        {
            File.Copy(file, Path.Combine(certs.Path, Path.GetFileName(file)));
        }

        var port = first.Port;
        await using var alice = await TmuxTerminal.StartAsync("chat", "--id", "alice", "--server", $"127.0.0.1:{port}", "--certs", certs.Path, "--home", _home);
        try
        {
            await alice.WaitForRowAsync("connected as alice");
            await alice.TypeAsync("/join lobby");
            await alice.SendKeysAsync("Enter");
            await alice.WaitForRowAsync("[lobby] keys ready");
            await alice.TypeAsync("/join dev");
            await alice.SendKeysAsync("Enter");
            await alice.WaitForRowAsync("[dev] keys ready");
            await alice.TypeAsync("before");
            await alice.SendKeysAsync("Enter");
            await alice.WaitForRowAsync("[dev] alice: before  ✓ stored");
            Assert.Contains("alice · online │ dev · epoch 1 · code ", await alice.StatusRowAsync(), StringComparison.Ordinal);
        }
        finally
        {
            await first.DisposeAsync();
        }

        await alice.WaitForRowAsync("! connection lost");
        await alice.WaitForScreenAsync(rows => rows.Any(r => r.Contains("offline, retry #3", StringComparison.Ordinal)), "the third retry on the status row");
        Assert.Single(await alice.ScreenAsync(), r => r.Contains("connection lost", StringComparison.Ordinal));

        // Offline: a join answers, a room already joined becomes current without a word, text waits (queued).
        await alice.TypeAsync("/join ops");
        await alice.SendKeysAsync("Enter");
        await alice.WaitForRowAsync("offline; will join ops when connected");
        await alice.WaitForInputRowAsync("ops>");
        var rowsBefore = (await alice.ScreenAsync()).Count(r => r.Length > 0);
        await alice.TypeAsync("/join dev");
        await alice.SendKeysAsync("Enter");
        await alice.WaitForInputRowAsync("dev>");
        Assert.Equal(rowsBefore, (await alice.ScreenAsync()).Count(r => r.Length > 0));
        await alice.TypeAsync("typed offline");
        await alice.SendKeysAsync("Enter");
        await alice.WaitForRowAsync("[dev] alice: typed offline  … queued");

        await using var second = await TestServer.StartAsync("--data=" + data.Path, "--certs=" + certs.Path, "--port=" + port);
        await alice.WaitForRowAsync("reconnected");
        await alice.WaitForRowAsync("[ops] keys ready");

        // The line typed offline went once the room was rekeyed, and its mark changed in place; dev is still current.
        await alice.WaitForRowAsync("[dev] alice: typed offline  ✓ stored");
        await alice.WaitForInputRowAsync("dev>");
        await alice.WaitForScreenAsync(rows => rows.Any(r => r.StartsWith("alice · online │ dev · epoch ", StringComparison.Ordinal)), "dev on the status row");
        await alice.TypeAsync("/leave");
        await alice.SendKeysAsync("Enter");
        await alice.WaitForRowAsync("* leaving dev; the current room is ops");
        await alice.WaitForInputRowAsync("ops>");
    }

    private Task<TmuxTerminal> StartAliceAsync() =>
        TmuxTerminal.StartAsync("chat", "--id", "alice", "--server", $"127.0.0.1:{_server.Port}", "--certs", _server.Certificates.Directory, "--home", _home);
}
