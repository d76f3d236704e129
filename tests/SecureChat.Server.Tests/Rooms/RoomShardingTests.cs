using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Protocol.Relay;
using SecureChat.Server.Messaging;
using SecureChat.Server.Rooms;
using SecureChat.Testing.RawClients;
using SecureChat.Testing.Rooms;

namespace SecureChat.Server.Tests.Rooms;

/// <summary>
/// The rooms as the server runs them: entities of a shard region (<see cref="RoomsHosting.AddRooms"/>) in a cluster
/// of one, on the in-memory journal, every message through the cluster serializer.
/// </summary>
public sealed class RoomShardingTests : TestKit
{
    private static readonly TimeSpan Grace = TimeSpan.FromMilliseconds(300);
    private readonly RoomsHost _host;

    public RoomShardingTests()
        : this(RoomsHost.Start(new RoomSettings(10, TimeSpan.FromSeconds(5), Grace, SystemClock.Instance)))
    {
    }

    private RoomShardingTests(RoomsHost host)
        : base(host.System)
    {
        _host = host;
    }

    private IActorRef Rooms => _host.Rooms;

    [Fact]
    public void Messages_for_one_room_id_reach_one_room_and_other_ids_other_rooms()
    {
        var lobby1 = RoomOf("lobby");
        var lobby2 = RoomOf("lobby");

        // Any valid room id is an entity, even those that are not actor names by themselves.
        string[] others = [".", "..", "a@b", "x-_.y"];
        var rooms = others.Select(RoomOf).ToList();

        Assert.Equal(lobby1, lobby2);
        Assert.Equal(others.Length + 1, rooms.Append(lobby1).Distinct().Count());
        Assert.Equal(others.Length + 1, EntityCount());
    }

    [Fact]
    public void The_first_join_creates_the_room()
    {
        using var alice = new TestMember("alice", room: "new-room");
        var connection = CreateTestProbe();

        Rooms.Tell(new JoinRoom("new-room", "alice", alice.Bundle.Content, alice.Bundle.Signature, CipherSuite.Unspecified, connection.Ref));

        var joined = Frames.Parse(connection.ExpectMsg<RoomFrame>(TimeSpan.FromSeconds(10)).Envelope);
        Assert.Equal(MessageType.Joined, joined.Type);
        Assert.Equal("new-room", joined.RoomId);
    }

    [Fact]
    public void An_empty_room_passivates_after_its_grace_period_and_comes_back_from_its_journal()
    {
        using var alice = new TestMember("alice");
        var connection = CreateTestProbe();
        Rooms.Tell(new JoinRoom("lobby", "alice", alice.Bundle.Content, alice.Bundle.Signature, CipherSuite.Unspecified, connection.Ref));
        connection.ExpectMsg<RoomFrame>(TimeSpan.FromSeconds(10)); // JOINED
        connection.ExpectMsg<RoomFrame>(); // COMMIT_REQUEST
        var create = alice.CreateRoom("lobby");
        Rooms.Tell(new SubmitCommit("lobby", "alice", create.Content, create.Signature, create.ConfirmationTag, connection.Ref));
        connection.ExpectMsg<RoomFrame>(); // COMMIT echo
        var room = RoomOf("lobby");
        Watch(room);

        Rooms.Tell(new LeaveRoom("lobby", "alice", connection.Ref));

        ExpectTerminated(room, Grace * 20);
        AwaitAssert(() => Assert.Equal(0, EntityCount()), TimeSpan.FromSeconds(5));
        using var aliceAgain = new TestMember("alice"); // a new session: the room remembers the bundle it admitted
        Rooms.Tell(new JoinRoom("lobby", "alice", aliceAgain.Bundle.Content, aliceAgain.Bundle.Signature, CipherSuite.Unspecified, connection.Ref));
        var joined = Frames.Parse(connection.ExpectMsg<RoomFrame>().Envelope);
        Assert.Equal(1ul, joined.Joined.CurrentEpoch);
        Assert.True(joined.Joined.Recovered); // she left, but nobody was there to commit her removal: the recovered roster names her
        Assert.Equal(JoinMode.External, joined.Joined.Mode); // nobody online to admit her: the commit log came back with the room
        Assert.Equal(create, joined.Joined.State.LastCommit);
    }

