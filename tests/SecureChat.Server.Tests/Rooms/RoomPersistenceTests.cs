using Akka.Actor;
using Akka.Persistence;
using Akka.TestKit;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Relay;
using SecureChat.Server.Messaging;
using SecureChat.Server.Rooms;
using SecureChat.Testing.RawClients;

namespace SecureChat.Server.Tests.Rooms;

/// <summary>
/// A room's journal: a new incarnation of the room (after a stop, a passivation, a restart) recovers exactly what the
/// last one stored, tells its returning members, never reuses an epoch; snapshots replace the events before them; and
/// a journal that fails or refuses a write leaves nothing of the change applied, with every member told.
/// </summary>
public sealed class RoomPersistenceTests : RoomTestKit
{
    private readonly (TestMember Member, TestProbe Connection) _alice;
    private readonly (TestMember Member, TestProbe Connection) _bob;

    public RoomPersistenceTests()
    {
        _alice = Member("alice");
        _bob = Member("bob");
    }

    [Fact]
    public void A_room_started_again_recovers_its_epoch_suite_roster_and_transcript_hash_exactly()
    {
        var room = StartRoom();
        AliceAndBobInTheRoom(room, _alice, _bob);
        var before = Status(room);
        Assert.False(before.Snapshot.Recovered);

        var again = Restart(room);

        var after = Status(again);
        AssertSameDurableState(before.Durable, after.Durable);
        Assert.True(after.Snapshot.Recovered);
        Assert.Empty(after.Snapshot.Connected);
        Assert.Equal(2ul, after.Durable.Epoch);
        Assert.Equal(32, after.Durable.TranscriptHash.Length);
        Assert.NotEqual(new byte[32], after.Durable.TranscriptHash.ToByteArray());
    }

    [Fact]
    public void Returning_members_of_a_recovered_room_are_told_once_and_its_next_commit_is_a_new_epoch()
    {
        var room = Restart(RoomWithAliceAndBob());
        var history = Status(room).Durable.TranscriptHash;
        var aliceAgain = Member("alice");
        var bobAgain = Member("bob");
        var carol = Member("carol");

        // Nobody of the stored roster is connected: the first joiner admits itself by an external commit of epoch 3.
        room.Tell(Join(carol.Member, carol.Connection));
        var carolJoined = ExpectFrame(carol.Connection, MessageType.Joined).Joined;
        Assert.Equal((JoinMode.External, 2ul, false), (carolJoined.Mode, carolJoined.CurrentEpoch, carolJoined.Recovered));
        room.Tell(Join(aliceAgain.Member, aliceAgain.Connection));
        var joined = ExpectFrame(aliceAgain.Connection, MessageType.Joined).Joined;
        Assert.Equal((2ul, 2u, true), (joined.CurrentEpoch, joined.MemberCount, joined.Recovered));
        room.Tell(Join(bobAgain.Member, bobAgain.Connection));
        Assert.True(ExpectFrame(bobAgain.Connection, MessageType.Joined).Joined.Recovered);

        room.Tell(Submit(carol.Member, carol.Connection, carol.Member.Commit(Room, 3, [_alice.Member.Bundle, _bob.Member.Bundle, carol.Member.Bundle],
            added: [carol.Member.Bundle], previous: history, kind: CommitKind.External)));
        Assert.Equal(3ul, ExpectFrame(carol.Connection, MessageType.Commit).Epoch);

        var aliceThird = Member("alice");
        room.Tell(Join(aliceThird.Member, aliceThird.Connection));
        Assert.False(ExpectFrame(aliceThird.Connection, MessageType.Joined).Joined.Recovered); // she was told already
    }

    [Fact]
    public void A_member_away_when_the_room_stops_resumes_in_its_next_incarnation_with_the_commits_it_missed_from_the_journal()
    {
        var room = StartRoom(snapshotEvery: 3);
        var transcript = AliceAndBobInTheRoom(room, _alice, _bob);
        Sys.Stop(_bob.Connection.Ref);
        AwaitAssert(() => Assert.Equal(["alice"], Status(room).Snapshot.Connected));
        var rekey = _alice.Member.Commit(Room, 3, [_alice.Member.Bundle, _bob.Member.Bundle], rekey: true, previous: transcript);
        room.Tell(Submit(_alice.Member, _alice.Connection, rekey));
        Assert.Equal(3ul, ExpectFrame(_alice.Connection, MessageType.Commit).Epoch);
        var before = Status(room).Durable;
        Assert.Equal([1ul, 2ul, 3ul], before.CommitLog.Select(c => c.Epoch));
        Assert.Equal(["bob"], before.Away.Select(a => a.ClientId));

        var again = Restart(room);
        AssertSameDurableState(before, Status(again).Durable);
        var bobBack = CreateTestProbe();
        again.Tell(Join(_bob.Member, bobBack) with { KnownEpoch = 2 });

        Assert.Equal(rekey, ExpectFrame(bobBack, MessageType.Commit).Commit);
        var joined = ExpectFrame(bobBack, MessageType.Joined).Joined;
        Assert.Equal((JoinMode.Resumed, 3ul, true), (joined.Mode, joined.CurrentEpoch, joined.Recovered));
        Assert.Equal(3ul, Status(again).Durable.Epoch); // no commit
    }

