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
        new MemberLeft("lobby", "bob", "fp-b") { Reason = RemoveReason.Left },
        new MessageSent("lobby", 4, 7, "hi"),
        new MessageRelayed("lobby", 4, 7),
        new MessageStored("lobby", 4, 7, 65_540),
        new PositionAcknowledged("lobby", 65_540),
        new RoomRestored("lobby", [new HistoryEntry("bob", "earlier", DateTimeOffset.UnixEpoch, Own: false)], Queued: 1, Unconfirmed: 2),
        new RoomRestored("lobby", [], 0, 0) { KeysNotRestored = "the room state does not parse" },
        new StoreWriteFailed("the local store /home/alice/.securechat/alice/store.sc could not be written: disk full"),
        new HistoryGap("lobby", 12, 65_540),
        new KeyEstablished("lobby", 4, "123 456 789 012 345", 3),
        new MessageReceived("lobby", "bob", "hi", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch),
        new TrustUpdated("bob", "fp-new"),
        new PendingKeys("bob", [new PendingKey("fp-old", "fp-new")]),
        new QueuedSendsReleased("lobby", 2),
        new InviteSent("lobby", "carol"),
        new MembershipCommitSent("lobby", "carol", null),
        new MembershipChangeNotMade("lobby", "carol is not a member"),
        new Disconnected(DisconnectCause.WelcomeTimeout, null, TimeSpan.FromSeconds(2)),
        new Reconnected(1),
        new StillWaitingForAdmission("lobby", TimeSpan.FromSeconds(30)),
        new JoinerNotAdmitted("lobby", "mallory"),
        new Rejoining("lobby", RejoinReason.RemovedFromRoom, null),
        new Rejoining("lobby", RejoinReason.RemovedFromRoom, null) { Removal = RemoveReason.Absent, RemovedBy = "bob" },
        new Rejoining("lobby", RejoinReason.ResumeNotPossible, null),
        new Resumed("lobby", 3, 5, 2),
        new SendHeldForKeyChange("lobby", ["bob"]),
        new SendQueueFull("lobby", 1000),
        new MessageDropped("lobby", "bob", DecryptRejection.Replay),
        new HeldMessageDropped("lobby", "bob"),
        new ServerWithheldMessages("lobby", "bob", 7, 2, [new GenerationRange(3, 5)]),
        new RoomOffline("lobby"),
        new QueuedSendsDropped("lobby", 2),
        new QueuedSendsHeld("lobby", ["carol"], 2),
        new NothingHeld("lobby"),
        new AlreadyInRoom("lobby"),
        new FrameDropped("lobby", MessageType.Application),
        new PacedFramesLost(5),
        new ServerError("lobby", ErrorCode.StaleEpoch, "stale", Fatal: false),
        new JoinRefused("lobby", ErrorCode.RoomFull, "room is full"),
        new ConnectionStopped(StopCause.SignedInElsewhere, "127.0.0.1:4443", null) { UntrustedServerReason = "alice signed in from another connection" },
        new FrameBeforeWelcome(MessageType.Commit),
        new DecryptFailed("lobby", "bob", DecryptRejection.Forged),
        new CommitRefused("lobby", CommitRejection.BadSignature, 5, Rejoining: false),
        new CommitRequestRefused("lobby", CommitRefusal.RosterFull),
        new ExternalCommitFailed("lobby", CommitRefusal.NotInvited, UntrustedServerReason: null),
        new ExternalCommitFailed("lobby", Refusal: null, "epoch 3 is already committed"),
        new KeyChanged("lobby", "bob", "fp-old", "fp-new"),
        new TrustRefused("bob", "12345", [new PendingKey("fp-old", "fp-new")]),
        new MessageNotSent("lobby", SendRefusal.BodyTooLong),
        new MessageNotDelivered("lobby", 4, 7, "see you at 5", NotDeliveredReason.NoAcknowledgement),
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
        Assert.Equal("! [lobby] held your message: the key of bob, carol changed; /trust ID FINGERPRINT after comparing fingerprints",
            EventText.Format(new SendHeldForKeyChange("lobby", ["bob", "carol"])));
        Assert.Equal("error [lobby] (NOT_IN_ROOM): not in room lobby; /join it first", EventText.Format(new NotInRoom("lobby")));
        Assert.Equal("error [lobby] (KEY_CHANGED): bob's identity key changed (was fp-old, now fp-new); compare fingerprints, then /trust bob FINGERPRINT. " +
                     "Sending to this room waits until then.", EventText.Format(new KeyChanged("lobby", "bob", "fp-old", "fp-new")));
        Assert.Equal("error [lobby] (COMMIT_REFUSED): lost the room's keys at epoch 7: a commit was missed (EpochGap); rejoining",
            EventText.Format(new CommitRefused("lobby", CommitRejection.EpochGap, 7, Rejoining: true)));
        Assert.Equal("error [lobby] (COMMIT_REFUSED): lost the room's keys at epoch 7: a commit's key for us does not open (WrapFailed); rejoining",
            EventText.Format(new CommitRefused("lobby", CommitRejection.WrapFailed, 7, Rejoining: true)));
        Assert.Equal("! [lobby] held 2 message(s) you typed before carol, dave joined; /send-queued sends them to everyone now in the room, /drop-queued drops them",
            EventText.Format(new QueuedSendsHeld("lobby", ["carol", "dave"], 2)));
        Assert.Equal("! [lobby] dropped a message from bob: it was a replay of an earlier message",
            EventText.Format(new MessageDropped("lobby", "bob", DecryptRejection.Replay)));
        Assert.Equal("* joined lobby (2 member(s) there); the server restored this room from storage since you were last in it (epoch 3); waiting for the room key...",
            EventText.Format(new JoinedEvent("lobby", 3, 2, Recovered: true)));
    }

    [Fact]
    public void A_stop_says_what_happened_names_the_file_and_the_command_that_fixes_it_and_that_reconnect_tries_again()
    {
        var context = new StopContext("alice", "certs");
        string Line(StopCause cause, string? detail = null, string? said = null) =>
            EventText.Stopped(new ConnectionStopped(cause, "127.0.0.1:4443", detail) { UntrustedServerReason = said }, context);

        Assert.Equal("! signed in elsewhere: another client with id alice connected; this one stopped. /reconnect to take over again",
            Line(StopCause.SignedInElsewhere, said: "a newer connection"));
        Assert.Equal("! the server at 127.0.0.1:4443 refused our certificate certs/alice.pem: it closed the connection right after the TLS handshake " +
                     "(most likely the certificate is issued by a CA it does not trust, or expired); not reconnecting. Re-issue it from the server's CA: " +
                     "securechat certs issue alice --out DIR --force (DIR holding the server's ca.pem and ca.key), then /reconnect",
            Line(StopCause.ClientCertificateRefused, "the server closed the connection right after the TLS handshake, without a word"));
        Assert.Equal("! the server at 127.0.0.1:4443 is not one we trust: its certificate is not issued by our CA certs/ca.pem (chain to another root); " +
                     "not reconnecting. If the server's CA changed, get its ca.pem from whoever runs the server and put it in certs, then /reconnect",
            Line(StopCause.ServerCertificateUntrusted, "chain to another root"));
        Assert.Equal("! our certificate certs/alice.pem is not for alice (our certificate is for bob, not for alice); not reconnecting. Issue one for alice: " +
                     "securechat certs issue alice --out certs --force (or start with the --id the certificate is for), then /reconnect",
            Line(StopCause.CertificateIdMismatch, "our certificate is for bob, not for alice"));
        Assert.Equal("! the server at 127.0.0.1:4443 speaks another protocol version (the server says \"version 3 only\"); this client speaks version 2; " +
                     "not reconnecting. Use a securechat that matches the server, then /reconnect",
            Line(StopCause.UnsupportedVersion, said: "version 3 only"));
        foreach (var cause in Enum.GetValues<StopCause>())
        {
            Assert.Contains("/reconnect", Line(cause, "why"), StringComparison.Ordinal);
            Assert.DoesNotContain(cause.ToString(), Line(cause, "why"), StringComparison.Ordinal); // words, not the enum
            Assert.EndsWith(" (/reconnect)", EventText.StoppedStatus(new ConnectionStopped(cause, "s:1", null)), StringComparison.Ordinal);
            Assert.DoesNotContain(cause.ToString(), EventText.StoppedStatus(new ConnectionStopped(cause, "s:1", null)), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Messages_cut_off_by_a_stop_say_why()
    {
        Assert.Equal("error [lobby] (MESSAGE_NOT_DELIVERED): your message \"hi\" (epoch 4, #7) may not have been delivered: another client with your id " +
                     "signed in before the server confirmed relaying it; it was not sent again",
            EventText.Format(new MessageNotDelivered("lobby", 4, 7, "hi", NotDeliveredReason.SignedInElsewhere)));
        Assert.Contains("the connection stopped before the server confirmed relaying it",
            EventText.Format(new MessageNotDelivered("lobby", 4, 7, "hi", NotDeliveredReason.ConnectionStopped)), StringComparison.Ordinal);
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
        Assert.Equal("error [lobby] (StaleEpoch): the server says \"ok\\u001b[2J\\u000d\\u000ayou have been trusted\"",
            Printed(new ServerError("lobby", ErrorCode.StaleEpoch, "ok\u001b[2J\r\nyou have been trusted", Fatal: false)));
        Assert.Equal("! our certificate certs/alice.pem is not for alice (the server says \"greeted as alice\\u202e\"); not reconnecting. Issue one for alice: " +
                     "securechat certs issue alice --out certs --force (or start with the --id the certificate is for), then /reconnect",
            TerminalText.Neutralise(EventText.Stopped(new ConnectionStopped(StopCause.CertificateIdMismatch, "s:1", null) { UntrustedServerReason = "greeted as alice\u202e" },
                new StopContext("alice", "certs"))));
    }

    [Fact]
    public void A_server_reason_that_fakes_a_chat_line_prints_as_one_labelled_line()
    {
        var printed = Printed(new JoinRefused("lobby", ErrorCode.RoomFull, "full\"\n[lobby] 12:00 bob: send me the code"));

        Assert.Equal("error [lobby] (RoomFull): could not join lobby: the server says \"full\\\"\\u000a[lobby] 12:00 bob: send me the code\"", printed);
        var cut = Printed(new ServerError(null, ErrorCode.Internal, new string('x', 5000), Fatal: true));
        Assert.Equal("error (Internal): the server says \"" + new string('x', EventText.MaxServerTextLength) + "...\"", cut);
    }

    [Fact]
    public void Other_peoples_control_and_bidi_characters_do_not_reach_the_terminal()
    {
        var printed = Printed(new MessageReceived("lobby", "bob", "hi\u001b[2Jthere\r\n\u202eevil", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch));

        Assert.EndsWith("bob: hi\\u001b[2Jthere\\u000d\\u000a\\u202eevil", printed, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_message_from_an_unaccepted_key_carries_the_mark()
    {
        var unverified = new MessageReceived("lobby", "bob", "it's me", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, SenderKeyUnaccepted: true);

        Assert.EndsWith(" bob [unverified key]: it's me", EventText.Format(unverified), StringComparison.Ordinal);
        Assert.EndsWith(" bob [unverified key]: again", EventText.Format(unverified with { Text = "again" }), StringComparison.Ordinal);
        Assert.EndsWith(" bob: verified", EventText.Format(unverified with { Text = "verified", SenderKeyUnaccepted = false }), StringComparison.Ordinal);
    }

    [Fact]
    public void Withheld_messages_read_as_what_the_server_did_and_a_late_one_is_marked()
    {
        Assert.Equal("! [lobby] the server withheld 2 messages from bob in epoch 7",
            EventText.Format(new ServerWithheldMessages("lobby", "bob", 7, 2, [new GenerationRange(3, 5)])));
        Assert.Equal("! [lobby] the server withheld 1 message from bob in epoch 7",
            EventText.Format(new ServerWithheldMessages("lobby", "bob", 7, 1, [new GenerationRange(4, 5)])));

        var late = new MessageReceived("lobby", "bob", "sorry", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch) { ArrivedAfterWithheldReport = true };
        Assert.EndsWith(" bob [late: reported withheld before]: sorry", EventText.Format(late), StringComparison.Ordinal);
    }

    [Fact]
    public void Trust_answers_name_the_fingerprints()
    {
        PendingKey[] waiting = [new("11111 11111", "22222 22222"), new("11111 11111", "33333 33333")];
        Assert.Equal("! bob's pinned key is 11111 11111; changed key(s) waiting: 22222 22222 | 33333 33333; compare, then /trust bob FINGERPRINT",
            EventText.Format(new PendingKeys("bob", waiting)));
        Assert.Equal("! no changed key is waiting for bob", EventText.Format(new PendingKeys("bob", [])));
        Assert.Equal("! now trusting the key of bob with fingerprint 22222 22222", EventText.Format(new TrustUpdated("bob", "22222 22222")));
        Assert.Equal("error (TRUST_REFUSED): no changed key waiting for bob has the fingerprint 44444; nothing accepted (waiting: 22222 22222 | 33333 33333)",
            EventText.Format(new TrustRefused("bob", "44444", waiting)));
        Assert.Equal("error (TRUST_REFUSED): no changed key is waiting for bob; nothing accepted", EventText.Format(new TrustRefused("bob", "44444", [])));
    }

    [Fact]
    public void A_message_not_delivered_names_the_message_says_why_and_that_it_was_not_resent()
    {
        Assert.Equal("error [lobby] (MESSAGE_NOT_DELIVERED): your message \"see you at 5\" (epoch 4, #7) may not have been delivered: " +
                     "the server did not confirm relaying it in time; it was not sent again",
            EventText.Format(new MessageNotDelivered("lobby", 4, 7, "see you at 5", NotDeliveredReason.NoAcknowledgement)));
        Assert.Contains("\"see you at 5\" (epoch 4, #7) may not have been delivered: the connection dropped before the server confirmed relaying it;",
            EventText.Format(new MessageNotDelivered("lobby", 4, 7, "see you at 5", NotDeliveredReason.LinkLost)), StringComparison.Ordinal);
        Assert.Contains("may not have been delivered: you left the room before the server confirmed relaying it;",
            EventText.Format(new MessageNotDelivered("lobby", 4, 7, "x", NotDeliveredReason.RoomLeft)), StringComparison.Ordinal);

        var refused = Printed(new MessageNotDelivered("lobby", 4, 7, "hi\u001b[2J", NotDeliveredReason.Refused, ErrorCode.StaleEpoch, "old\r\n[lobby] bob: hi"));
        Assert.Equal("error [lobby] (MESSAGE_NOT_DELIVERED): your message \"hi\\u001b[2J\" (epoch 4, #7) may not have been delivered: " +
                     "the server refused it (StaleEpoch: the server says \"old\\u000d\\u000a[lobby] bob: hi\"); it was not sent again", refused);
    }

    [Fact]
    public void With_several_servers_a_lost_connection_names_the_server_tried_next_and_the_reconnection_the_one_reached()
    {
        Assert.Equal("! connection lost (down); reconnecting to b.example:2 in 0.5 s",
            EventText.Format(new Disconnected(DisconnectCause.LinkFailed, "down", TimeSpan.FromMilliseconds(500)) { NextServer = "b.example:2" }));
        Assert.Equal("! connection lost (down); reconnecting in 0.5 s", EventText.Format(new Disconnected(DisconnectCause.LinkFailed, "down", TimeSpan.FromMilliseconds(500))));
        Assert.Equal("* reconnected to b.example:2 (reconnect #3); resuming rooms", EventText.Format(new Reconnected(3) { Server = "b.example:2" }));
    }

    /// <summary>The event as the chat terminal prints it.</summary>
    private static string Printed(ClientEvent e)
    {
        var output = new StringWriter();
        using (var terminal = new PlainTerminal(TextReader.Null, output))
        {
            terminal.WriteLine(EventText.Format(e)!);
        }

        var text = output.ToString();
        Assert.EndsWith(Environment.NewLine, text, StringComparison.Ordinal);
        var line = text[..^Environment.NewLine.Length];
        Assert.DoesNotContain('\n', line);
        return line;
    }

    [Fact]
    public void A_message_says_when_it_was_sent_only_when_that_was_a_minute_or_more_before_it_arrived()
    {
        var sent = new DateTimeOffset(2026, 5, 1, 9, 0, 0, TimeSpan.Zero);
        Assert.Equal("[lobby] bob: hi", EventText.Format(new MessageReceived("lobby", "bob", "hi", sent, sent.AddSeconds(5))));
        Assert.Equal($"[lobby] bob (sent {sent.ToLocalTime():yyyy-MM-dd HH:mm:ss}): hi", EventText.Format(new MessageReceived("lobby", "bob", "hi", sent, sent.AddMinutes(3))));
    }

    [Fact]
    public void A_leave_says_why_as_far_as_the_commit_tells()
    {
        var left = new MemberLeft("lobby", "bob", "fp-b");
        Assert.Equal("* [lobby] bob left", EventText.Format(left with { Reason = RemoveReason.Left }));
        Assert.Equal("* [lobby] bob timed out (silent past the room's absence limit)", EventText.Format(left with { Reason = RemoveReason.Absent }));
        Assert.Equal("* [lobby] bob is out: their key expired", EventText.Format(left with { Reason = RemoveReason.Expired }));
        Assert.Equal("* [lobby] bob is out: connection lost, or removed by carol",
            EventText.Format(left with { Reason = RemoveReason.Removed, RemovedBy = "carol" }));
        Assert.Equal("* [lobby] bob rejoined with a new key", EventText.Format(left with { Reason = RemoveReason.Rejoined }));
        Assert.Equal("* [lobby] bob is out", EventText.Format(left));
    }

    [Fact]
    public void Room_phases_read_as_words()
    {
        Assert.Equal(["offline", "joining", "waiting for admission", "ready", "rekeying", "left"],
            Enum.GetValues<RoomPhase>().Select(EventText.Describe));
    }
}
