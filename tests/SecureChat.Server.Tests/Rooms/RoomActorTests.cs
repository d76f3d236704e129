using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using SecureChat.Core.Wire;
using SecureChat.Server.Connections;
using SecureChat.Server.Rooms;
using SecureChat.Testing.RawClients;
using Envelope = SecureChat.Core.Wire.Envelope;

namespace SecureChat.Server.Tests.Rooms;

/// <summary>RoomActor scenarios with TestProbes standing in for the members' connections.</summary>
public sealed class RoomActorTests : TestKit
{
    private const string Room = "lobby";
    private static readonly TimeSpan CommitTimeout = TimeSpan.FromMilliseconds(400);
    private readonly List<TestMember> _members = [];

    public RoomActorTests()
        : base("akka.loglevel = INFO")
    {
    }

    [Fact]
    public void First_joiner_is_told_the_room_is_new_and_asked_to_create_it()
    {
        var room = StartRoom();
        var (alice, aliceConn) = Member("alice");

        room.Tell(Join(alice, aliceConn));

        var joined = ExpectFrame(aliceConn, MessageType.Joined);
        Assert.Equal(0ul, joined.Joined.CurrentEpoch);
        var request = ExpectFrame(aliceConn, MessageType.CommitRequest).CommitRequest;
        Assert.Equal(1ul, request.NewEpoch);
        Assert.Equal("alice", TestMember.ClientIdOf(Assert.Single(request.Adds)));
        Assert.Empty(request.Removes);
        Assert.Equal(CipherSuite.Aes256GcmX25519Ed25519Sha256, request.Suite);
    }

    [Fact]
    public void The_creation_commit_is_echoed_to_its_committer_and_sets_epoch_one()
    {
        var room = StartRoom();
        var (alice, aliceConn) = Member("alice");

        CreateRoom(room, alice, aliceConn);

        var state = State(room);
        Assert.Equal(1ul, state.Epoch);
        Assert.Equal(["alice"], state.Roster);
    }

    [Fact]
    public void A_joiner_is_admitted_by_a_commit_of_the_longest_present_member_and_everyone_gets_it()
    {
        var room = StartRoom();
        var (alice, aliceConn) = Member("alice");
        var (bob, bobConn) = Member("bob");
        var (carol, carolConn) = Member("carol");
        CreateRoom(room, alice, aliceConn);
        Admit(room, alice, aliceConn, [alice], bob, bobConn, [aliceConn]);

        room.Tell(Join(carol, carolConn));

        Assert.Equal(2ul, ExpectFrame(carolConn, MessageType.Joined).Joined.CurrentEpoch);
        var request = ExpectFrame(aliceConn, MessageType.CommitRequest).CommitRequest;
        Assert.Equal(3ul, request.NewEpoch);
        bobConn.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // only the chosen committer is asked
    }

    [Fact]
    public void When_the_asked_member_does_not_commit_in_time_the_next_member_is_asked()
    {
        var room = StartRoom();
        var (alice, aliceConn) = Member("alice");
        var (bob, bobConn) = Member("bob");
        var (carol, carolConn) = Member("carol");
        CreateRoom(room, alice, aliceConn);
        Admit(room, alice, aliceConn, [alice], bob, bobConn, [aliceConn]);

        room.Tell(Join(carol, carolConn));
        ExpectFrame(carolConn, MessageType.Joined);
        ExpectFrame(aliceConn, MessageType.CommitRequest);

        var failover = ExpectFrame(bobConn, MessageType.CommitRequest, CommitTimeout * 10).CommitRequest;
        Assert.Equal(3ul, failover.NewEpoch);
        Assert.Equal("carol", TestMember.ClientIdOf(Assert.Single(failover.Adds)));
        Assert.Equal("bob", State(room).AskedCommitter);
    }

