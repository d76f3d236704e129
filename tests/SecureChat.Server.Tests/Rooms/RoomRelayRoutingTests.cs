using Akka.Actor;
using Akka.TestKit;
using SecureChat.Core.Wire;
using SecureChat.Server.Messaging;
using SecureChat.Server.Relays;
using SecureChat.Testing.RawClients;
using Envelope = SecureChat.Core.Wire.Envelope;

namespace SecureChat.Server.Tests.Rooms;

/// <summary>
/// A room whose members reach it through the relays of their nodes (TestProbes standing in for two nodes' relays):
/// each publish goes to each relay once, for all its recipients, after the list of them; a commit for several
/// connections behind one relay goes once; everything a relay gets is numbered in turn; a relay that ends takes its
/// members out of the room.
/// </summary>
public sealed class RoomRelayRoutingTests : RoomTestKit
{
    private readonly IActorRef _room;
    private readonly TestProbe _nodeA;
    private readonly TestProbe _nodeB;
    private readonly Dictionary<IActorRef, long> _sequences = [];
    private readonly (TestMember Member, TestProbe Connection) _alice;
    private readonly (TestMember Member, TestProbe Connection) _bob;
    private readonly (TestMember Member, TestProbe Connection) _carol;

    public RoomRelayRoutingTests()
    {
        _room = StartRoom();
        (_nodeA, _nodeB) = (CreateTestProbe(), CreateTestProbe());
        (_alice, _bob, _carol) = (Member("alice"), Member("bob"), Member("carol"));
        foreach (var relay in new[] { _nodeA, _nodeB })
        {
            _room.Tell(new SubscribeRelay(Room, relay.Ref), relay.Ref);
            var subscribed = relay.ExpectMsg<RelaySubscribed>();
            Assert.Equal(_room, relay.LastSender);
            _sequences[relay.Ref] = subscribed.LastSequence;
        }
    }

    [Fact]
    public void A_publish_reaches_each_node_once_with_its_recipients_and_a_commit_for_one_node_travels_once()
    {
        AliceAndBobOnAAndCarolOnB();
        var message = Frames.Application("alice", Room, 3, 0);

        _room.Tell(new PublishToRoom(Room, "alice", 3, 0, message.Bytes(), _alice.Connection.Ref), _nodeA.Ref);

        Assert.Equal([("alice", _alice.Connection.Ref), ("bob", _bob.Connection.Ref)], Next<RelayRecipients>(_nodeA).Members.Select(m => (m.ClientId, m.Connection)));
        var toA = Next<RelayBroadcast>(_nodeA);
        Assert.Equal((message.Bytes(), "alice"), (toA.Frame, toA.SenderId));
        Assert.Equal([("carol", _carol.Connection.Ref)], Next<RelayRecipients>(_nodeB).Members.Select(m => (m.ClientId, m.Connection)));
        Assert.Equal(message.Bytes(), Next<RelayBroadcast>(_nodeB).Frame);
        var relayed = Next<RelayFrame>(_nodeA); // after the message went out: its RELAYED, for alice alone
        Assert.Equal([_alice.Connection.Ref], relayed.Connections);
        Assert.Equal(MessageType.Relayed, Frames.Parse(relayed.Frame).Type);

        // The recipients did not change: the next publish is the broadcast alone; carol is node B's only recipient,
        // so her own message does not go there at all: only its RELAYED does.
        _room.Tell(new PublishToRoom(Room, "carol", 3, 0, Frames.Application("carol", Room, 3, 0).Bytes(), _carol.Connection.Ref), _nodeB.Ref);
        Assert.Equal("carol", Next<RelayBroadcast>(_nodeA).SenderId);
        Assert.Equal(MessageType.Relayed, Parse(Next<RelayFrame>(_nodeB), MessageType.Relayed).Type);
        _nodeA.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        _nodeB.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        foreach (var connection in new[] { _alice.Connection, _bob.Connection, _carol.Connection })
        {
            connection.ExpectNoMsg(TimeSpan.Zero); // nothing went to a connection directly
        }
    }

    [Fact]
    public void A_refusal_goes_through_the_relay_of_the_refused_connection()
    {
        AliceAndBobOnAAndCarolOnB();

        _room.Tell(new PublishToRoom(Room, "carol", 1, 4, Frames.Application("carol", Room, 1, 4).Bytes(), _carol.Connection.Ref), _nodeB.Ref);

        var refusal = Next<RelayRefusal>(_nodeB);
        Assert.Equal((_carol.Connection.Ref, ErrorCode.StaleEpoch, false), (refusal.Connection, refusal.Code, refusal.NotInRoom));
        Assert.Equal((1ul, 4ul), (refusal.Epoch, refusal.MessageSequence)); // it names the refused message
    }

