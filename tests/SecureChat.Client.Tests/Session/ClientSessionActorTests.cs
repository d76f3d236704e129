using Akka.Actor;
using Akka.TestKit;
using SecureChat.Client.Connection;
using SecureChat.Client.Rooms;
using SecureChat.Client.Session;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Testing.EndToEnd;
using SecureChat.Testing.Fakes;
using Envelope = SecureChat.Core.Wire.Envelope;
using Joined = SecureChat.Client.Session.Joined;

namespace SecureChat.Client.Tests.Session;

/// <summary>
/// The session's state machine with a probe as the server: the probe receives every frame the client
/// sends, and the test answers as the relay would, with other members played by the engine directly.
/// These tests are about the actors (greeting, routing, pacing, reconnecting, queries); the rules of a room
/// itself are tested on <see cref="ClientRoom"/> directly (ClientRoomTests).
/// </summary>
public sealed class ClientSessionActorTests : Akka.TestKit.Xunit2.TestKit
{
    private const string Room = "lobby";
    private readonly TestProbe _server;
    private readonly TestProbe _owner;
    private readonly LocalIdentity _alice = LocalIdentity.Generate("alice", SystemRandomSource.Instance);
    private readonly ClientSessionSettings _settings = new() { InitialBackoff = TimeSpan.FromMilliseconds(20), MaxBackoff = TimeSpan.FromMilliseconds(100), BackoffSample = () => 0.5 };
    private readonly TrustStore _trust = new();
    private ProbeConnector _connector = null!;
    private IActorRef _session = ActorRefs.Nobody;

    public ClientSessionActorTests()
        : base("akka.loglevel = WARNING\nakka.test.timefactor = 4")
    {
        _server = CreateTestProbe("server");
        _owner = CreateTestProbe("owner");
    }

    [Fact]
    public void Greets_with_hello_and_reports_connected_after_welcome()
    {
        Start();
        var hello = ExpectFrame(MessageType.Hello);
        Assert.Equal("alice", hello.SenderId);
        Assert.Equal(WireLimits.ProtocolVersion, hello.Version);

        _connector.Deliver(ServerFrames.Welcome("alice"));

        var connected = _owner.ExpectMsg<Connected>();
        Assert.Equal("alice", connected.ClientId);
        Assert.Equal(_alice.Fingerprint, connected.Fingerprint);
    }

    [Fact]
    public void A_welcome_for_another_id_stops_the_session_until_it_is_asked_to_reconnect()
    {
        Start();
        ExpectFrame(MessageType.Hello);

        _connector.Deliver(ServerFrames.Welcome("mallory"));

        var stopped = ExpectEvent<ConnectionStopped>();
        Assert.Equal((StopCause.CertificateIdMismatch, "greeted as mallory"), (stopped.Cause, stopped.UntrustedServerReason));
        _server.ExpectNoMsg(TimeSpan.FromMilliseconds(300)); // many backoffs long: no second HELLO
        Assert.Equal(1, _connector.Connects);

        _session.Tell(ClientCommands.Reconnect.Instance);
        ExpectFrame(MessageType.Hello);
        Assert.Equal(2, _connector.Connects);
    }

    [Theory]
    [InlineData(ErrorCode.SignedInElsewhere, StopCause.SignedInElsewhere)]
    [InlineData(ErrorCode.UnsupportedVersion, StopCause.UnsupportedVersion)]
    [InlineData(ErrorCode.SenderMismatch, StopCause.CertificateIdMismatch)]
    public void A_connection_error_that_retrying_cannot_heal_stops_the_session_and_reports_unconfirmed_messages(ErrorCode code, StopCause cause)
    {
        using var bob = JoinRoomOfBob();
        _session.Tell(new ClientCommands.Send(Room, "said before the stop"));
        var sent = ExpectEvent<MessageSent>();
        ExpectFrame(MessageType.Application);

        _connector.Deliver(ServerFrames.Error("", code, "told so", fatal: true));

        // The room reports its message on its own: in either order with the session's stop.
        MessageNotDelivered? notDelivered = null;
        ConnectionStopped? stopped = null;
        while (notDelivered is null || stopped is null)
        {
            switch (_owner.FishForMessage(m => m is MessageNotDelivered or ConnectionStopped, TimeSpan.FromSeconds(20)))
            {
                case MessageNotDelivered n:
                    notDelivered = n;
                    break;
                case ConnectionStopped c:
                    stopped = c;
                    break;
            }
        }

        Assert.Equal((sent.Generation, code == ErrorCode.SignedInElsewhere ? NotDeliveredReason.SignedInElsewhere : NotDeliveredReason.ConnectionStopped),
            (notDelivered.Generation, notDelivered.Reason));
        Assert.Equal((cause, "told so", "probe"), (stopped.Cause, stopped.UntrustedServerReason, stopped.Server));
        _connector.Drop("the server closed the connection");
        _server.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.Equal(1, _connector.Connects);
    }