    [Fact]
    public void The_first_commit_for_an_epoch_wins_and_a_later_one_is_rejected()
    {
        var room = StartRoom();
        var (alice, aliceConn) = Member("alice");
        var (bob, bobConn) = Member("bob");
        var (carol, carolConn) = Member("carol");
        CreateRoom(room, alice, aliceConn);
        Admit(room, alice, aliceConn, [alice], bob, bobConn, [aliceConn]);
        room.Tell(Join(carol, carolConn));
        ExpectFrame(carolConn, MessageType.Joined);
        ExpectFrame(aliceConn, MessageType.CommitRequest);
        ExpectFrame(bobConn, MessageType.CommitRequest, CommitTimeout * 10);

        var roster = new[] { alice.Bundle, bob.Bundle, carol.Bundle };
        room.Tell(Submit(bob, bobConn, bob.Commit(Room, 3, roster, added: [carol.Bundle])));
        room.Tell(Submit(alice, aliceConn, alice.Commit(Room, 3, roster, added: [carol.Bundle])));

        var winner = ExpectFrame(bobConn, MessageType.Commit);
        Assert.Equal("bob", winner.SenderId);
        Assert.Equal(3ul, winner.Epoch);
        Assert.Equal("bob", ExpectFrame(carolConn, MessageType.Commit).SenderId);
        Assert.Equal("bob", ExpectFrame(aliceConn, MessageType.Commit).SenderId);
        var rejected = aliceConn.ExpectMsg<ConnectionActor.RoomError>();
        Assert.Equal(ErrorCode.CommitRejected, rejected.Code);
        Assert.Equal(3ul, rejected.Epoch);
        Assert.False(rejected.NotInRoom);
        Assert.Equal(3ul, State(room).Epoch);
    }

    [Fact]
    public void A_stale_commit_is_discarded_and_changes_nothing()
    {
        var room = StartRoom();
        var (alice, aliceConn) = Member("alice");
        var (bob, bobConn) = Member("bob");
        CreateRoom(room, alice, aliceConn);
        Admit(room, alice, aliceConn, [alice], bob, bobConn, [aliceConn]);

        room.Tell(Submit(bob, bobConn, bob.Commit(Room, 2, [alice.Bundle, bob.Bundle], rekey: true)));

        var rejected = bobConn.ExpectMsg<ConnectionActor.RoomError>();
        Assert.Equal(ErrorCode.CommitRejected, rejected.Code);
        Assert.Contains("already committed", rejected.Reason, StringComparison.Ordinal);
        aliceConn.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Assert.Equal(2ul, State(room).Epoch);
    }

    [Fact]
    public void Any_member_may_rekey_unasked()
    {
        var room = StartRoom();
        var (alice, aliceConn) = Member("alice");
        var (bob, bobConn) = Member("bob");
        CreateRoom(room, alice, aliceConn);
        Admit(room, alice, aliceConn, [alice], bob, bobConn, [aliceConn]);

        room.Tell(Submit(bob, bobConn, bob.Commit(Room, 3, [alice.Bundle, bob.Bundle], rekey: true)));

        Assert.Equal(3ul, ExpectFrame(aliceConn, MessageType.Commit).Epoch);
        Assert.Equal(3ul, ExpectFrame(bobConn, MessageType.Commit).Epoch);
    }

