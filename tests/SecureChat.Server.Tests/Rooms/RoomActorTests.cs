using Akka.Actor;
using Akka.TestKit;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Relay;
using SecureChat.Server.Messaging;
using SecureChat.Testing.RawClients;

namespace SecureChat.Server.Tests.Rooms;

/// <summary>
/// RoomActor carries out what its <see cref="RoomState{TConnection}"/> decides (whose rules RoomStateTests cover): these
/// scenarios check the carrying out, with TestProbes standing in for the members' connections — frames and refusals
/// as messages, the commit deadline as a real timer, a terminated connection as a disconnect. (Its journal:
/// RoomPersistenceTests.)
/// </summary>
public sealed class RoomActorTests : RoomTestKit
{
    private readonly IActorRef _room;
    private readonly (TestMember Member, TestProbe Connection) _alice;
    private readonly (TestMember Member, TestProbe Connection) _bob;

    public RoomActorTests()
    {
        _room = StartRoom();
        _alice = Member("alice");
        _bob = Member("bob");
    }

    [Fact]
    public void A_room_is_created_by_its_first_joiner_and_admits_the_next_through_a_commit_everyone_receives()
    {
        var (alice, aliceConn) = _alice;
        var (bob, bobConn) = _bob;
        _room.Tell(Join(alice, aliceConn));
        Assert.Equal(0ul, ExpectFrame(aliceConn, MessageType.Joined).Joined.CurrentEpoch);
        var create = ExpectFrame(aliceConn, MessageType.CommitRequest).CommitRequest;
        var creation = alice.CreateRoom(Room, create.NewEpoch);
        _room.Tell(Submit(alice, aliceConn, creation));
        Assert.Equal("alice", ExpectFrame(aliceConn, MessageType.Commit).SenderId);

        _room.Tell(Join(bob, bobConn));
        ExpectFrame(bobConn, MessageType.Joined);
        var admit = ExpectFrame(aliceConn, MessageType.CommitRequest).CommitRequest;
        _room.Tell(Submit(alice, aliceConn, alice.Commit(Room, admit.NewEpoch, [alice.Bundle, bob.Bundle], added: [bob.Bundle],
            previous: TestMember.TranscriptHashOf(creation))));

        Assert.Equal(2ul, ExpectFrame(aliceConn, MessageType.Commit).Epoch);
        Assert.Equal(2ul, ExpectFrame(bobConn, MessageType.Commit).Epoch);
        var state = Status(_room).Snapshot;
        Assert.Equal(2ul, state.Epoch);
        Assert.Equal(["alice", "bob"], state.Roster);
    }

    [Fact]
    public void When_the_asked_member_does_not_commit_in_time_the_next_member_is_asked()
    {
        AliceAndBobInTheRoom(_room, _alice, _bob);
        var (carol, carolConn) = Member("carol");

        _room.Tell(Join(carol, carolConn));
        ExpectFrame(carolConn, MessageType.Joined);
        ExpectFrame(_alice.Connection, MessageType.CommitRequest);

        var failover = ExpectFrame(_bob.Connection, MessageType.CommitRequest, CommitTimeout * 10).CommitRequest;
        Assert.Equal(3ul, failover.NewEpoch);
        Assert.Equal("bob", Status(_room).Snapshot.AskedCommitter);
    }

    [Fact]
    public void Ciphertext_reaches_every_other_member_unchanged_and_its_sender_hears_it_was_relayed()
    {
        AliceAndBobInTheRoom(_room, _alice, _bob);
        var message = Frames.Application("bob", Room, epoch: 2, sequence: 5);

        _room.Tell(new PublishToRoom(Room, "bob", 2, 5, message.Bytes(), _bob.Connection.Ref));

        Assert.Equal(message, ExpectFrame(_alice.Connection, MessageType.Application));
        var relayed = ExpectFrame(_bob.Connection, MessageType.Relayed);
        Assert.Equal((Room, 2ul, 5ul, ""), (relayed.RoomId, relayed.Epoch, relayed.Sequence, relayed.SenderId));
        _bob.Connection.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_connection_that_terminates_leaves_its_member_in_the_roster_and_nobody_is_asked_to_commit()
    {
        AliceAndBobInTheRoom(_room, _alice, _bob);

        Sys.Stop(_bob.Connection.Ref);

        AwaitAssert(() => Assert.Equal(["alice"], Status(_room).Snapshot.Connected));
        Assert.Equal(["alice", "bob"], Status(_room).Snapshot.Roster);
        Assert.Equal(["bob"], Status(_room).Durable.Away.Select(a => a.ClientId));
        _alice.Connection.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void A_refused_commit_comes_back_to_its_connection_as_an_error_with_its_epoch()
    {
        var transcript = AliceAndBobInTheRoom(_room, _alice, _bob);
        var (carol, _) = Member("carol");

        _room.Tell(Submit(_bob.Member, _bob.Connection, _bob.Member.Commit(Room, 3, [_alice.Member.Bundle, _bob.Member.Bundle, carol.Bundle], added: [carol.Bundle],
            previous: transcript)));

        var error = _bob.Connection.ExpectMsg<RoomError>();
        Assert.Equal((ErrorCode.CommitRejected, 3ul, false), (error.Code, error.Epoch, error.NotInRoom));
        Assert.Contains("nobody joined with", error.Reason, StringComparison.Ordinal);
        _alice.Connection.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Assert.Equal(2ul, Status(_room).Snapshot.Epoch);
    }

    [Fact]
    public void A_join_with_a_bundle_that_does_not_verify_is_refused()
    {
        _room.Tell(new JoinRoom(Room, "mallory", _alice.Member.Bundle.Content, _alice.Member.Bundle.Signature, CipherSuite.Unspecified, _alice.Connection.Ref));

        var error = _alice.Connection.ExpectMsg<RoomError>();
        Assert.Equal((ErrorCode.BadBundle, true), (error.Code, error.NotInRoom));
    }
}
