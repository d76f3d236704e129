using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Protocol.Relay;
using SecureChat.Server.Messaging;
using SecureChat.Server.Rooms;
using SecureChat.Testing.RawClients;

namespace SecureChat.Server.Tests.Rooms;

public sealed class RoomRegistryTests : TestKit
{
    private static readonly TimeSpan Grace = TimeSpan.FromMilliseconds(300);

    [Fact]
    public void Messages_for_one_room_id_reach_one_room_and_other_ids_other_rooms()
    {
        var registry = StartRegistry();

        var lobby1 = RoomOf(registry, "lobby");
        var lobby2 = RoomOf(registry, "lobby");
        var other = RoomOf(registry, "other");

        Assert.Equal(lobby1, lobby2);
        Assert.NotEqual(lobby1, other);
        registry.Tell(GetRoomCount.Instance);
        Assert.Equal(2, ExpectMsg<RoomCount>().Count);
    }

    [Fact]
    public void The_first_join_creates_the_room()
    {
        var registry = StartRegistry();
        using var alice = new TestMember("alice");
        var connection = CreateTestProbe();

        registry.Tell(new JoinRoom("new-room", "alice", alice.Bundle.Content, alice.Bundle.Signature, CipherSuite.Unspecified, connection.Ref));

        var joined = Frames.Parse(connection.ExpectMsg<RoomFrame>().Envelope);
        Assert.Equal(MessageType.Joined, joined.Type);
        Assert.Equal("new-room", joined.RoomId);
    }

    [Fact]
    public void An_empty_room_stops_after_its_grace_period_and_a_later_join_continues_its_epochs()
    {
        var registry = StartRegistry();
        using var alice = new TestMember("alice");
        var connection = CreateTestProbe();
        registry.Tell(new JoinRoom("lobby", "alice", alice.Bundle.Content, alice.Bundle.Signature, CipherSuite.Unspecified, connection.Ref));
        connection.ExpectMsg<RoomFrame>(); // JOINED
        connection.ExpectMsg<RoomFrame>(); // COMMIT_REQUEST
        var create = alice.CreateRoom("lobby");
        registry.Tell(new SubmitCommit("lobby", "alice", create.Content, create.Signature, connection.Ref));
        connection.ExpectMsg<RoomFrame>(); // COMMIT echo
        var room = RoomOf(registry, "lobby");
        Watch(room);

        registry.Tell(new LeaveRoom("lobby", "alice", connection.Ref));

        ExpectTerminated(room, Grace * 20);
        registry.Tell(new JoinRoom("lobby", "alice", alice.Bundle.Content, alice.Bundle.Signature, CipherSuite.Unspecified, connection.Ref));
        var joined = Frames.Parse(connection.ExpectMsg<RoomFrame>().Envelope);
        Assert.Equal(1ul, joined.Joined.CurrentEpoch);
        Assert.Equal(2ul, Frames.Parse(connection.ExpectMsg<RoomFrame>().Envelope).CommitRequest.NewEpoch);
    }

    [Fact]
    public void A_room_that_is_never_joined_stops_too()
    {
        var registry = StartRegistry();
        var room = RoomOf(registry, "ghost");
        Watch(room);

        ExpectTerminated(room, Grace * 20);
        registry.Tell(GetRoomCount.Instance);
        Assert.Equal(0, ExpectMsg<RoomCount>().Count);
    }

    [Fact]
    public void The_extractor_shards_by_a_stable_hash_of_the_room_id()
    {
        var extractor = new RoomMessageExtractor(10);

        Assert.Equal("lobby", extractor.EntityId(new GetRoomState("lobby")));
        Assert.Null(extractor.EntityId("not a room message"));
        Assert.Equal(extractor.ShardId("lobby"), extractor.ShardId(new GetRoomState("lobby")));
        Assert.Equal(extractor.ShardId("lobby"), new RoomMessageExtractor(10).ShardId("lobby"));
        Assert.InRange(int.Parse(extractor.ShardId("anything"), System.Globalization.CultureInfo.InvariantCulture), 0, 9);
    }

    private IActorRef StartRegistry() =>
        Sys.ActorOf(RoomRegistry.Props(new RoomSettings(10, TimeSpan.FromSeconds(5), Grace, SystemClock.Instance)));

    private IActorRef RoomOf(IActorRef registry, string roomId)
    {
        registry.Tell(new GetRoomState(roomId), TestActor);
        ExpectMsg<RoomStatus>();
        return LastSender;
    }
}
