using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Google.Protobuf;
using SecureChat.Core.Wire;
using SecureChat.Server.Connections;
using SecureChat.Server.Messaging;
using SecureChat.Testing.Fakes;
using SecureChat.Testing.Hosting;
using SecureChat.Testing.RawClients;
using Envelope = SecureChat.Core.Wire.Envelope;

namespace SecureChat.Server.Tests.Connections;

/// <summary>ConnectionActor's protocol handling, with a fake socket and a probe as the room registry.</summary>
public sealed class ConnectionActorTests : TestKit
{
    private const string Alice = "alice";
    private readonly FakeConnectionIo _io = new();
    private readonly TestProbe _rooms;
    private readonly TestProbe _signIns;

    public ConnectionActorTests()
        : base("akka.loglevel = INFO")
    {
        _rooms = CreateTestProbe("rooms");
        _signIns = CreateTestProbe("sign-ins");
    }

    [Fact]
    public void Hello_is_answered_with_welcome_naming_the_certificate_id_and_the_limits()
    {
        var connection = Start();

        Receive(connection, Frames.Hello(Alice));

        var welcome = _io.NextSent(MessageType.Welcome).Welcome;
        Assert.Equal(Alice, welcome.ClientId);
        Assert.Equal(4096u, welcome.MaxFrameBytes);
        Assert.Equal(2u, welcome.MaxRoomsPerConnection);
    }

    [Fact]
    public void A_first_frame_other_than_hello_is_fatal()
    {
        var connection = Start();
        Watch(connection);

        Receive(connection, Frames.Ping(Alice, 1));

        var error = _io.NextSent(MessageType.Error).Error;
        Assert.Equal(ErrorCode.UnexpectedMessage, error.Code);
        Assert.True(error.Fatal);
        ExpectTerminated(connection);
        Assert.True(_io.ClosedWithFlush);
    }

    [Fact]
    public void A_version_1_peer_is_refused_in_its_own_version_with_both_versions_named_and_closed()
    {
        var connection = Start();
        Watch(connection);
        var hello = Frames.Hello(Alice);
        hello.Version = 1;

        Receive(connection, hello);

        var refusal = _io.NextSent(MessageType.Error);
        Assert.Equal(1u, refusal.Version); // a v1 peer parses it: fields 1-9 and the error payload are numbered alike
        Assert.Equal((ErrorCode.UnsupportedVersion, true), (refusal.Error.Code, refusal.Error.Fatal));
        Assert.Equal("protocol version 1 is not supported; this server speaks version 2", refusal.Error.Reason);
        ExpectTerminated(connection);
    }

    [Fact]
    public void No_hello_before_the_deadline_closes_the_connection()
    {
        var connection = Start(helloTimeout: TimeSpan.FromMilliseconds(200));
        Watch(connection);

        var error = _io.NextSent(MessageType.Error).Error;

        Assert.Equal(ErrorCode.HandshakeTimeout, error.Code);
        ExpectTerminated(connection);
    }

    [Fact]
    public void A_hello_with_another_sender_id_is_refused_and_closed()
    {
        var connection = Start();
        Watch(connection);

        Receive(connection, Frames.Hello("bob"));

        var error = _io.NextSent(MessageType.Error).Error;
        Assert.Equal(ErrorCode.SenderMismatch, error.Code);
        Assert.True(error.Fatal);
        ExpectTerminated(connection);
    }

