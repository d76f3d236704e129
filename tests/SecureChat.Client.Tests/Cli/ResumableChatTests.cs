using Akka.Actor;
using SecureChat.Client.Session;
using SecureChat.Client.Tests.Support;
using SecureChat.Testing.Hosting;
using SecureChat.Testing.RealClients;

namespace SecureChat.Client.Tests.Cli;

/// <summary>
/// The chat program keeps its rooms across restarts (its encrypted local store): closed, or killed, and started again, it is
/// still in its rooms, sees what was said meanwhile exactly once and in order, and sends again what the server had not stored.
/// </summary>
public sealed class ResumableChatTests : IAsyncLifetime
{
    private readonly ActorSystem _system = ActorSystem.Create("cli-resumable", ClientHocon.Quiet);
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
    public async Task Bob_closes_the_chat_while_alice_sends_50_and_on_his_next_start_sees_all_50_once_and_in_order()
    {
        await using var alice = TestChatClient.Start(_server, _system, "alice");
        alice.Client.Join("dev");
        await alice.WaitForNextAsync<KeyEstablished>();

        await using (var bob = await StartBobAsync())
        {
            await bob.WaitForRowAsync("connected as bob");
            await bob.TypeAsync("/join dev");
            await bob.SendKeysAsync("Enter");
            await bob.WaitForRowAsync("[dev] keys ready");
            await bob.TypeAsync("see you later");
            await bob.SendKeysAsync("Enter");
            await bob.WaitForRowAsync("bob: see you later  ✓ stored");
            await bob.TypeAsync("/quit");
            await bob.SendKeysAsync("Enter");
            await bob.WaitForRowAsync("bye");
            Assert.Equal(0, await bob.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        }

        var sent = Enumerable.Range(1, 50).Select(i => $"while you were away {i:D2}").ToList();
        foreach (var text in sent)
        {
            alice.Client.Send("dev", text);
        }

        for (var i = 0; i < sent.Count; i++)
        {
            await alice.WaitForNextAsync<MessageStored>();
        }

        await using var again = await StartBobAsync();
        await again.WaitForRowAsync("[dev] back from the local store");
        await again.WaitForRowAsync("alice: while you were away 50");
        var rows = await again.ScrollbackAsync();
        var seen = rows.Where(r => r.Contains("alice: while you were away", StringComparison.Ordinal))
            .Select(r => r[(r.IndexOf("alice: ", StringComparison.Ordinal) + "alice: ".Length)..]).ToList();
        Assert.Equal(sent, seen);

        // The history kept in the store: his own line from before, then what came since.
        await again.TypeAsync("/history 3");
        await again.SendKeysAsync("Enter");
        await again.WaitForRowAsync("dev: the last 3 stored line(s):");
        await again.WaitForRowAsync("alice: while you were away 48");
        await again.TypeAsync("/quit");
        await again.SendKeysAsync("Enter");
        Assert.Equal(0, await again.WaitForExitAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task Alice_killed_while_sending_delivers_after_her_restart_each_message_she_saw_sent_once_or_tells_her_it_failed()
    {
        await using var bob = TestChatClient.Start(_server, _system, "bob");
        string[] args = ["chat", "--id", "alice", "--server", $"127.0.0.1:{_server.Port}", "--certs", _server.Certificates.Directory, "--home", _home];
        var typed = Enumerable.Range(1, 40).Select(i => $"typed before the kill {i:D2}").ToList();
        var sentBeforeKill = new List<string>();
        await using (var alice = CliProcess.Start(args))
        {
            await alice.WaitForLineAsync("connected as alice");
            await alice.SendLineAsync("/join dev");
            await alice.WaitForLineAsync("[dev] keys ready");
            bob.Client.Join("dev");
            await bob.WaitForNextAsync<KeyEstablished>();
            await alice.WaitForLineAsync("bob joined");
            foreach (var text in typed)
            {
                await alice.SendLineAsync(text);
            }

            // SIGKILL once some are out: no goodbye, no last write.
            await alice.WaitForLineAsync("→ sent: your \"typed before the kill 05\"");
            sentBeforeKill.AddRange(typed.Where(t => alice.Seen.Any(l => l.Contains($"→ sent: your \"{t}\"", StringComparison.Ordinal))));
        }

        Assert.True(sentBeforeKill.Count >= 5);
        await using var restarted = CliProcess.Start(args);
        await restarted.WaitForLineAsync("[dev] back from the local store");

        // Everything the killed program had shown as sent reaches bob exactly once, in order (resent from the store when the
        // server had not stored it; a copy it had is dropped by bob's engine).
        foreach (var text in sentBeforeKill)
        {
            await bob.WaitForAsync<MessageReceived>(m => m.Text == text, TimeSpan.FromSeconds(60));
        }

        await restarted.SendLineAsync("/rooms");
        await restarted.WaitForLineAsync("* dev ");
        var atBob = bob.Received.Where(m => m.SenderId == "alice").Select(m => m.Text).ToList();
        Assert.Equal(atBob.Distinct().Count(), atBob.Count);
        Assert.Equal(atBob.Order(StringComparer.Ordinal), atBob);
        Assert.DoesNotContain(restarted.Seen, l => l.Contains("not delivered", StringComparison.Ordinal));

        await restarted.SendLineAsync("/quit");
        Assert.Equal(0, await restarted.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    private Task<TmuxTerminal> StartBobAsync() =>
        TmuxTerminal.StartAsync("chat", "--id", "bob", "--server", $"127.0.0.1:{_server.Port}", "--certs", _server.Certificates.Directory, "--home", _home);
}