    [Fact]
    public void A_silent_close_after_the_handshake_is_retried_once_when_the_certificate_was_accepted_before_and_stops_the_second_time()
    {
        Connect();

        _connector.Drop("closed before any frame", LinkFailure.ClosedBeforeAnyFrame);
        Assert.NotNull(ExpectEvent<Disconnected>().RetryIn);
        ExpectFrame(MessageType.Hello);
        _connector.Drop("closed before any frame", LinkFailure.ClosedBeforeAnyFrame);

        Assert.Equal(StopCause.ClientCertificateRefused, ExpectEvent<ConnectionStopped>().Cause);
        _server.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.Equal(2, _connector.Connects);
    }

    [Fact]
    public void A_server_shutting_down_is_transient_the_session_reconnects_and_reconnect_skips_the_backoff()
    {
        var slow = new ClientSessionSettings { InitialBackoff = TimeSpan.FromSeconds(30), MaxBackoff = TimeSpan.FromSeconds(30), BackoffSample = () => 0.5 };
        Start(slow);
        ExpectFrame(MessageType.Hello);
        _connector.Deliver(ServerFrames.Welcome("alice"));
        ExpectEvent<Connected>();

        _connector.Deliver(ServerFrames.Error("", ErrorCode.ServerShutdown, "server is shutting down", fatal: true));
        _connector.Drop("the server closed the connection");

        Assert.Equal(ErrorCode.ServerShutdown, Assert.IsType<ServerError>(ExpectEvent<ErrorReported>()).WireCode);
        AssertJitteredWait(TimeSpan.FromSeconds(30), ExpectEvent<Disconnected>().RetryIn);
        _session.Tell(ClientCommands.Reconnect.Instance);
        ExpectFrame(MessageType.Hello);
        Assert.Equal(2, _connector.Connects);
    }

    [Fact]
    public void Answers_ping_with_pong_carrying_the_same_sequence()
    {
        Connect();

        _connector.Deliver(ServerFrames.Ping(42));

        var pong = ExpectFrame(MessageType.Pong);
        Assert.Equal(42UL, pong.Sequence);
    }

    [Fact]
    public void First_joiner_creates_the_room_and_applies_its_commit_only_when_echoed()
    {
        Connect();
        _session.Tell(new ClientCommands.Join(Room));
        var join = ExpectFrame(MessageType.Join);
        Assert.Equal(Room, join.RoomId);
        Assert.Equal(BundleRejection.None, Bundles.VerifyFor(join.Join.Bundle, "alice", Room, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), out _));

        _connector.Deliver(ServerFrames.Joined(Room, 0, 0));
        Assert.Equal(Room, ExpectEvent<Joined>().RoomId);
        _connector.Deliver(ServerFrames.CommitRequest(Room, 1, [join.Join.Bundle]));
        var commit = ExpectFrame(MessageType.Commit);
        Assert.Equal(1UL, commit.Epoch);
        _owner.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        _connector.Deliver(ServerFrames.Relay(commit));