    [Fact]
    public void When_a_relay_ends_its_members_are_away_and_stay_in_the_roster()
    {
        AliceAndBobOnAAndCarolOnB();

        Sys.Stop(_nodeB.Ref);

        AwaitAssert(() => Assert.Equal(["alice", "bob"], Status(_room).Snapshot.Connected));
        Assert.Equal(["alice", "bob", "carol"], Status(_room).Snapshot.Roster); // a lost node is not a leave: carol may resume
        _nodeA.ExpectNoMsg(TimeSpan.Zero); // and nobody was asked to commit her removal
    }

    /// <summary>alice creates the room through node A's relay, admits bob (also on A), then carol (on B): epoch 3.</summary>
    private void AliceAndBobOnAAndCarolOnB()
    {
        var (alice, aliceConn) = _alice;
        _room.Tell(Join(alice, aliceConn), _nodeA.Ref);
        Assert.Equal(MessageType.Joined, FrameTo(_nodeA, aliceConn).Type);
        Assert.Equal(MessageType.CommitRequest, FrameTo(_nodeA, aliceConn).Type);
        var creation = alice.CreateRoom(Room);
        _room.Tell(Submit(alice, aliceConn, creation), _nodeA.Ref);
        Assert.Equal(MessageType.Commit, FrameTo(_nodeA, aliceConn).Type);

        var (bob, bobConn) = _bob;
        _room.Tell(Join(bob, bobConn), _nodeA.Ref);
        Assert.Equal(MessageType.Joined, FrameTo(_nodeA, bobConn).Type);
        Assert.Equal(MessageType.CommitRequest, FrameTo(_nodeA, aliceConn).Type);
        var withBob = alice.Commit(Room, 2, [alice.Bundle, bob.Bundle], added: [bob.Bundle], previous: TestMember.TranscriptHashOf(creation));
        _room.Tell(Submit(alice, aliceConn, withBob), _nodeA.Ref);
        var both = Next<RelayFrame>(_nodeA);
        Assert.Equal([aliceConn.Ref, bobConn.Ref], both.Connections);
        Assert.Equal(2ul, Parse(both, MessageType.Commit).Epoch);

        var (carol, carolConn) = _carol;
        _room.Tell(Join(carol, carolConn), _nodeB.Ref);
        Assert.Equal(MessageType.Joined, FrameTo(_nodeB, carolConn).Type);
        Assert.Equal(MessageType.CommitRequest, FrameTo(_nodeA, aliceConn).Type);
        _room.Tell(Submit(alice, aliceConn, alice.Commit(Room, 3, [alice.Bundle, bob.Bundle, carol.Bundle], added: [carol.Bundle],
            previous: TestMember.TranscriptHashOf(withBob))), _nodeA.Ref);
        Assert.Equal([aliceConn.Ref, bobConn.Ref], Next<RelayFrame>(_nodeA).Connections);
        Assert.Equal(3ul, Parse(Next<RelayFrame>(_nodeB), MessageType.Commit).Epoch);
    }

    /// <summary>The next message to <paramref name="relay"/>: of type <typeparamref name="T"/>, from the room, numbered in turn.</summary>
    private T Next<T>(TestProbe relay)
    {
        var message = relay.ExpectMsg<object>(TimeSpan.FromSeconds(3));
        Assert.Equal(_room, relay.LastSender);
        var sequence = message switch
        {
            RelayRecipients m => m.Sequence,
            RelayBroadcast m => m.Sequence,
            RelayFrame m => m.Sequence,
            RelayRefusal m => m.Sequence,
            _ => throw new Xunit.Sdk.XunitException($"unexpected {message}"),
        };
        Assert.Equal(++_sequences[relay.Ref], sequence);
        return Assert.IsType<T>(message);
    }

    private Envelope FrameTo(TestProbe relay, TestProbe connection)
    {
        var frame = Next<RelayFrame>(relay);
        Assert.Equal([connection.Ref], frame.Connections);
        return Frames.Parse(frame.Frame);
    }

    private static Envelope Parse(RelayFrame frame, MessageType type)
    {
        var envelope = Frames.Parse(frame.Frame);
        Assert.Equal(type, envelope.Type);
        return envelope;
    }
}