    [Fact]
    public void A_later_frame_with_another_sender_id_is_refused_and_closed()
    {
        var connection = Ready();
        Watch(connection);

        Receive(connection, Frames.Application("bob", "lobby", 1, 0));

        Assert.Equal(ErrorCode.SenderMismatch, _io.NextSent(MessageType.Error).Error.Code);
        ExpectTerminated(connection);
        _rooms.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void An_unparsable_envelope_gets_an_error_and_the_connection_goes_on()
    {
        var connection = Ready();

        connection.Tell(new FrameReceived(ByteString.CopyFrom(0xFF, 0xFF, 0xFF, 0x01)));
        var error = _io.NextSent(MessageType.Error).Error;
        Receive(connection, Frames.Ping(Alice, 42));

        Assert.Equal(ErrorCode.MalformedFrame, error.Code);
        Assert.False(error.Fatal);
        Assert.Equal(42ul, _io.NextSent(MessageType.Pong).Sequence);
    }

    [Fact]
    public void Too_many_protocol_errors_close_the_connection()
    {
        var connection = Ready(maxProtocolErrors: 2);
        Watch(connection);

        for (var i = 0; i < 3; i++)
        {
            connection.Tell(new FrameReceived(ByteString.CopyFrom(0xFF, 0xFF)));
        }

        Assert.False(_io.NextSent(MessageType.Error).Error.Fatal);
        Assert.False(_io.NextSent(MessageType.Error).Error.Fatal);
        Assert.True(_io.NextSent(MessageType.Error).Error.Fatal);
        ExpectTerminated(connection);
    }

    [Fact]
    public void A_join_goes_to_the_room_registry_with_the_bundle_and_the_certificate_id()
    {
        using var alice = new TestMember(Alice);
        var connection = Ready();

        Receive(connection, Frames.Join(Alice, "lobby", alice.Bundle));

        var join = _rooms.ExpectMsg<JoinRoom>();
        Assert.Equal("lobby", join.RoomId);
        Assert.Equal(Alice, join.ClientId);
        Assert.Equal(alice.Bundle.Content, join.BundleContent);
        Assert.Equal(connection, join.Connection);
    }

    [Fact]
    public void Traffic_for_a_room_not_joined_is_refused_and_a_leave_of_it_does_nothing_without_reaching_any_room()
    {
        var connection = Ready();

        // The LEAVE first: the client's rejoin after NOT_A_MEMBER is LEAVE then JOIN, and its LEAVE is no error.
        Receive(connection, Frames.Leave(Alice, "lobby"));
        Receive(connection, Frames.Application(Alice, "lobby", 1, 0));

        var refusal = _io.NextSent(MessageType.Error);
        Assert.Equal((ErrorCode.NotAMember, "lobby"), (refusal.Error.Code, refusal.RoomId));
        Assert.False(_io.HasSent); // the connection handles its frames in order: the LEAVE was answered with nothing
        _rooms.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void Ciphertext_for_a_joined_room_is_published_exactly_as_received()
    {
        using var alice = new TestMember(Alice);
        var connection = Ready();
        Receive(connection, Frames.Join(Alice, "lobby", alice.Bundle));
        _rooms.ExpectMsg<JoinRoom>();
        var message = Frames.Application(Alice, "lobby", 4, 9);

        Receive(connection, message);

        var publish = _rooms.ExpectMsg<PublishToRoom>();
        Assert.Equal(4ul, publish.Epoch);
        Assert.Equal(message.Bytes(), publish.Envelope);
    }

    [Fact]
    public void A_commit_for_a_joined_room_is_submitted_to_it()
    {
        using var alice = new TestMember(Alice);
        var connection = Ready();
        Receive(connection, Frames.Join(Alice, "lobby", alice.Bundle));
        _rooms.ExpectMsg<JoinRoom>();
        var commit = alice.CreateRoom("lobby");

        Receive(connection, Frames.Commit(Alice, "lobby", 1, commit));

        var submitted = _rooms.ExpectMsg<SubmitCommit>();
        Assert.Equal(commit.Content, submitted.Content);
        Assert.Equal(commit.Signature, submitted.Signature);
    }

    [Fact]
    public void Joining_more_rooms_than_allowed_is_refused()
    {
        using var alice = new TestMember(Alice);
        var connection = Ready();

        Receive(connection, Frames.Join(Alice, "one", alice.Bundle));
        Receive(connection, Frames.Join(Alice, "two", alice.Bundle));
        Receive(connection, Frames.Join(Alice, "three", alice.Bundle));

        _rooms.ExpectMsg<JoinRoom>();
        _rooms.ExpectMsg<JoinRoom>();
        var error = _io.NextSent(MessageType.Error);
        Assert.Equal(ErrorCode.TooManyRooms, error.Error.Code);
        Assert.Equal("three", error.RoomId);
        _rooms.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void A_refused_join_frees_the_room_slot_and_reaches_the_client_as_an_error()
    {
        using var alice = new TestMember(Alice);
        var connection = Ready();
        Receive(connection, Frames.Join(Alice, "lobby", alice.Bundle));
        _rooms.ExpectMsg<JoinRoom>();

        connection.Tell(new RoomError("lobby", ErrorCode.BadBundle, "bundle has expired", NotInRoom: true));
        var error = _io.NextSent(MessageType.Error);
        Receive(connection, Frames.Application(Alice, "lobby", 1, 0));

        Assert.Equal(ErrorCode.BadBundle, error.Error.Code);
        Assert.Equal(ErrorCode.NotAMember, _io.NextSent(MessageType.Error).Error.Code);
    }

    [Fact]
    public void A_rejected_commit_is_answered_with_its_epoch()
    {
        var connection = Ready();

        connection.Tell(new RoomError("lobby", ErrorCode.CommitRejected, "epoch 5 is already committed", NotInRoom: false, Epoch: 5));

        var error = _io.NextSent(MessageType.Error);
        Assert.Equal(ErrorCode.CommitRejected, error.Error.Code);
        Assert.Equal(5ul, error.Epoch);
        Assert.Equal("lobby", error.RoomId);
    }

    [Fact]
    public void Frames_from_rooms_are_written_to_the_client()
    {
        var connection = Ready();
        var message = Frames.Application("bob", "lobby", 1, 3);

        connection.Tell(new RoomFrame("lobby", message.Bytes()));

        Assert.Equal(message, _io.NextSent(MessageType.Application));
    }

    [Fact]
    public void A_slow_consumer_is_disconnected_without_waiting_for_its_queue()
    {
        var connection = Ready();
        Watch(connection);
        _io.QueueFull = true;

        connection.Tell(new RoomFrame("lobby", Frames.Application("bob", "lobby", 1, 3).Bytes()));

        ExpectTerminated(connection);
        Assert.False(_io.ClosedWithFlush);
    }

    [Fact]
    public void A_slow_consumer_disconnect_a_rejected_frame_and_a_delivery_are_counted_in_the_metrics()
    {
        // A listener sees every server in the process: only the increase of at least what this test did is checked.
        using var metrics = new MetricTotals("securechat.slow_consumer.disconnects", "securechat.frames.rejected", "securechat.deliveries");
        var connection = Ready();
        Watch(connection);

        connection.Tell(new RoomFrame("lobby", Frames.Application("bob", "lobby", 1, 3).Bytes()));
        _io.NextSent(MessageType.Application);
        Receive(connection, Frames.Application(Alice, "elsewhere", 1, 1));
        Assert.Equal(ErrorCode.NotAMember, _io.NextSent(MessageType.Error).Error.Code);
        _io.QueueFull = true;
        connection.Tell(new RoomFrame("lobby", Frames.Application("bob", "lobby", 1, 4).Bytes()));
        ExpectTerminated(connection);

        Assert.True(metrics.Total("securechat.slow_consumer.disconnects") >= 1);
        Assert.True(metrics.Total("securechat.frames.rejected", ("code", "NOT_A_MEMBER")) >= 1);
        Assert.True(metrics.Total("securechat.deliveries") >= 2);
    }

    [Fact]
    public void A_fatal_refusal_from_the_read_loop_is_reported_and_closes()
    {
        var connection = Ready();
        Watch(connection);

        connection.Tell(new FrameRefused(ErrorCode.FrameTooLarge, "frame length 99999999 exceeds the maximum", Fatal: true));

        var error = _io.NextSent(MessageType.Error).Error;
        Assert.Equal(ErrorCode.FrameTooLarge, error.Code);
        Assert.True(error.Fatal);
        ExpectTerminated(connection);
    }

    [Fact]
    public void Server_shutdown_is_announced_before_closing()
    {
        var connection = Ready();
        Watch(connection);

        connection.Tell(ServerShutdown.Instance);

        Assert.Equal(ErrorCode.ServerShutdown, _io.NextSent(MessageType.Error).Error.Code);
        ExpectTerminated(connection);
        Assert.True(_io.ClosedWithFlush);
    }

    [Fact]
    public void A_silent_client_is_pinged_and_then_told_why_it_is_disconnected()
    {
        var connection = Ready(keepAlive: TimeSpan.FromMilliseconds(150));
        Watch(connection);

        Assert.Equal(MessageType.Ping, _io.NextSent().Type);

        var error = _io.NextSent(MessageType.Error).Error;
        Assert.Equal(ErrorCode.IdleTimeout, error.Code);
        Assert.True(error.Fatal);
        Assert.Contains("keep-alive", error.Reason, StringComparison.Ordinal);
        ExpectTerminated(connection, TimeSpan.FromSeconds(5));
        Assert.True(_io.ClosedWithFlush);
    }

    [Fact]
    public void Server_only_frames_from_a_client_are_unexpected()
    {
        var connection = Ready();

        Receive(connection, new Envelope { Version = WireLimits.ProtocolVersion, Type = MessageType.Welcome, SenderId = Alice, Welcome = new Welcome() });

        var error = _io.NextSent(MessageType.Error).Error;
        Assert.Equal(ErrorCode.UnexpectedMessage, error.Code);
        Assert.False(error.Fatal);
    }

    [Fact]
    public void Hello_is_told_to_the_sign_in_table_which_the_connection_watches_and_tells_again_resuming_when_it_ends()
    {
        var connection = Ready();

        var signIn = _signIns.ExpectMsg<SignIn>();
        Assert.Equal((Alice, connection, false), (signIn.ClientId, signIn.Connection, signIn.Resume));
        var table = CreateTestProbe("table");
        connection.Tell(new SignInRecorded(Alice), table.Ref);
        _signIns.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        Sys.Stop(table.Ref); // handed off, passivated, or lost with its node: the next table has not heard of this connection

        var again = _signIns.ExpectMsg<SignIn>();
        Assert.Equal((Alice, connection, true), (again.ClientId, again.Connection, again.Resume));
        Receive(connection, Frames.Ping(Alice, 3));
        Assert.Equal(3UL, _io.NextSent(MessageType.Pong).Sequence);
    }

    [Fact]
    public void A_sign_in_table_that_does_not_answer_holds_nothing_up_it_is_logged_once_and_asked_again_resuming()
    {
        var connection = Start(signInConfirm: TimeSpan.FromMilliseconds(300));
        Receive(connection, Frames.Hello(Alice));
        _io.NextSent(MessageType.Welcome);
        Assert.False(_signIns.ExpectMsg<SignIn>().Resume);

        // Served meanwhile.
        Receive(connection, Frames.Ping(Alice, 4));
        Assert.Equal(4UL, _io.NextSent(MessageType.Pong).Sequence);

        EventFilter.Warning(contains: "sign-in table did not record alice").ExpectOne(() => Assert.True(_signIns.ExpectMsg<SignIn>(TimeSpan.FromSeconds(5)).Resume));
        Assert.True(_signIns.ExpectMsg<SignIn>(TimeSpan.FromSeconds(5)).Resume); // still unanswered: asked again, not logged again
        EventFilter.Info(contains: "recorded alice at 127.0.0.1:5555 after all").ExpectOne(() => connection.Tell(new SignInRecorded(Alice), _signIns.Ref));
        _signIns.ExpectNoMsg(TimeSpan.FromMilliseconds(600)); // answered: no more asking
        Assert.False(_io.Closed);
    }

    private IActorRef Start(TimeSpan? helloTimeout = null, TimeSpan? keepAlive = null, int maxProtocolErrors = 10, TimeSpan? signInConfirm = null)
    {
        var settings = new ConnectionSettings(4096, 2, 10, helloTimeout ?? TimeSpan.FromSeconds(10), keepAlive ?? TimeSpan.Zero, maxProtocolErrors)
        {
            SignInConfirmTimeout = signInConfirm ?? TimeSpan.FromSeconds(5),
        };
        var connection = Sys.ActorOf(ConnectionActor.Props(_io, Alice, "127.0.0.1:5555", _rooms.Ref, _signIns.Ref, settings));
        AwaitCondition(() => _io.Owner is not null);
        return connection;
    }

    private IActorRef Ready(TimeSpan? keepAlive = null, int maxProtocolErrors = 10)
    {
        var connection = Start(keepAlive: keepAlive, maxProtocolErrors: maxProtocolErrors);
        Receive(connection, Frames.Hello(Alice));
        _io.NextSent(MessageType.Welcome);
        return connection;
    }

    private static void Receive(IActorRef connection, Envelope envelope) => connection.Tell(new FrameReceived(envelope.ToByteString()));
}