        var keys = ExpectEvent<KeyEstablished>();
        Assert.Equal(1UL, keys.Epoch);
        Assert.Equal(1, keys.MemberCount);
        Assert.False(string.IsNullOrEmpty(keys.EpochCode));
    }

    [Fact]
    public void Trust_lists_the_waiting_key_accepts_only_the_fingerprint_typed_and_then_releases_the_rooms_held_sends()
    {
        using var bob = JoinRoomOfBob();
        _connector.Deliver(ServerFrames.CommitRequest(Room, 3, [], [bob.Leaving()]));
        _connector.Deliver(ServerFrames.Relay(ExpectFrame(MessageType.Commit)));
        ExpectEvent<MemberLeft>();
        using var newBob = new EnginePeer("bob", Room);
        _connector.Deliver(ServerFrames.CommitRequest(Room, 4, [newBob.Session.JoinBundle]));
        var admit = ExpectFrame(MessageType.Commit);
        _connector.Deliver(ServerFrames.Relay(admit));
        newBob.Apply(admit);

        var changed = Assert.IsType<KeyChanged>(ExpectEvent<ErrorReported>());
        Assert.Equal(ClientErrorCode.KeyChanged, changed.Code);
        Assert.Equal(("bob", bob.Identity.Fingerprint, newBob.Identity.Fingerprint), (changed.ClientId, changed.PinnedFingerprint, changed.NewFingerprint));
        _session.Tell(new ClientCommands.Send(Room, "held until trusted"));
        Assert.Equal(["bob"], ExpectEvent<SendHeldForKeyChange>().BlockingMembers);
        _server.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        _session.Tell(new ClientCommands.Trust("bob"));
        var listed = Assert.Single(ExpectEvent<PendingKeys>().Keys);
        Assert.Equal(new PendingKey(bob.Identity.Fingerprint, newBob.Identity.Fingerprint), listed);
        _session.Tell(new ClientCommands.Trust("bob", bob.Identity.Fingerprint));
        Assert.Equal([listed], Assert.IsType<TrustRefused>(ExpectEvent<ErrorReported>()).Pending);
        _server.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Assert.False(_trust.IsTrusted("bob", newBob.Identity.PublicIdentityKey));

        _session.Tell(new ClientCommands.Trust("bob", newBob.Identity.Fingerprint.Replace(" ", string.Empty, StringComparison.Ordinal)));

        Assert.Equal(new TrustUpdated("bob", newBob.Identity.Fingerprint), ExpectEvent<TrustUpdated>());
        Assert.Equal("held until trusted", newBob.Decrypt(ExpectFrame(MessageType.Application)));
        Assert.True(_trust.IsTrusted("bob", newBob.Identity.PublicIdentityKey));
        _session.Tell(new ClientCommands.Trust("bob"));
        Assert.Empty(ExpectEvent<PendingKeys>().Keys);
    }

    [Fact]
    public void A_rekey_due_by_time_is_committed_on_the_rooms_own_tick_with_nobody_sending()
    {
        using var bob = JoinRoomOfBob(_settings with { RoomTickInterval = TimeSpan.FromMilliseconds(50) }, GroupOptions.Default with { RekeyAfterMs = 300 });
        _session.Tell(new ClientCommands.Send(Room, "one message starts the clock"));
        Assert.Equal("one message starts the clock", bob.Decrypt(ExpectFrame(MessageType.Application)));

        // Nothing else is asked of the client: only the tick can produce this commit.
        var rekey = ExpectFrame(MessageType.Commit);

        Assert.Empty(CommitContent.Parser.ParseFrom(rekey.Commit.Content).Operations); // a rekey
        Assert.Equal(3UL, rekey.Epoch);
        _connector.Deliver(ServerFrames.Relay(rekey));
        Assert.Equal(3UL, ExpectEvent<KeyEstablished>().Epoch);
        Assert.Equal(3UL, bob.Apply(rekey).Epoch);
    }

    [Fact]
    public void A_rekey_due_by_count_is_committed_right_after_the_send_that_reached_it()
    {
        using var bob = JoinRoomOfBob(options: GroupOptions.Default with { RekeyAfterMessages = 2 });
        _session.Tell(new ClientCommands.Send(Room, "one"));
        _session.Tell(new ClientCommands.Send(Room, "two"));

        Assert.Equal(["one", "two"], new[] { ExpectFrame(MessageType.Application), ExpectFrame(MessageType.Application) }.Select(bob.Decrypt));
        Assert.Empty(CommitContent.Parser.ParseFrom(ExpectFrame(MessageType.Commit).Commit.Content).Operations); // a rekey
    }

    [Fact]
    public void Send_queued_and_drop_queued_reach_the_room()
    {
        using var bob = JoinRoomOfBob();

        _session.Tell(new ClientCommands.SendQueued(Room));
        Assert.Equal(Room, ExpectEvent<NothingHeld>().RoomId);
        _session.Tell(new ClientCommands.DropQueued("nowhere"));
        Assert.Equal("nowhere", Assert.IsType<NotInRoom>(ExpectEvent<ErrorReported>()).RoomId);
    }

    [Fact]
    public void A_lost_connection_reconnects_resumes_with_its_roster_entry_and_sends_what_was_typed_offline()
    {
        var firstJoin = CreateRoomAlone();

        _connector.Drop("network down");
        var disconnected = ExpectEvent<Disconnected>();
        Assert.Equal((DisconnectCause.LinkFailed, "network down"), (disconnected.Cause, disconnected.Detail));
        Assert.NotNull(disconnected.RetryIn);
        _session.Tell(new ClientCommands.Send(Room, "typed offline"));

        ExpectFrame(MessageType.Hello);
        _connector.Deliver(ServerFrames.Welcome("alice"));
        Assert.Equal(1, ExpectEvent<Reconnected>().Attempt);
        var resume = ExpectFrame(MessageType.Join);
        Assert.Equal((firstJoin.Join.Bundle, 1UL), (resume.Join.Bundle, resume.Join.KnownEpoch)); // the creator's entry is its join bundle

        // Nothing was committed meanwhile: the membership goes on at epoch 1, with no commit.
        _connector.Deliver(ServerFrames.Joined(Room, 1, 1, mode: JoinMode.Resumed));

        Assert.Equal(new Resumed(Room, 1, 1, 0), ExpectEvent<Resumed>());
        var sent = ExpectFrame(MessageType.Application);
        Assert.Equal(1UL, sent.Epoch);
    }

    [Fact]
    public void A_message_without_relayed_in_time_is_reported_not_delivered_and_not_sent_again_while_an_acknowledged_one_is_not()
    {
        JoinRoomOfBob(_settings with { AckTimeout = TimeSpan.FromMilliseconds(300) });
        _session.Tell(new ClientCommands.Send(Room, "acknowledged"));
        _connector.Deliver(ServerFrames.Relayed(ExpectFrame(MessageType.Application)));
        _session.Tell(new ClientCommands.Send(Room, "lost on the way"));
        var unacknowledged = ExpectFrame(MessageType.Application);

        var reported = ExpectEvent<MessageNotDelivered>();

        Assert.Equal(("lost on the way", unacknowledged.Epoch, unacknowledged.Sequence, NotDeliveredReason.NoAcknowledgement),
            (reported.Preview, reported.Epoch, reported.Generation, reported.Reason));
        _server.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void A_dropped_link_reports_the_messages_still_waiting_for_relayed()
    {
        JoinRoomOfBob();
        _session.Tell(new ClientCommands.Send(Room, "in flight"));
        var sent = ExpectFrame(MessageType.Application);

        _connector.Drop("network down");

        var reported = ExpectEvent<MessageNotDelivered>();
        Assert.Equal(("in flight", sent.Sequence, NotDeliveredReason.LinkLost), (reported.Preview, reported.Generation, reported.Reason));
    }

    [Fact]
    public void A_failing_server_moves_the_session_to_the_next_in_its_list_and_the_backoff_grows_per_round_of_the_list()
    {
        var secondServer = CreateTestProbe("second-server");
        var second = new ProbeConnector(secondServer, "b.example:2");
        _connector = new ProbeConnector(_server, "a.example:1");
        var options = new ClientOptions(_alice, _connector) { FailoverServers = [second], Trust = _trust, Settings = _settings };
        _session = Sys.ActorOf(ClientSessionActor.Props(options.ContextFor(_owner), options.Servers), "alice");
        ExpectFrame(MessageType.Hello);

        _connector.Drop("a is down");
        var toSecond = ExpectEvent<Disconnected>();
        Assert.Equal("b.example:2", toSecond.NextServer);
        AssertJitteredWait(_settings.InitialBackoff, toSecond.RetryIn);
        Assert.Equal(MessageType.Hello, secondServer.ExpectMsg<Envelope>(TimeSpan.FromSeconds(20)).Type);
        second.Drop("b is down");
        var backToFirst = ExpectEvent<Disconnected>();
        Assert.Equal("a.example:1", backToFirst.NextServer);
        AssertJitteredWait(_settings.InitialBackoff, backToFirst.RetryIn);
        ExpectFrame(MessageType.Hello);
        _connector.Drop("a is still down");
        AssertJitteredWait(_settings.InitialBackoff * 2, ExpectEvent<Disconnected>().RetryIn);

        Assert.Equal(MessageType.Hello, secondServer.ExpectMsg<Envelope>(TimeSpan.FromSeconds(20)).Type);
        second.Deliver(ServerFrames.Welcome("alice"));
        ExpectEvent<Connected>();
        second.Drop("b fails after greeting");
        var afterGreeting = ExpectEvent<Disconnected>();
        Assert.Equal("a.example:1", afterGreeting.NextServer);
        AssertJitteredWait(_settings.InitialBackoff, afterGreeting.RetryIn);
        ExpectFrame(MessageType.Hello);
        _connector.Deliver(ServerFrames.Welcome("alice"));
        var reconnected = ExpectEvent<Reconnected>();
        Assert.Equal(("a.example:1", 1), (reconnected.Server, reconnected.Attempt));
        Assert.Equal((3, 2), (_connector.Connects, second.Connects));
    }

    [Fact]
    public void A_refused_join_is_reported_and_the_room_is_closed()
    {
        Connect();
        _session.Tell(new ClientCommands.Join(Room));
        ExpectFrame(MessageType.Join);

        _connector.Deliver(ServerFrames.Error(Room, ErrorCode.RoomFull, "room is full"));

        var refused = Assert.IsType<JoinRefused>(ExpectEvent<ErrorReported>());
        Assert.Equal((ClientErrorCode.JoinRefused, ErrorCode.RoomFull, "room is full"), (refused.Code, refused.WireCode, refused.UntrustedReason));
        ExpectEvent<Left>();
        _session.Tell(new ClientCommands.Send(Room, "anyone?"));
        Assert.Equal(Room, Assert.IsType<NotInRoom>(ExpectEvent<ErrorReported>()).RoomId);
    }

    [Fact]
    public void Queries_answer_with_roster_fingerprints_and_the_epoch_code()
    {
        using var bob = JoinRoomOfBob();

        _session.Tell(new ClientCommands.QueryRoster(Room), TestActor);
        var roster = ExpectMsg<ClientCommands.RosterReply>();
        Assert.Equal(["alice", "bob"], roster.Members.Select(m => m.ClientId));
        Assert.Equal(bob.Identity.Fingerprint, roster.Members[1].Fingerprint);

        _session.Tell(new ClientCommands.QueryEpochCode(Room), TestActor);
        var code = ExpectMsg<ClientCommands.EpochCodeReply>();
        Assert.Equal((2UL, bob.Session.EpochCode), (code.Epoch, code.Code));

        _session.Tell(ClientCommands.QueryRooms.Instance, TestActor);
        var rooms = ExpectMsg<ClientCommands.RoomsReply>();
        Assert.Equal(RoomPhase.Ready, Assert.Single(rooms.Rooms).Phase);
    }

    [Fact]
    public void Frames_over_the_pacing_budget_are_delayed_in_order_not_dropped()
    {
        using var bob = new EnginePeer("bob", Room);
        bob.CreateRoom();
        Start(_settings with { MaxFramesPerSecond = 50, FrameBurst = 3 });
        ExpectFrame(MessageType.Hello);
        _connector.Deliver(ServerFrames.Welcome("alice"));
        ExpectEvent<Connected>();
        _session.Tell(new ClientCommands.Join(Room));
        var join = ExpectFrame(MessageType.Join);
        _connector.Deliver(ServerFrames.Joined(Room, 1, 1));
        _connector.Deliver(bob.Admit(join.Join.Bundle));
        ExpectEvent<KeyEstablished>();

        for (var i = 0; i < 10; i++)
        {
            _session.Tell(new ClientCommands.Send(Room, $"m{i}"));
        }

        for (var i = 0; i < 10; i++)
        {
            Assert.Equal($"m{i}", bob.Decrypt(ExpectFrame(MessageType.Application)));
        }

        Assert.DoesNotContain(_owner.ReceiveWhile(TimeSpan.FromMilliseconds(100), m => m), m => m is Warning);
    }

    [Fact]
    public void Queries_about_a_room_we_are_not_in_are_answered_empty()
    {
        Connect();

        _session.Tell(new ClientCommands.QueryRoster("nowhere"), TestActor);
        Assert.Empty(ExpectMsg<ClientCommands.RosterReply>().Members);
        _session.Tell(new ClientCommands.QueryEpochCode("nowhere"), TestActor);
        Assert.Null(ExpectMsg<ClientCommands.EpochCodeReply>().Code);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _alice.Dispose();
        }

        base.Dispose(disposing);
    }

    private void Start(ClientSessionSettings? settings = null, GroupOptions? options = null)
    {
        _connector = new ProbeConnector(_server);
        var clientOptions = new ClientOptions(_alice, _connector) { Trust = _trust, Settings = settings ?? _settings, GroupOptions = options ?? GroupOptions.Default };
        _session = Sys.ActorOf(ClientSessionActor.Props(clientOptions.ContextFor(_owner), _connector), "alice");
    }

    private void Connect(ClientSessionSettings? settings = null, GroupOptions? options = null)
    {
        Start(settings, options);
        ExpectFrame(MessageType.Hello);
        _connector.Deliver(ServerFrames.Welcome("alice"));
        ExpectEvent<Connected>();
    }

    /// <summary>Alice alone creates the room at epoch 1; returns her JOIN.</summary>
    private Envelope CreateRoomAlone()
    {
        Connect();
        _session.Tell(new ClientCommands.Join(Room));
        var join = ExpectFrame(MessageType.Join);
        _connector.Deliver(ServerFrames.Joined(Room, 0, 0));
        _connector.Deliver(ServerFrames.CommitRequest(Room, 1, [join.Join.Bundle]));
        _connector.Deliver(ServerFrames.Relay(ExpectFrame(MessageType.Commit)));
        Assert.Equal(1UL, ExpectEvent<KeyEstablished>().Epoch);
        return join;
    }

    /// <summary>Bob (engine) created the room; alice joins it and is admitted at epoch 2.</summary>
    private EnginePeer JoinRoomOfBob(ClientSessionSettings? settings = null, GroupOptions? options = null)
    {
        var bob = new EnginePeer("bob", Room);
        bob.CreateRoom();
        Connect(settings, options);
        _session.Tell(new ClientCommands.Join(Room));
        var join = ExpectFrame(MessageType.Join);
        _connector.Deliver(ServerFrames.Joined(Room, 1, 1));
        _connector.Deliver(bob.Admit(join.Join.Bundle));
        Assert.Equal(2UL, ExpectEvent<KeyEstablished>().Epoch);
        return bob;
    }

    private Envelope ExpectFrame(MessageType type)
    {
        var envelope = _server.ExpectMsg<Envelope>(TimeSpan.FromSeconds(20));
        Assert.Equal(type, envelope.Type);
        return envelope;
    }

    /// <summary>The next owner event of type <typeparamref name="T"/>, skipping other events.</summary>
    private T ExpectEvent<T>()
        where T : ClientEvent =>
        (T)_owner.FishForMessage(m => m is T, TimeSpan.FromSeconds(20));

    /// <summary>The session cuts each wait by its jitter share: BackoffJitter 0.5 × the pinned sample 0.5 = a quarter of the step.</summary>
    private static void AssertJitteredWait(TimeSpan step, TimeSpan? wait) =>
        Assert.Equal(step * 0.75, wait);
}