    [Fact]
    public void A_snapshot_every_n_events_replaces_the_events_before_it_and_recovery_is_still_exact()
    {
        var room = StartRoom(snapshotEvery: 2);
        var transcript = AliceAndBobInTheRoom(room, _alice, _bob); // events 1 and 2: a snapshot at 2
        room.Tell(Submit(_alice.Member, _alice.Connection, _alice.Member.Commit(Room, 3, [_alice.Member.Bundle, _bob.Member.Bundle], rekey: true, previous: transcript)));
        ExpectFrame(_bob.Connection, MessageType.Commit);
        var before = Status(room).Durable;

        var snapshot = AwaitSnapshot(RoomActor.PersistenceIdOf(Room));
        Assert.Equal(2, snapshot.Metadata.SequenceNr);
        Assert.Equal(2ul, ((RoomDurableState)snapshot.Snapshot).Epoch);
        AwaitAssert(() => Assert.Equal([3L], JournaledSequenceNumbers(RoomActor.PersistenceIdOf(Room))), TimeSpan.FromSeconds(5));

        AssertSameDurableState(before, Status(Restart(room)).Durable);
    }

    [Fact]
    public async Task A_journal_that_fails_a_write_leaves_nothing_of_the_change_applied_and_tells_every_member()
    {
        await RefusedCommitLeavesTheRoomAsItWas(() => Journal.OnWrite.Fail());
    }

    [Fact]
    public async Task A_journal_that_refuses_a_write_leaves_nothing_of_the_change_applied_and_tells_every_member()
    {
        await RefusedCommitLeavesTheRoomAsItWas(() => Journal.OnWrite.Reject());
    }

    /// <summary>
    /// Carol joins a room of alice and bob; alice's commit admitting her reaches a journal that does not take it. No
    /// one sees the commit; everyone is told the room could not keep it and they are no longer in it; the room stops,
    /// and its next incarnation holds epoch 2 with alice and bob, as the journal does.
    /// </summary>
    private async Task RefusedCommitLeavesTheRoomAsItWas(Func<Task> breakTheJournal)
    {
        var room = StartRoom();
        var transcript = AliceAndBobInTheRoom(room, _alice, _bob);
        var before = Status(room).Durable;
        var carol = Member("carol");
        room.Tell(Join(carol.Member, carol.Connection));
        ExpectFrame(carol.Connection, MessageType.Joined);
        var request = ExpectFrame(_alice.Connection, MessageType.CommitRequest).CommitRequest;
        Watch(room);

        await breakTheJournal();
        room.Tell(Submit(_alice.Member, _alice.Connection,
            _alice.Member.Commit(Room, request.NewEpoch, [_alice.Member.Bundle, _bob.Member.Bundle, carol.Member.Bundle], added: [carol.Member.Bundle],
                previous: transcript)));

        foreach (var (_, connection) in new[] { _alice, _bob, carol })
        {
            var error = connection.ExpectMsg<RoomError>();
            Assert.Equal((Room, ErrorCode.Internal, true), (error.RoomId, error.Code, error.NotInRoom));
            Assert.Contains("could not store", error.Reason, StringComparison.Ordinal);
        }

        ExpectTerminated(room);
        foreach (var (_, connection) in new[] { _alice, _bob, carol })
        {
            connection.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // no COMMIT went out
        }

        await Journal.OnWrite.Pass();
        var again = Status(StartRoom());
        AssertSameDurableState(before, again.Durable);
        Assert.Equal(["alice", "bob"], again.Snapshot.Roster);
    }

    private IActorRef RoomWithAliceAndBob()
    {
        var room = StartRoom();
        AliceAndBobInTheRoom(room, _alice, _bob);
        return room;
    }

    private SelectedSnapshot AwaitSnapshot(string persistenceId)
    {
        var store = Persistence.Instance.Apply(Sys).SnapshotStoreFor(null);
        SelectedSnapshot? found = null;
        AwaitAssert(() =>
        {
            store.Tell(new LoadSnapshot(persistenceId, SnapshotSelectionCriteria.Latest, long.MaxValue), TestActor);
            found = ExpectMsg<LoadSnapshotResult>().Snapshot;
            Assert.NotNull(found);
        }, TimeSpan.FromSeconds(5));
        return found!;
    }

    private List<long> JournaledSequenceNumbers(string persistenceId) => [.. Journaled(persistenceId).Select(p => p.SequenceNr)];

    private static void AssertSameDurableState(RoomDurableState expected, RoomDurableState actual)
    {
        Assert.Equal(expected.Epoch, actual.Epoch);
        Assert.Equal(expected.Suite, actual.Suite);
        Assert.Equal(expected.TranscriptHash, actual.TranscriptHash);
        Assert.Equal(expected.Roster.Select(m => m.Bundle), actual.Roster.Select(m => m.Bundle));
        Assert.Equal(expected.CommitLog, actual.CommitLog);
        Assert.Equal(expected.Away, actual.Away);
    }
}
