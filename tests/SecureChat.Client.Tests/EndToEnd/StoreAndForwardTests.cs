using System.Globalization;
using SecureChat.Client.Session;
using SecureChat.Testing.EndToEnd;
using SecureChat.Testing.Hosting;
using SecureChat.Testing.Honest;
using SecureChat.Testing.RealClients;
using Xunit.Abstractions;

namespace SecureChat.Client.Tests.EndToEnd;

/// <summary>
/// The room's message log end to end (PROTOCOL.md §4.4.1), real clients and a real server: what a member missed while away
/// comes when it is back, once and in order; a server killed without a word loses no message without a word to its
/// sender; a log bound passed is a history gap with its size.
/// </summary>
public sealed class StoreAndForwardTests(ITestOutputHelper output) : EndToEndTest("e2e-store")
{
    private const string Room = "lobby";

    [Fact]
    public async Task Bob_offline_while_alice_sends_50_gets_all_50_once_and_in_order_when_he_is_back_and_alice_hears_each_is_stored()
    {
        await using var alice = TestChatClient.Start(Server, System, "alice");
        var bobConnector = new BreakableConnector(Server.ChatConnector("bob"));
        await using var bob = TestChatClient.Start(Server.ChatClientOptions("bob") with { Connector = bobConnector }, System);
        await InTheRoomAsync(alice, bob);

        bobConnector.BreakCurrentLink(stayOffline: true);
        await bob.WaitForNextAsync<Disconnected>();
        var sent = Enumerable.Range(1, 50).Select(i => $"message {i}").ToList();
        foreach (var text in sent)
        {
            alice.Client.Send(Room, text);
        }

        await Eventually.TrueAsync(() => alice.Events.OfType<MessageStored>().Count() == 50, "alice heard that all 50 are stored");
        bobConnector.Release();
        await bob.WaitForNextAsync<Resumed>();

        Assert.Equal(sent, bob.Received.Where(m => m.SenderId == "alice").Select(m => m.Text));
        Assert.Empty(bob.Events.OfType<HistoryGap>());
        Assert.Empty(alice.Events.OfType<MessageNotDelivered>());
        alice.Client.Send(Room, "live again");
        await bob.WaitForAsync<MessageReceived>(m => m.Text == "live again");
        Assert.Equal(51, bob.Received.Count(m => m.SenderId == "alice"));
    }

    [Fact]
    public async Task A_member_back_after_the_log_bound_passed_is_told_exactly_how_many_messages_it_missed_and_gets_the_rest()
    {
        await using var server = await TestServer.StartAsync(output, "MessageLogMaxMessages=10");
        await using var alice = TestChatClient.Start(server, System, "alice");
        var bobConnector = new BreakableConnector(server.ChatConnector("bob"));
        await using var bob = TestChatClient.Start(server.ChatClientOptions("bob") with { Connector = bobConnector }, System);
        await InTheRoomAsync(alice, bob);

        bobConnector.BreakCurrentLink(stayOffline: true);
        await bob.WaitForNextAsync<Disconnected>();
        for (var i = 1; i <= 25; i++)
        {
            alice.Client.Send(Room, $"message {i}");
        }

        await Eventually.TrueAsync(() => alice.Events.OfType<MessageStored>().Count() == 25, "alice heard that all 25 are stored");
        bobConnector.Release();
        var gap = await bob.WaitForAsync<HistoryGap>();
        await bob.WaitForAsync<Resumed>();

        Assert.Equal((Room, 15ul), (gap.RoomId, gap.Missed));
        Assert.Equal(Enumerable.Range(16, 10).Select(i => $"message {i}"), bob.Received.Where(m => m.SenderId == "alice").Select(m => m.Text));
    }

    [Fact]
    public async Task A_server_killed_mid_run_and_restarted_delivers_every_message_once_or_tells_its_sender_it_did_not()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // SIGKILL
        }

        using var certificates = new TestCertificates();
        using var data = new TempDirectory();
        var port = ServerProcess.FreeLoopbackPort();
        string[] arguments = ["--host", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture),
            "--certs", certificates.Directory, "--data", Path.Combine(data.Path, "rooms")];
        var server = ServerProcess.Start("server", data.Path, arguments);
        try
        {
            await server.ListeningPortAsync(TimeSpan.FromSeconds(60));
            var settings = new ClientSessionSettings { InitialBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromMilliseconds(500) };
            await using var alice = TestChatClient.Start(ClientOptions.WithNewIdentity("alice", certificates.ChatConnector("alice", port)) with
            {
                Settings = settings, ActorName = "alice",
            }, System);
            await using var bob = TestChatClient.Start(ClientOptions.WithNewIdentity("bob", certificates.ChatConnector("bob", port)) with
            {
                Settings = settings, ActorName = "bob",
            }, System);
            await InTheRoomAsync(alice, bob);

            var sent = Enumerable.Range(1, 60).Select(i => $"message {i}").ToList();
            foreach (var text in sent.Take(30))
            {
                alice.Client.Send(Room, text);
            }

            await bob.WaitForAsync<MessageReceived>(m => m.Text == "message 5");
            server.Kill(); // SIGKILL: no shutdown, whatever was not written is gone
            using (var exited = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
            {
                await server.WaitForExitAsync(exited.Token);
            }

            foreach (var text in sent.Skip(30))
            {
                alice.Client.Send(Room, text); // while the server is down: queued
            }

            server.KillPrintAndDispose(output);
            server = ServerProcess.Start("server-again", data.Path, arguments);
            await server.ListeningPortAsync(TimeSpan.FromSeconds(60));

            // Every message reaches bob or is reported to alice as not delivered; none reaches bob twice.
            await Eventually.TrueAsync(() => sent.All(text => bob.Received.Any(m => m.Text == text)
                                                               || alice.Events.OfType<MessageNotDelivered>().Any(n => n.Preview == text)),
                "each message was delivered or reported", TimeSpan.FromSeconds(90));
            var received = bob.Received.Where(m => m.SenderId == "alice").Select(m => m.Text).ToList();
            Assert.Equal(received.Distinct(), received);
            output.WriteLine($"{received.Count} of {sent.Count} delivered; {alice.Events.OfType<MessageNotDelivered>().Count()} reported not delivered; " +
                             $"{bob.Events.OfType<MessageDropped>().Count()} copies dropped by bob");
        }
        finally
        {
            server.KillPrintAndDispose(output);
        }
    }

    private static Task InTheRoomAsync(TestChatClient first, TestChatClient second) => AcknowledgementTests.InTheRoomAsync(first, second);
}