    [Fact]
    public void A_room_that_is_never_joined_passivates_too()
    {
        var room = RoomOf("ghost");
        Watch(room);

        ExpectTerminated(room, Grace * 20);
        AwaitAssert(() => Assert.Equal(0, EntityCount()), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void Members_behind_the_node_relay_hear_each_other_and_after_the_room_incarnation_ends_join_again_the_room_recovered_from_its_journal()
    {
        using var alice = new TestMember("alice");
        using var bob = new TestMember("bob");
        var (aliceConnection, bobConnection) = (CreateTestProbe(), CreateTestProbe());
        var relays = _host.Relays;
        relays.Tell(JoinOf(alice, aliceConnection), aliceConnection.Ref);
        Assert.Equal(MessageType.Joined, FrameTo(aliceConnection).Type);
        Assert.Equal(MessageType.CommitRequest, FrameTo(aliceConnection).Type);
        var creation = alice.CreateRoom("lobby");
        relays.Tell(new SubmitCommit("lobby", "alice", creation.Content, creation.Signature, creation.ConfirmationTag, aliceConnection.Ref), aliceConnection.Ref);
        Assert.Equal(MessageType.Commit, FrameTo(aliceConnection).Type);
        relays.Tell(JoinOf(bob, bobConnection), bobConnection.Ref);
        Assert.Equal(MessageType.Joined, FrameTo(bobConnection).Type);
        Assert.Equal(MessageType.CommitRequest, FrameTo(aliceConnection).Type);
        var withBob = alice.Commit("lobby", 2, [alice.Bundle, bob.Bundle], added: [bob.Bundle], previous: TestMember.TranscriptHashOf(creation));
        relays.Tell(new SubmitCommit("lobby", "alice", withBob.Content, withBob.Signature, withBob.ConfirmationTag, aliceConnection.Ref), aliceConnection.Ref);
        Assert.Equal(2ul, FrameTo(aliceConnection).Epoch);
        Assert.Equal(2ul, FrameTo(bobConnection).Epoch);

        var message = Frames.Application("alice", "lobby", 2, 0).Bytes();
        relays.Tell(new PublishToRoom("lobby", "alice", 2, 0, message, aliceConnection.Ref), aliceConnection.Ref);
        Assert.Equal(message, bobConnection.ExpectMsg<RoomFrame>(TimeSpan.FromSeconds(5)).Envelope);
        var relayed = FrameTo(aliceConnection); // not the message back to its sender: its RELAYED
        Assert.Equal((MessageType.Relayed, 2ul, 0ul), (relayed.Type, relayed.Epoch, relayed.Sequence));

        // The incarnation ends as it does when its shard moves or its node leaves: the relay tells its members, and
        // subscribes again for the next join, which reaches a new incarnation recovered from the journal.
        RoomOf("lobby").Tell(StopRoom.Instance);
        foreach (var connection in new[] { aliceConnection, bobConnection })
        {
            var ended = connection.ExpectMsg<RoomError>(TimeSpan.FromSeconds(5));
            Assert.Equal((ErrorCode.NotAMember, true), (ended.Code, ended.NotInRoom));
        }

        relays.Tell(JoinOf(bob, bobConnection) with { KnownEpoch = 2 }, bobConnection.Ref); // bob resumes: it holds epoch 2
        var joined = FrameTo(bobConnection);
        Assert.Equal(MessageType.Joined, joined.Type);
        Assert.Equal((JoinMode.Resumed, 2ul), (joined.Joined.Mode, joined.Joined.CurrentEpoch));
        Assert.True(joined.Joined.Recovered);
    }

    [Fact]
    public void The_extractor_routes_room_messages_by_their_id_to_a_stable_shard()
    {
        var extractor = new RoomMessageExtractor();

        Assert.Equal("lobby", extractor.EntityId(new GetRoomState("lobby")));
        Assert.Null(extractor.EntityId("not a room message"));
        Assert.Equal(extractor.ShardId("lobby"), new RoomMessageExtractor().ShardId("lobby"));
        Assert.InRange(int.Parse(extractor.ShardId("anything"), System.Globalization.CultureInfo.InvariantCulture), 0, RoomMessageExtractor.ShardCount - 1);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _host.Dispose();
        }
    }

    private static JoinRoom JoinOf(TestMember member, TestProbe connection) =>
        new("lobby", member.Id, member.Bundle.Content, member.Bundle.Signature, CipherSuite.Unspecified, connection.Ref);

    private static SecureChat.Core.Wire.Envelope FrameTo(TestProbe connection) =>
        Frames.Parse(connection.ExpectMsg<RoomFrame>(TimeSpan.FromSeconds(10)).Envelope);

    private IActorRef RoomOf(string roomId)
    {
        Rooms.Tell(new GetRoomState(roomId), TestActor);
        Assert.Equal(roomId, ExpectMsg<RoomStatus>(TimeSpan.FromSeconds(10)).Snapshot.RoomId);
        return LastSender;
    }

    private int EntityCount()
    {
        Rooms.Tell(GetShardRegionState.Instance, TestActor);
        return ExpectMsg<CurrentShardRegionState>().Shards.Sum(shard => shard.EntityIds.Count);
    }
}
