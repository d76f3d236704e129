using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Google.Protobuf;
using SecureChat.Core.Wire;
using SecureChat.Server.Messaging;
using SecureChat.Server.Relays;
using SecureChat.Server.Serialization;
using SecureChat.Testing.RawClients;

namespace SecureChat.Server.Tests.Relays;

/// <summary>
/// A node's relay of one room with TestProbes for the shard region, the room incarnations and the connections: it
/// subscribes through the region, then carries its connections' traffic to the incarnation that answered and that
/// incarnation's frames to its connections; when the incarnation ends, or a numbered message from it goes missing,
/// its members are told, and joins still waiting go to the next incarnation.
/// </summary>
public sealed class RoomRelayActorTests : TestKit
{
    /// <summary>Everything a relay and a room say to each other may cross nodes: every message goes through the cluster serializer.</summary>
    private static readonly string SerializeEverything = "akka.actor.serialize-messages = on\n" + ClusterMessageSerializer.Hocon;

    private const string Room = "lobby";
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);
    private readonly TestProbe _region;
    private readonly TestProbe _room;
    private readonly IActorRef _relay;

    public RoomRelayActorTests()
        : base(SerializeEverything)
    {
        _region = CreateTestProbe();
        _room = CreateTestProbe();
        _relay = Sys.ActorOf(RoomRelayActor.Props(Room, _region.Ref, TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public void A_join_subscribes_through_the_region_and_reaches_the_room_only_once_an_incarnation_answers()
    {
        var alice = CreateTestProbe();
        var join = Join("alice", alice);

        _relay.Tell(join, alice.Ref);

        Assert.Equal(new SubscribeRelay(Room, _relay), _region.ExpectMsg<SubscribeRelay>());
        _room.ExpectNoMsg(Quiet);
        _relay.Tell(new RelaySubscribed(Room, 1, LastSequence: 0), _room.Ref);
        var forwarded = _room.ExpectMsg<JoinRoom>();
        Assert.Equal(join with { SupportedSuites = forwarded.SupportedSuites }, forwarded); // an array: compared apart
        Assert.Equal(join.SupportedSuites, forwarded.SupportedSuites);
        Assert.Equal(_relay, _room.LastSender);

        // Once subscribed, the next join goes straight to the incarnation.
        var bob = CreateTestProbe();
        _relay.Tell(Join("bob", bob), bob.Ref);
        Assert.Equal("bob", _room.ExpectMsg<JoinRoom>().ClientId);
        _region.ExpectNoMsg(Quiet);
    }

    [Fact]
    public void The_subscription_is_asked_for_again_until_an_incarnation_answers()
    {
        var alice = CreateTestProbe();
        _relay.Tell(Join("alice", alice), alice.Ref);

        _region.ExpectMsg<SubscribeRelay>();
        _region.ExpectMsg<SubscribeRelay>(RoomRelayActor.SubscribeRetryInterval * 3);
        _relay.Tell(new RelaySubscribed(Room, 1, 0), _room.Ref);
        _relay.Tell(new RelaySubscribed(Room, 1, 0), _room.Ref); // the answer to the retry changes nothing

        _room.ExpectMsg<JoinRoom>();
        _room.ExpectNoMsg(Quiet);
        while (_region.HasMessages)
        {
            _region.ReceiveOne(TimeSpan.Zero); // a retry sent before the answer arrived
        }

        _region.ExpectNoMsg(RoomRelayActor.SubscribeRetryInterval * 2);
    }

    [Fact]
    public void A_broadcast_reaches_every_recipient_here_but_its_sender_and_a_frame_reaches_the_connections_it_names()
    {
        var (alice, bob, carol) = (CreateTestProbe(), CreateTestProbe(), CreateTestProbe());
        Subscribed(("alice", alice), ("bob", bob), ("carol", carol));
        var message = Frames.Application("alice", Room, 2, 0).Bytes();
        var commit = ByteString.CopyFromUtf8("a commit for bob and carol");

        _relay.Tell(new RelayRecipients(Room, 1, [new RelayMember("alice", alice.Ref), new RelayMember("bob", bob.Ref), new RelayMember("carol", carol.Ref)]), _room.Ref);
        _relay.Tell(new RelayBroadcast(Room, 2, message, "alice"), _room.Ref);
        _relay.Tell(new RelayFrame(Room, 3, commit, [bob.Ref, carol.Ref]), _room.Ref);
        _relay.Tell(new RelayRefusal(Room, 4, alice.Ref, ErrorCode.StaleEpoch, "old epoch", NotInRoom: false, Epoch: 1), _room.Ref);

        foreach (var member in new[] { bob, carol })
        {
            Assert.Equal(new RoomFrame(Room, message), member.ExpectMsg<RoomFrame>());
            Assert.Equal(new RoomFrame(Room, commit), member.ExpectMsg<RoomFrame>());
        }

        Assert.Equal(new RoomError(Room, ErrorCode.StaleEpoch, "old epoch", NotInRoom: false, Epoch: 1), alice.ExpectMsg<RoomError>());
        alice.ExpectNoMsg(Quiet);
    }

    [Fact]
    public void Commits_and_publishes_of_members_go_to_the_incarnation_and_those_of_other_connections_are_refused()
    {
        var alice = CreateTestProbe();
        var stranger = CreateTestProbe();
        Subscribed(("alice", alice));
        var publish = new PublishToRoom(Room, "alice", 2, 0, Frames.Application("alice", Room, 2, 0).Bytes(), alice.Ref);

        _relay.Tell(publish, alice.Ref);
        _relay.Tell(new PublishToRoom(Room, "mallory", 2, 7, publish.Envelope, stranger.Ref), stranger.Ref);

        Assert.Equal(publish, _room.ExpectMsg<PublishToRoom>());
        var refusal = stranger.ExpectMsg<RoomError>();
        Assert.Equal((ErrorCode.NotAMember, false, 2ul, 7ul), (refusal.Code, refusal.NotInRoom, refusal.Epoch, refusal.Sequence)); // naming the message
        _room.ExpectNoMsg(Quiet);
    }

    [Fact]
    public void When_the_incarnation_ends_its_members_are_told_to_join_again_and_a_join_it_never_answered_goes_to_the_next()
    {
        var (alice, bob) = (CreateTestProbe(), CreateTestProbe());
        Subscribed(("alice", alice));
        _relay.Tell(new RelayFrame(Room, 1, ByteString.CopyFromUtf8("JOINED for alice"), [alice.Ref]), _room.Ref);
        alice.ExpectMsg<RoomFrame>();
        _relay.Tell(Join("bob", bob), bob.Ref);
        _room.ExpectMsg<JoinRoom>();

        Sys.Stop(_room.Ref);

        var told = alice.ExpectMsg<RoomError>();
        Assert.Equal((ErrorCode.NotAMember, true, RelayBook<IActorRef, JoinRoom>.RoomEndedReason), (told.Code, told.NotInRoom, told.Reason));
        bob.ExpectNoMsg(Quiet);
        _region.ExpectMsg<SubscribeRelay>();
        var next = CreateTestProbe();
        _relay.Tell(new RelaySubscribed(Room, 2, LastSequence: 0), next.Ref);
        Assert.Equal("bob", next.ExpectMsg<JoinRoom>().ClientId);

        // alice is out: her traffic is no longer carried, until she joins again.
        _relay.Tell(new PublishToRoom(Room, "alice", 2, 0, ByteString.Empty, alice.Ref), alice.Ref);
        Assert.Equal(ErrorCode.NotAMember, alice.ExpectMsg<RoomError>().Code);
        next.ExpectNoMsg(Quiet);
    }

    [Fact]
    public void A_message_from_the_room_out_of_turn_makes_every_member_here_leave_and_join_again()
    {
        var (alice, bob) = (CreateTestProbe(), CreateTestProbe());
        Subscribed(("alice", alice), ("bob", bob));
        var frame = ByteString.CopyFromUtf8("frame");
        _relay.Tell(new RelayFrame(Room, 1, frame, [alice.Ref, bob.Ref]), _room.Ref);

        _relay.Tell(new RelayFrame(Room, 3, frame, [alice.Ref, bob.Ref]), _room.Ref); // 2 went missing

        var leaves = new[] { _room.ExpectMsg<LeaveRoom>(), _room.ExpectMsg<LeaveRoom>() };
        Assert.Equal(["alice", "bob"], leaves.Select(l => l.ClientId).Order());
        foreach (var member in new[] { alice, bob })
        {
            member.ExpectMsg<RoomFrame>();
            var told = member.ExpectMsg<RoomError>();
            Assert.Equal((ErrorCode.NotAMember, true, RelayBook<IActorRef, JoinRoom>.GapReason), (told.Code, told.NotInRoom, told.Reason));
            member.ExpectNoMsg(Quiet); // the message out of turn is not delivered
        }
    }

    [Fact]
    public void Messages_from_anyone_but_the_subscribed_incarnation_are_dropped()
    {
        var alice = CreateTestProbe();
        Subscribed(("alice", alice));
        var impostor = CreateTestProbe();

        _relay.Tell(new RelayFrame(Room, 1, ByteString.CopyFromUtf8("not from the room"), [alice.Ref]), impostor.Ref);
        _relay.Tell(new RelayFrame(Room, 1, ByteString.CopyFromUtf8("from the room"), [alice.Ref]), _room.Ref);

        Assert.Equal("from the room", alice.ExpectMsg<RoomFrame>().Envelope.ToStringUtf8());
        alice.ExpectNoMsg(Quiet);
    }

    [Fact]
    public void A_relay_whose_last_member_left_asks_its_parent_to_stop_it_and_the_parent_does_only_if_it_forwarded_nothing_since()
    {
        var region = CreateTestProbe();
        var parentProbe = CreateTestProbe();
        var child = parentProbe.ChildActorOf(RoomRelayActor.Props(Room, region.Ref, TimeSpan.FromMilliseconds(100)));
        var alice = CreateTestProbe();
        child.Tell(Join("alice", alice), alice.Ref);
        child.Tell(new LeaveRoom(Room, "alice", alice.Ref), alice.Ref);
        Assert.Equal(new RelayIdle(Room, Received: 2), parentProbe.ExpectMsg<RelayIdle>(TimeSpan.FromSeconds(3)));

        var relays = Sys.ActorOf(RoomRelaysActor.Props(_region.Ref, TimeSpan.FromMinutes(5)));
        relays.Tell(Join("alice", alice), alice.Ref);
        var relay = _region.ExpectMsg<SubscribeRelay>().Relay;
        Watch(relay);
        relays.Tell(new RelayIdle(Room, Received: 0), relay); // one join was forwarded since: it stays
        ExpectNoMsg(Quiet);
        relays.Tell(new RelayIdle(Room, Received: 1), relay);
        ExpectTerminated(relay);

        // The next message for the room makes a new relay.
        relays.Tell(Join("alice", alice), alice.Ref);
        Assert.NotEqual(relay, _region.FishForMessage<SubscribeRelay>(m => !m.Relay.Equals(relay)).Relay);
    }

    private static JoinRoom Join(string clientId, TestProbe connection) =>
        new(Room, clientId, ByteString.CopyFromUtf8("bundle of " + clientId), ByteString.CopyFromUtf8("signature"), CipherSuite.Unspecified, connection.Ref);

    /// <summary>The members join and the relay is subscribed to <see cref="_room"/> (every message read).</summary>
    private void Subscribed(params (string Id, TestProbe Connection)[] members)
    {
        foreach (var (id, connection) in members)
        {
            _relay.Tell(Join(id, connection), connection.Ref);
        }

        _region.ExpectMsg<SubscribeRelay>();
        _relay.Tell(new RelaySubscribed(Room, 1, 0), _room.Ref);
        foreach (var _ in members)
        {
            _room.ExpectMsg<JoinRoom>();
        }
    }
}
