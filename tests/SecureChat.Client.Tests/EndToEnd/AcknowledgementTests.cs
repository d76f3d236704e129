using SecureChat.Client.Session;
using SecureChat.Client.Simulation;
using SecureChat.Core.Wire;
using SecureChat.Testing.EndToEnd;
using SecureChat.Testing.Honest;
using SecureChat.Testing.RealClients;

namespace SecureChat.Client.Tests.EndToEnd;

/// <summary>Real clients, real server: the sender hears that its message was relayed, or that it may not have been.</summary>
public sealed class AcknowledgementTests() : EndToEndTest("e2e-acks")
{
    private const string Room = "lobby";
    private static readonly ClientSessionSettings ShortAckTimeout = new() { AckTimeout = TimeSpan.FromSeconds(1) };

    [Fact]
    public async Task The_server_confirms_each_relayed_message_to_its_sender_so_none_is_reported()
    {
        await using var alice = TestChatClient.Start(Server.ChatClientOptions("alice") with { Settings = ShortAckTimeout }, System);
        await using var bob = TestChatClient.Start(Server, System, "bob");
        await InTheRoomAsync(alice, bob);

        alice.Client.Send(Room, "one");
        alice.Client.Send(Room, "two");
        await bob.WaitForAsync<MessageReceived>(m => m.Text == "two");

        await Eventually.TrueAsync(async () => (await alice.Client.GetRoomsAsync()).Rooms.Single().Unacknowledged == 0, "alice's messages were acknowledged");
        Assert.Empty(alice.Events.OfType<MessageNotDelivered>());
    }

    [Fact]
    public async Task A_confirmation_that_never_comes_is_reported_after_the_ack_timeout_even_though_the_message_arrived()
    {
        await using var mitm = new TlsInterceptor(Server);
        mitm.Attack = (to, direction, e) => to == "alice" && e.Type is MessageType.Relayed or MessageType.Stored ? [] : [e];
        await using var alice = TestChatClient.Start(Server.ChatClientOptions("alice", mitm.Port) with { Settings = ShortAckTimeout }, System);
        await using var bob = TestChatClient.Start(Server, System, "bob");
        await InTheRoomAsync(alice, bob);

        alice.Client.Send(Room, "did it arrive?");

        Assert.Equal("did it arrive?", (await bob.WaitForAsync<MessageReceived>()).Text);
        var reported = await alice.WaitForAsync<MessageNotDelivered>();
        Assert.Equal((Room, "did it arrive?", NotDeliveredReason.NoAcknowledgement), (reported.RoomId, reported.Preview, reported.Reason));
        Assert.Contains(mitm.Recorded, r => r.ClientId == "alice" && r.Envelope.Type == MessageType.Relayed && r.Envelope.Sequence == reported.Generation);
    }

    [Fact]
    public async Task The_simulator_counts_messages_reported_to_their_sender_as_not_delivered_not_as_lost()
    {
        // Every message of the first simulated client is dropped on its way to the server: no one gets it, no RELAYED comes.
        await using var mitm = new TlsInterceptor(Server);
        mitm.Attack = (from, direction, e) => from.EndsWith("-0000", StringComparison.Ordinal) && direction == Direction.ToServer
                                              && e.Type == MessageType.Application ? [] : [e];
        var simulator = new Simulator(
            new SimulationOptions { Clients = 3, MessagesPerClient = 4, ConnectAndJoinTimeout = TimeSpan.FromSeconds(60), DeliveryTimeout = TimeSpan.FromSeconds(60) },
            (_, id, _) => ChatClient.Start(Server.ChatClientOptions(id, id.EndsWith("-0000", StringComparison.Ordinal) ? mitm.Port : null) with
            {
                Settings = ShortAckTimeout,
            }, System));

        var report = await simulator.RunAsync();

        Assert.Equal((12L, 24L, 16L), (report.Sent, report.Expected, report.Delivered));
        Assert.Equal((4L, 8L, 0L), (report.NotDelivered, report.ReportedFailed, report.Lost));
        Assert.False(report.Passed);
    }

    /// <summary>Two clients in the room <c>lobby</c>, both with its keys.</summary>
    internal static async Task InTheRoomAsync(TestChatClient first, TestChatClient second)
    {
        await first.WaitForAsync<Connected>();
        await second.WaitForAsync<Connected>();
        first.Client.Join(Room);
        await first.WaitForAsync<KeyEstablished>();
        second.Client.Join(Room);
        var keys = await second.WaitForAsync<KeyEstablished>();
        await first.WaitForAsync<KeyEstablished>(k => k.Epoch == keys.Epoch);
    }
}