    [Fact]
    public void Ciphertext_fans_out_to_every_other_member_but_never_back_to_the_sender()
    {
        var room = StartRoom();
        var (alice, aliceConn) = Member("alice");
        var (bob, bobConn) = Member("bob");
        var (carol, carolConn) = Member("carol");
        CreateRoom(room, alice, aliceConn);
        Admit(room, alice, aliceConn, [alice], bob, bobConn, [aliceConn]);
        Admit(room, alice, aliceConn, [alice, bob], carol, carolConn, [aliceConn, bobConn]);
        var message = Frames.Application("bob", Room, epoch: 3, sequence: 0);

        room.Tell(new RoomActor.Publish(Room, "bob", 3, message.Bytes(), bobConn.Ref));

        Assert.Equal(message, ExpectFrame(aliceConn, MessageType.Application));
        Assert.Equal(message, ExpectFrame(carolConn, MessageType.Application));
        bobConn.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void The_fan_out_follows_every_change_of_the_roster_and_of_the_connections()
    {
        var room = StartRoom();
        var (alice, aliceConn) = Member("alice");
        var (bob, bobConn) = Member("bob");
        var (carol, carolConn) = Member("carol");
        var (_, bobSecondConn) = Member("bob");
        CreateRoom(room, alice, aliceConn);
        Admit(room, alice, aliceConn, [alice], bob, bobConn, [aliceConn]);
        ulong sequence = 0;
        void AlicePublishes(ulong epoch, params TestProbe[] expectedRecipients)
        {
            var message = Frames.Application("alice", Room, epoch, sequence++);
            room.Tell(new RoomActor.Publish(Room, "alice", epoch, message.Bytes(), aliceConn.Ref));
            foreach (var recipient in expectedRecipients)
            {
                Assert.Equal(message, ExpectFrame(recipient, MessageType.Application));
            }
        }

        AlicePublishes(2, bobConn);

        // Carol joins: not a recipient until a commit adds her, then in the next fan-out.
        room.Tell(Join(carol, carolConn));
        ExpectFrame(carolConn, MessageType.Joined);
        var request = ExpectFrame(aliceConn, MessageType.CommitRequest).CommitRequest;
        AlicePublishes(2, bobConn);
        room.Tell(Submit(alice, aliceConn, alice.Commit(Room, request.NewEpoch, [alice.Bundle, bob.Bundle, carol.Bundle], added: [carol.Bundle])));
        foreach (var connection in new[] { aliceConn, bobConn, carolConn })
        {
            ExpectFrame(connection, MessageType.Commit);
        }

        AlicePublishes(3, bobConn, carolConn);

        // Carol leaves: her connection gets nothing more, even before the removal is committed.
        room.Tell(new RoomActor.Leave(Room, "carol", carolConn.Ref));
        ExpectFrame(aliceConn, MessageType.CommitRequest);
        AlicePublishes(3, bobConn);
        carolConn.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        // Bob's connection drops, then he comes back on a new one before his removal is committed.
        Sys.Stop(bobConn.Ref);
        AwaitAssert(() => Assert.DoesNotContain("bob", State(room).Connected));
        AlicePublishes(3);
        room.Tell(Join(bob, bobSecondConn));
        ExpectFrame(bobSecondConn, MessageType.Joined);
        AlicePublishes(3, bobSecondConn);
    }

    [Fact]
    public void Ciphertext_of_the_previous_epoch_is_still_relayed_but_older_is_refused()
    {
        var room = StartRoom();
        var (alice, aliceConn) = Member("alice");
        var (bob, bobConn) = Member("bob");
        CreateRoom(room, alice, aliceConn);
        Admit(room, alice, aliceConn, [alice], bob, bobConn, [aliceConn]);
        room.Tell(Submit(bob, bobConn, bob.Commit(Room, 3, [alice.Bundle, bob.Bundle], rekey: true)));
        ExpectFrame(aliceConn, MessageType.Commit);
        ExpectFrame(bobConn, MessageType.Commit);

        room.Tell(new RoomActor.Publish(Room, "bob", 2, Frames.Application("bob", Room, 2, 0).Bytes(), bobConn.Ref));
        room.Tell(new RoomActor.Publish(Room, "bob", 1, Frames.Application("bob", Room, 1, 0).Bytes(), bobConn.Ref));

        Assert.Equal(2ul, ExpectFrame(aliceConn, MessageType.Application).Epoch);
        Assert.Equal(ErrorCode.StaleEpoch, bobConn.ExpectMsg<ConnectionActor.RoomError>().Code);
        aliceConn.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void A_joiner_not_yet_admitted_cannot_send_ciphertext()
    {
        var room = StartRoom();
        var (alice, aliceConn) = Member("alice");
        var (bob, bobConn) = Member("bob");
        CreateRoom(room, alice, aliceConn);
        room.Tell(Join(bob, bobConn));
        ExpectFrame(bobConn, MessageType.Joined);
        ExpectFrame(aliceConn, MessageType.CommitRequest);

        room.Tell(new RoomActor.Publish(Room, "bob", 1, Frames.Application("bob", Room, 1, 0).Bytes(), bobConn.Ref));

        Assert.Equal(ErrorCode.NotAMember, bobConn.ExpectMsg<ConnectionActor.RoomError>().Code);
        aliceConn.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void A_leave_asks_a_remaining_member_to_commit_the_removal()
    {
        var room = StartRoom();
        var (alice, aliceConn) = Member("alice");
        var (bob, bobConn) = Member("bob");
        CreateRoom(room, alice, aliceConn);
        Admit(room, alice, aliceConn, [alice], bob, bobConn, [aliceConn]);

        room.Tell(new RoomActor.Leave(Room, "bob", bobConn.Ref));

        var request = ExpectFrame(aliceConn, MessageType.CommitRequest).CommitRequest;
        Assert.Equal(["bob"], request.Removes);
        room.Tell(Submit(alice, aliceConn, alice.Commit(Room, 3, [alice.Bundle], removed: ["bob"])));
        ExpectFrame(aliceConn, MessageType.Commit);
        bobConn.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // gone: it gets nothing more from this room
        Assert.Equal(["alice"], State(room).Roster);
    }

    [Fact]
    public void A_joiner_that_leaves_before_the_commit_is_admitted_and_then_removed_again()
    {
        var room = StartRoom();
        var (alice, aliceConn) = Member("alice");
        var (bob, bobConn) = Member("bob");
        CreateRoom(room, alice, aliceConn);
        room.Tell(Join(bob, bobConn));
        ExpectFrame(bobConn, MessageType.Joined);
        ExpectFrame(aliceConn, MessageType.CommitRequest);
        room.Tell(new RoomActor.Leave(Room, "bob", bobConn.Ref));

        room.Tell(Submit(alice, aliceConn, alice.Commit(Room, 2, [alice.Bundle, bob.Bundle], added: [bob.Bundle])));

        Assert.Equal(2ul, ExpectFrame(aliceConn, MessageType.Commit).Epoch);
        var request = ExpectFrame(aliceConn, MessageType.CommitRequest).CommitRequest;
        Assert.Equal(3ul, request.NewEpoch);
        Assert.Equal(["bob"], request.Removes);
    }

    [Fact]
    public void A_committer_refreshing_its_key_is_accepted_and_its_new_bundle_kept()
    {
        var room = StartRoom();
        var (alice, aliceConn) = Member("alice");
        var (bob, bobConn) = Member("bob");
        var (carol, carolConn) = Member("carol");
        CreateRoom(room, alice, aliceConn);
        Admit(room, alice, aliceConn, [alice], bob, bobConn, [aliceConn]);
        var refreshed = bob.RefreshedBundle(keyId: 2);
        room.Tell(Submit(bob, bobConn, bob.Commit(Room, 3, [alice.Bundle, refreshed], rekey: true)));
        ExpectFrame(aliceConn, MessageType.Commit);
        ExpectFrame(bobConn, MessageType.Commit);

        room.Tell(Join(carol, carolConn));
        ExpectFrame(carolConn, MessageType.Joined);
        ExpectFrame(aliceConn, MessageType.CommitRequest);
        room.Tell(Submit(alice, aliceConn, alice.Commit(Room, 4, [alice.Bundle, refreshed, carol.Bundle], added: [carol.Bundle])));

        Assert.Equal(4ul, ExpectFrame(bobConn, MessageType.Commit).Epoch);
    }

    [Fact]
    public void A_disconnect_counts_as_a_leave()
    {
        var room = StartRoom();
        var (alice, aliceConn) = Member("alice");
        var (bob, bobConn) = Member("bob");
        CreateRoom(room, alice, aliceConn);
        Admit(room, alice, aliceConn, [alice], bob, bobConn, [aliceConn]);

        Sys.Stop(bobConn.Ref);

        Assert.Equal(["bob"], ExpectFrame(aliceConn, MessageType.CommitRequest).CommitRequest.Removes);
        Assert.Equal(["alice"], State(room).Connected);
    }

    [Fact]
    public void When_the_asked_committer_disconnects_the_next_member_is_asked_at_once()
    {
        var room = StartRoom(commitTimeout: TimeSpan.FromMinutes(5));
        var (alice, aliceConn) = Member("alice");
        var (bob, bobConn) = Member("bob");
        var (carol, carolConn) = Member("carol");
        CreateRoom(room, alice, aliceConn);
        Admit(room, alice, aliceConn, [alice], bob, bobConn, [aliceConn]);
        room.Tell(Join(carol, carolConn));
        ExpectFrame(carolConn, MessageType.Joined);
        ExpectFrame(aliceConn, MessageType.CommitRequest);

        Sys.Stop(aliceConn.Ref);

        var request = ExpectFrame(bobConn, MessageType.CommitRequest).CommitRequest;
        Assert.Equal(["alice"], request.Removes);
        Assert.Equal("carol", TestMember.ClientIdOf(Assert.Single(request.Adds)));
    }

    [Fact]
    public void When_everyone_has_left_the_next_joiner_recreates_the_room_at_a_new_epoch()
    {
        var room = StartRoom();
        var (alice, aliceConn) = Member("alice");
        var (bob, bobConn) = Member("bob");
        CreateRoom(room, alice, aliceConn);
        room.Tell(new RoomActor.Leave(Room, "alice", aliceConn.Ref));

        room.Tell(Join(bob, bobConn));

        Assert.Equal(1ul, ExpectFrame(bobConn, MessageType.Joined).Joined.CurrentEpoch);
        var request = ExpectFrame(bobConn, MessageType.CommitRequest).CommitRequest;
        Assert.Equal(2ul, request.NewEpoch);
        room.Tell(Submit(bob, bobConn, bob.CreateRoom(Room, epoch: 2)));
        Assert.Equal(2ul, ExpectFrame(bobConn, MessageType.Commit).Epoch);
        Assert.Equal(["bob"], State(room).Roster);
    }

    [Fact]
    public void A_member_reconnecting_with_a_new_key_is_removed_and_re_added_by_one_commit()
    {
        var room = StartRoom();
        var (alice, aliceConn) = Member("alice");
        var (bob, bobConn) = Member("bob");
        CreateRoom(room, alice, aliceConn);
        Admit(room, alice, aliceConn, [alice], bob, bobConn, [aliceConn]);
        var (newBob, newBobConn) = Member("bob");

        room.Tell(Join(newBob, newBobConn));

        ExpectFrame(newBobConn, MessageType.Joined);
        var request = ExpectFrame(aliceConn, MessageType.CommitRequest).CommitRequest;
        Assert.Equal(["bob"], request.Removes);
        Assert.Equal(newBob.Bundle, Assert.Single(request.Adds));
        room.Tell(Submit(alice, aliceConn, alice.Commit(Room, 3, [alice.Bundle, newBob.Bundle], added: [newBob.Bundle], removed: ["bob"])));
        ExpectFrame(aliceConn, MessageType.Commit);
        ExpectFrame(newBobConn, MessageType.Commit);
        bobConn.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // the old connection is out of the room
        var state = State(room);
        Assert.Equal(["alice", "bob"], state.Roster);
        Assert.Empty(state.PendingAdds);
        Assert.Empty(state.PendingRemoves);
    }

    [Fact]
    public void A_lone_member_reconnecting_recreates_the_room()
    {
        var room = StartRoom();
        var (alice, aliceConn) = Member("alice");
        CreateRoom(room, alice, aliceConn);
        var (newAlice, newAliceConn) = Member("alice");

        room.Tell(Join(newAlice, newAliceConn));

        Assert.Equal(1ul, ExpectFrame(newAliceConn, MessageType.Joined).Joined.CurrentEpoch);
        var request = ExpectFrame(newAliceConn, MessageType.CommitRequest).CommitRequest;
        Assert.Equal(2ul, request.NewEpoch);
        Assert.Equal(newAlice.Bundle, Assert.Single(request.Adds));
    }

    [Fact]
    public void A_join_with_a_bundle_that_does_not_verify_is_refused()
    {
        var room = StartRoom();
        using var alice = new TestMember("alice");
        var aliceConn = CreateTestProbe();

        room.Tell(new RoomActor.Join(Room, "mallory", alice.Bundle.Content, alice.Bundle.Signature, CipherSuite.Unspecified, aliceConn.Ref));

        var error = aliceConn.ExpectMsg<ConnectionActor.RoomError>();
        Assert.Equal(ErrorCode.BadBundle, error.Code);
        Assert.True(error.NotInRoom);
    }

    [Fact]
    public void A_full_room_refuses_the_next_joiner()
    {
        var room = StartRoom(maxMembers: 1);
        var (alice, aliceConn) = Member("alice");
        var (bob, bobConn) = Member("bob");
        CreateRoom(room, alice, aliceConn);

        room.Tell(Join(bob, bobConn));

        var error = bobConn.ExpectMsg<ConnectionActor.RoomError>();
        Assert.Equal(ErrorCode.RoomFull, error.Code);
        Assert.True(error.NotInRoom);
    }

    [Fact]
    public void Commits_from_a_connection_that_is_not_in_the_room_are_refused()
    {
        var room = StartRoom();
        var (alice, aliceConn) = Member("alice");
        var (mallory, malloryConn) = Member("mallory");
        CreateRoom(room, alice, aliceConn);

        room.Tell(Submit(mallory, malloryConn, mallory.CreateRoom(Room, epoch: 2)));

        Assert.Equal(ErrorCode.NotAMember, malloryConn.ExpectMsg<ConnectionActor.RoomError>().Code);
    }

    protected override void Dispose(bool disposing)
    {
        foreach (var member in _members)
        {
            member.Dispose();
        }

        base.Dispose(disposing);
    }

    private IActorRef StartRoom(int maxMembers = 10, TimeSpan? commitTimeout = null) =>
        Sys.ActorOf(RoomActor.Props(Room, 0, new RoomSettings(maxMembers, commitTimeout ?? CommitTimeout, TimeSpan.FromMinutes(5), TimeProvider.System)));

    private (TestMember Member, TestProbe Connection) Member(string id)
    {
        var member = new TestMember(id);
        _members.Add(member);
        return (member, CreateTestProbe()); // a client id may have several connections over time
    }

    private static RoomActor.Join Join(TestMember member, TestProbe connection) =>
        new(Room, member.Id, member.Bundle.Content, member.Bundle.Signature, CipherSuite.Aes256GcmX25519Ed25519Sha256, connection.Ref);

    private static RoomActor.SubmitCommit Submit(TestMember member, TestProbe connection, SecureChat.Core.Wire.SignedCommit commit) =>
        new(Room, member.Id, commit.Content, commit.Signature, connection.Ref);

    private static void CreateRoom(IActorRef room, TestMember creator, TestProbe connection)
    {
        room.Tell(Join(creator, connection));
        ExpectFrame(connection, MessageType.Joined);
        var request = ExpectFrame(connection, MessageType.CommitRequest).CommitRequest;
        room.Tell(Submit(creator, connection, creator.CreateRoom(Room, request.NewEpoch)));
        ExpectFrame(connection, MessageType.Commit);
    }

    /// <summary>The joiner joins, the committer is asked, commits, and every member and the joiner get the commit.</summary>
    private static void Admit(IActorRef room, TestMember committer, TestProbe committerConn, TestMember[] roster, TestMember joiner, TestProbe joinerConn, TestProbe[] memberConns)
    {
        room.Tell(Join(joiner, joinerConn));
        ExpectFrame(joinerConn, MessageType.Joined);
        var request = ExpectFrame(committerConn, MessageType.CommitRequest).CommitRequest;
        var newRoster = roster.Select(m => m.Bundle).Append(joiner.Bundle);
        room.Tell(Submit(committer, committerConn, committer.Commit(Room, request.NewEpoch, newRoster, added: [joiner.Bundle])));
        foreach (var conn in memberConns.Append(joinerConn))
        {
            Assert.Equal(request.NewEpoch, ExpectFrame(conn, MessageType.Commit).Epoch);
        }
    }

    private static Envelope ExpectFrame(TestProbe connection, MessageType type, TimeSpan? timeout = null)
    {
        var frame = connection.ExpectMsg<ConnectionActor.RoomFrame>(timeout ?? TimeSpan.FromSeconds(3));
        Assert.Equal(Room, frame.RoomId);
        var envelope = Frames.Parse(frame.Envelope);
        Assert.Equal(type, envelope.Type);
        return envelope;
    }

    private RoomActor.State State(IActorRef room)
    {
        room.Tell(new RoomActor.GetState(Room), TestActor);
        return ExpectMsg<RoomActor.State>();
    }
}
