using SecureChat.Cli.Chat;
using SecureChat.Client.Rooms;
using SecureChat.Client.Session;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using JoinedEvent = SecureChat.Client.Session.Joined;

namespace SecureChat.Client.Tests.Cli;

/// <summary>The CLI's words for the client library's structured events.</summary>
public sealed class EventTextTests
{
    /// <summary>One of every event the client library reports.</summary>
    private static readonly ClientEvent[] Samples =
    [
        new Connected("alice", "fp-a"),
        new JoinedEvent("lobby", 3, 2),
        new Left("lobby"),
        new MemberJoined("lobby", "bob", "fp-b"),
        new MemberLeft("lobby", "bob", "fp-b"),
        new KeyEstablished("lobby", 4, "123 456 789 012 345", 3),
        new MessageReceived("lobby", "bob", "hi", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch),
        new TrustUpdated("bob", ChangeWasPending: true),
        new Disconnected(DisconnectCause.WelcomeTimeout, null, TimeSpan.FromSeconds(2)),
        new Reconnected(1),
        new StillWaitingForAdmission("lobby", TimeSpan.FromSeconds(30)),
        new JoinerNotAdmitted("lobby", "mallory"),
        new Rejoining("lobby", RejoinReason.RemovedFromRoom, null),
        new SendHeldForKeyChange("lobby", ["bob"]),
        new SendQueueFull("lobby", 1000),
        new UnacceptedSenderKey("lobby", "bob"),
        new MessageDropped("lobby", "bob", DecryptRejection.Replay),
        new HeldMessageDropped("lobby", "bob"),
        new RoomOffline("lobby"),
        new QueuedSendsDropped("lobby", 2),
        new AlreadyInRoom("lobby"),
        new FrameDropped("lobby", MessageType.Application),
        new PacedFramesLost(5),
        new ServerError("lobby", ErrorCode.StaleEpoch, "stale", Fatal: false),
        new JoinRefused("lobby", ErrorCode.RoomFull, "room is full"),
        new WelcomeForAnotherClient("mallory"),
        new FrameBeforeWelcome(MessageType.Commit),
        new DecryptFailed("lobby", "bob", DecryptRejection.Forged),
        new CommitRefused("lobby", CommitRejection.BadSignature, 5, Rejoining: false),
        new CommitRequestRefused("lobby", CommitRefusal.RosterFull),
        new KeyChanged("lobby", "bob", "fp-old", "fp-new"),
        new MessageNotSent("lobby", SendRefusal.BodyTooLong),
        new NotInRoom("lobby"),
        new InvalidRoomName("no spaces"),
        new TooManyRooms("lobby", 64),
    ];

    public static TheoryData<ClientEvent> EveryEvent() => [.. Samples];

    [Fact]
    public void The_sample_covers_every_event_type_of_the_client_library()
    {
        var sampled = Samples.Select(e => e.GetType()).ToHashSet();
        var all = typeof(ClientEvent).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(ClientEvent)) && !t.IsAbstract);

        Assert.Empty(all.Where(t => !sampled.Contains(t)).Select(t => t.Name));
    }

    [Theory]
    [MemberData(nameof(EveryEvent))]
    public void Every_event_has_its_own_words_not_its_record_dump(ClientEvent e)
    {
        var line = EventText.Format(e);

        Assert.NotNull(line);
        Assert.DoesNotContain(e.GetType().Name + " {", line, StringComparison.Ordinal);
        Assert.DoesNotContain("{ RoomId =", line, StringComparison.Ordinal);
    }

    [Fact]
    public void The_user_facing_advice_is_the_clis()
    {
        Assert.Equal("! [lobby] held your message: the key of bob, carol changed; /trust ID after comparing fingerprints",
            EventText.Format(new SendHeldForKeyChange("lobby", ["bob", "carol"])));
        Assert.Equal("error [lobby] (NOT_IN_ROOM): not in room lobby; /join it first", EventText.Format(new NotInRoom("lobby")));
        Assert.Equal("error [lobby] (KEY_CHANGED): bob's identity key changed (was fp-old, now fp-new); compare fingerprints, then /trust bob. " +
                     "Sending to this room waits until then.", EventText.Format(new KeyChanged("lobby", "bob", "fp-old", "fp-new")));
        Assert.Equal("error [lobby] (COMMIT_REFUSED): lost track of the room's keys (EpochGap at epoch 7); rejoining",
            EventText.Format(new CommitRefused("lobby", CommitRejection.EpochGap, 7, Rejoining: true)));
        Assert.Equal("! [lobby] bob signs with a key you have not accepted; /trust bob after comparing fingerprints",
            EventText.Format(new UnacceptedSenderKey("lobby", "bob")));
        Assert.Equal("! [lobby] dropped a message from bob: it was a replay of an earlier message",
            EventText.Format(new MessageDropped("lobby", "bob", DecryptRejection.Replay)));
        Assert.Equal("* joined lobby (2 member(s) there); the server restored this room from storage since you were last in it (epoch 3); waiting for the room key...",
            EventText.Format(new JoinedEvent("lobby", 3, 2, Recovered: true)));
    }

    [Fact]
    public void Error_lines_show_the_servers_wire_code_or_the_clients_own()
    {
        Assert.StartsWith("error [lobby] (RoomFull): could not join lobby: ", EventText.Format(new JoinRefused("lobby", ErrorCode.RoomFull, "full")), StringComparison.Ordinal);
        Assert.StartsWith("error [lobby] (DECRYPT_FAILED): ", EventText.Format(new DecryptFailed("lobby", "bob", DecryptRejection.Forged)), StringComparison.Ordinal);
        Assert.Equal("error (PROTOCOL): the server sent Commit before WELCOME", EventText.Format(new FrameBeforeWelcome(MessageType.Commit)));
        Assert.StartsWith("error (INVALID_ROOM_NAME): room names are", EventText.Format(new InvalidRoomName("a b")), StringComparison.Ordinal);
    }

    [Fact]
    public void What_the_server_wrote_is_marked_as_the_servers_and_cannot_drive_the_terminal()
    {
        var line = EventText.Format(new ServerError("lobby", ErrorCode.StaleEpoch, "ok\u001b[2J\r\nyou have been trusted", Fatal: false));

        Assert.Equal("error [lobby] (StaleEpoch): the server says \"ok?[2J??you have been trusted\"", line);
    }

    [Fact]
    public void Other_peoples_control_characters_do_not_reach_the_terminal()
    {
        var line = EventText.Format(new MessageReceived("lobby", "bob", "hi\u001b[2Jthere\r\n", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch));

        Assert.NotNull(line);
        Assert.DoesNotContain('\u001b', line);
        Assert.DoesNotContain('\n', line);
        Assert.EndsWith("bob: hi?[2Jthere??", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Room_phases_read_as_words()
    {
        Assert.Equal(["offline", "joining", "waiting for admission", "ready", "rekeying", "left"],
            Enum.GetValues<RoomPhase>().Select(EventText.Describe));
    }
}
