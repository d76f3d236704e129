using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Protocol.Relay;
using SecureChat.Testing.RawClients;

namespace SecureChat.Protocol.Tests.Relay;

/// <summary>
/// The room's rules of PROTOCOL.md §4, on <see cref="RoomState{TConnection}"/> directly (connections are strings):
/// each command's decision is checked for the frames, refusals, timers and events it holds.
/// </summary>
public sealed partial class RoomStateTests : IDisposable
{
    private const string Room = "lobby";
    private const CipherSuite Aes = CipherSuite.Aes256GcmX25519Ed25519Sha256;
    private static readonly TimeSpan CommitTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(30);
    private readonly ManualClock _clock = new(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    private readonly List<TestMember> _members = [];
    private readonly TestMember _alice;
    private readonly TestMember _bob;
    private readonly TestMember _carol;
    private RoomState<string> _room;
    private RoomDecision<string> _last = null!;
    private readonly List<RoomEvent> _events = [];

    public RoomStateTests()
    {
        _room = NewRoom();
        _alice = Member("alice");
        _bob = Member("bob");
        _carol = Member("carol");
    }

    // ------------------------------------------------------------------ §4.2 join

    [Fact]
    public void The_first_joiner_of_a_new_room_is_told_epoch_0_and_asked_to_create_it_in_its_suite()
    {
        Join(_alice, "alice-1", CipherSuite.Chacha20Poly1305X25519Ed25519Sha256);

        var joined = Sent("alice-1", MessageType.Joined);
        Assert.Equal((0ul, 0u), (joined.Joined.CurrentEpoch, joined.Joined.MemberCount));
        var frame = Sent("alice-1", MessageType.CommitRequest);
        Assert.Equal(1ul, frame.Epoch); // the envelope names the epoch asked for
        Assert.Equal(1ul, frame.CommitRequest.NewEpoch);
        Assert.Equal(_alice.Bundle, Assert.Single(frame.CommitRequest.Adds).Bundle);
        Assert.Empty(frame.CommitRequest.Removes);
        Assert.Equal(CipherSuite.Chacha20Poly1305X25519Ed25519Sha256, frame.CommitRequest.Suite);
        Assert.Equal((uint)CommitTimeout.TotalMilliseconds, frame.CommitRequest.DeadlineMs);
        Assert.Contains(new WatchConnection<string>("alice-1"), _last.Effects);
        Assert.Contains(new StartCommitDeadline(new CommitDeadlineDue(1, "alice"), CommitTimeout), _last.Effects);
    }

    [Fact]
    public void A_joiner_that_names_no_suite_creates_the_room_in_the_relays_preference()
    {
        Join(_alice, "alice-1", CipherSuite.Unspecified);

        Assert.Equal(CipherSuites.Preferred, RequestTo("alice-1").Suite);
    }

    [Fact]
    public void A_join_with_a_bundle_that_does_not_verify_is_refused()
    {
        Did(_room.Join("mallory", _alice.Bundle, Aes, "mallory-1"));

        Assert.Contains("another client", Refused("mallory-1", ErrorCode.BadBundle, notInRoom: true).Reason, StringComparison.Ordinal);
        Assert.Empty(_room.Snapshot().Connected);
    }

    [Fact]
    public void A_second_join_from_the_same_connection_is_refused()
    {
        Join(_alice, "alice-1");

        Join(_alice, "alice-1");

        Refused("alice-1", ErrorCode.UnexpectedMessage, notInRoom: false);
    }

    [Fact]
    public void A_full_room_refuses_the_next_joiner()
    {
        _room = NewRoom(maxMembers: 1);
        CreateRoom(_alice, "alice-1");

        Join(_bob, "bob-1");

        Refused("bob-1", ErrorCode.RoomFull, notInRoom: true);
    }

    [Fact]
    public void A_joiner_is_admitted_by_a_commit_of_the_longest_present_member_and_everyone_gets_it()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");

        Join(_carol, "carol-1");

        var joined = Sent("carol-1", MessageType.Joined).Joined;
        Assert.Equal((2ul, 2u), (joined.CurrentEpoch, joined.MemberCount));
        Assert.Equal(["alice-1"], Receivers(MessageType.CommitRequest)); // only the chosen committer is asked
        Assert.Equal(_carol.Bundle, Assert.Single(RequestTo("alice-1").Adds).Bundle);
        Submit(_alice, "alice-1", Answer(_alice, RequestTo("alice-1")));
        Assert.Equal(["alice-1", "bob-1", "carol-1"], Receivers(MessageType.Commit).Order(StringComparer.Ordinal));
        Assert.Equal(["alice", "bob", "carol"], _room.Snapshot().Roster);
    }

    [Fact]
    public void When_the_asked_member_does_not_commit_in_time_the_next_member_is_asked()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        Join(_carol, "carol-1");

        Did(_room.CommitDeadline(new CommitDeadlineDue(3, "bob"))); // not the open request's: ignored
        Assert.Empty(_last.Effects);
        Did(_room.CommitDeadline(new CommitDeadlineDue(3, "alice")));

        var failover = RequestTo("bob-1");
        Assert.Equal(3ul, failover.NewEpoch);
        Assert.Equal(_carol.Bundle, Assert.Single(failover.Adds).Bundle);
        Assert.Equal("bob", _room.Snapshot().AskedCommitter);
    }

    [Fact]
    public void Failover_asks_every_other_candidate_before_it_asks_one_that_failed_again_after_a_backoff()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        Admit(_alice, "alice-1", _carol, "carol-1");
        Join(Member("dave"), "dave-1");

        var asked = new List<string> { AskedCommitter() };
        Did(_room.CommitDeadline(new CommitDeadlineDue(4, "alice")));
        asked.Add(AskedCommitter());
        Did(_room.CommitDeadline(new CommitDeadlineDue(4, "bob")));
        asked.Add(AskedCommitter());
        Did(_room.CommitDeadline(new CommitDeadlineDue(4, "carol")));

        Assert.Equal(["alice", "bob", "carol"], asked);
        Assert.Empty(_last.Effects.OfType<StartCommitDeadline>()); // the round is over: nobody is asked at once
        Assert.Contains(new StartCommitRetry(CommitTimeout), _last.Effects);
        Did(_room.CommitRetryDue());
        Assert.Equal("alice", AskedCommitter()); // each round starts again
        Assert.Equal(4ul, RequestTo("alice-1").NewEpoch);
    }

    [Fact]
    public void A_member_that_cannot_make_the_commit_says_so_and_the_next_candidate_is_asked_at_once()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        Join(_carol, "carol-1");
        Assert.Equal("alice", AskedCommitter());

        Did(_room.DeclineCommit("alice", 3, "alice-1"));

        Assert.Contains(CancelCommitDeadline.Instance, _last.Effects);
        Assert.Equal("bob", AskedCommitter());
        Assert.Equal(_carol.Bundle, Assert.Single(RequestTo("bob-1").Adds).Bundle);
        Assert.Contains(_last.Effects.OfType<RoomNote>(), n => n.Text.Contains("alice cannot make the commit for epoch 3", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("bob", 3ul, "bob-1")]     // not the asked member
    [InlineData("alice", 4ul, "alice-1")] // another epoch than the open request's
    [InlineData("alice", 3ul, "alice-2")] // not the asked member's connection
    public void A_decline_that_is_not_the_open_requests_changes_nothing(string clientId, ulong epoch, string connection)
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        Join(_carol, "carol-1");

        Did(_room.DeclineCommit(clientId, epoch, connection));

        Assert.Empty(_last.Effects);
        Assert.Equal("alice", _room.Snapshot().AskedCommitter);
    }

    [Fact]
    public void A_joiner_no_candidate_can_commit_for_is_told_NOT_ADMITTED_after_the_last_round_and_nobody_is_asked_again()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        Join(_carol, "carol-1");

        var backoffs = new List<TimeSpan>();
        for (var round = 1; round <= RoomState<string>.MaxCommitRounds; round++)
        {
            Did(_room.DeclineCommit(AskedCommitter(), 3, AskedCommitter() + "-1"));
            Did(_room.DeclineCommit(AskedCommitter(), 3, AskedCommitter() + "-1"));
            if (round < RoomState<string>.MaxCommitRounds)
            {
                backoffs.Add(Assert.Single(_last.Effects.OfType<StartCommitRetry>()).Delay);
                Did(_room.CommitRetryDue());
            }
        }

        Assert.Equal([CommitTimeout, CommitTimeout * 2], backoffs); // doubled each round
        var refusal = Refused("carol-1", ErrorCode.NotAdmitted, notInRoom: true);
        Assert.Contains("no member could make the commit that admits you (2 asked, 3 times)", refusal.Reason, StringComparison.Ordinal);
        Assert.Contains(new UnwatchConnection<string>("carol-1"), _last.Effects);
        Assert.Empty(_last.Effects.OfType<StartCommitDeadline>());
        Assert.Empty(_last.Effects.OfType<StartCommitRetry>());
        var state = _room.Snapshot();
        Assert.Empty(state.PendingAdds);
        Assert.Null(state.AskedCommitter);
        Assert.Equal(["alice", "bob"], state.Connected.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Failures_of_a_change_that_went_away_do_not_hold_up_the_next_one()
    {
        CreateRoom(_alice, "alice-1");
        Join(_bob, "bob-1");
        Did(_room.DeclineCommit("alice", 2, "alice-1"));
        Did(_room.CommitRetryDue());
        Leave(_bob, "bob-1"); // while alice is asked again, the joiner goes: nothing is left to commit
        Did(_room.DeclineCommit("alice", 2, "alice-1"));

        Join(_carol, "carol-1");

        Assert.Equal("alice", AskedCommitter()); // at once: no round, no backoff left over from bob's
    }

    [Fact]
    public void A_commit_that_changes_the_roster_between_rounds_starts_the_count_again()
    {
        CreateRoom(_alice, "alice-1");
        Join(_bob, "bob-1");
        Did(_room.DeclineCommit("alice", 2, "alice-1"));
        Assert.Contains(new StartCommitRetry(CommitTimeout), _last.Effects);

        Submit(_alice, "alice-1", Answer(_alice, new CommitRequest { NewEpoch = 2, Adds = { new Add { Bundle = _bob.Bundle } } })); // she could after all, unasked
        Assert.Contains(CancelCommitRetry.Instance, _last.Effects);
        Join(_carol, "carol-1");

        Assert.Equal("alice", AskedCommitter()); // asked at once, no backoff left over
    }

    [Fact]
    public void A_member_that_failed_is_not_asked_first_in_later_epochs_until_a_commit_of_its_own_is_accepted()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        Join(_carol, "carol-1");
        Did(_room.CommitDeadline(new CommitDeadlineDue(3, "alice")));
        Submit(_bob, "bob-1", Answer(_bob, RequestTo("bob-1")));

        Join(Member("dave"), "dave-1");
        Assert.Equal("bob", AskedCommitter()); // alice is still the longest present, but she did not answer last time
        Submit(_bob, "bob-1", Answer(_bob, RequestTo("bob-1")));
        Submit(_alice, "alice-1", _alice.Commit(Room, 5, Bundles(), rekey: true, previous: _room.TranscriptHash));
        Join(Member("erin"), "erin-1");

        Assert.Equal("alice", AskedCommitter());
    }

    [Fact]
    public void A_member_admitted_again_after_rejoining_is_a_fresh_candidate()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        Admit(_alice, "alice-1", _carol, "carol-1");
        var dave = Member("dave");
        Join(dave, "dave-1");
        Did(_room.CommitDeadline(new CommitDeadlineDue(4, "alice")));
        Did(_room.CommitDeadline(new CommitDeadlineDue(4, "bob")));
        Submit(_carol, "carol-1", Answer(_carol, RequestTo("carol-1"))); // alice and bob have failed once each
        Join(Member("bob"), "bob-2");
        Submit(_carol, "carol-1", Answer(_carol, RequestTo("carol-1"))); // bob is back, with a new key

        Join(Member("erin"), "erin-1");
        Assert.Equal("carol", AskedCommitter());
        Did(_room.CommitDeadline(new CommitDeadlineDue(6, "carol")));
        Assert.Equal("dave", AskedCommitter());
        Did(_room.CommitDeadline(new CommitDeadlineDue(6, "dave")));

        Assert.Equal("bob", AskedCommitter()); // no failure of his counts from before he came back
    }

    [Fact]
    public void A_joiner_that_let_its_creation_deadline_pass_is_a_fresh_candidate_once_admitted()
    {
        Join(_alice, "alice-1");
        Join(_bob, "bob-1");
        Did(_room.CommitDeadline(new CommitDeadlineDue(1, "alice")));
        Submit(_bob, "bob-1", Answer(_bob, RequestTo("bob-1")));
        Submit(_bob, "bob-1", Answer(_bob, RequestTo("bob-1")));

        Join(_carol, "carol-1");

        Assert.Equal("alice", AskedCommitter()); // the longest present, with no failure since she was admitted
    }

    [Fact]
    public void A_lone_candidate_that_lets_its_deadline_pass_is_asked_again_after_a_growing_backoff_and_then_the_joiner_is_told()
    {
        CreateRoom(_alice, "alice-1");
        Join(_bob, "bob-1");

        Did(_room.CommitDeadline(new CommitDeadlineDue(2, "alice")));
        Assert.Contains(new StartCommitRetry(CommitTimeout), _last.Effects);
        Did(_room.CommitRetryDue());
        Assert.Equal(2ul, RequestTo("alice-1").NewEpoch); // nobody else can commit
        Did(_room.CommitDeadline(new CommitDeadlineDue(2, "alice")));
        Assert.Contains(new StartCommitRetry(CommitTimeout * 2), _last.Effects);
        Did(_room.CommitRetryDue());
        Assert.Equal(2ul, RequestTo("alice-1").NewEpoch);
        Did(_room.CommitDeadline(new CommitDeadlineDue(2, "alice")));

        Refused("bob-1", ErrorCode.NotAdmitted, notInRoom: true);
        Assert.Empty(_last.Effects.OfType<StartCommitDeadline>());
        Assert.Empty(_last.Effects.OfType<StartCommitRetry>());
        Did(_room.CommitRetryDue());
        Assert.Empty(_last.Effects); // no retry is armed: the room asks nobody for it again
    }

    [Fact]
    public void Removes_no_candidate_can_commit_are_asked_for_again_only_when_something_new_comes()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        Leave(_bob, "bob-1"); // a signed leave: a pending remove (LEFT)

        for (var round = 1; round <= RoomState<string>.MaxCommitRounds; round++)
        {
            Assert.Equal(["bob"], RequestTo("alice-1").Removes.Select(r => r.ClientId));
            Did(_room.DeclineCommit("alice", 3, "alice-1"));
            if (round < RoomState<string>.MaxCommitRounds)
            {
                Did(_room.CommitRetryDue());
            }
        }

        Assert.Empty(_last.Effects.OfType<StartCommitDeadline>());
        Assert.Empty(_last.Effects.OfType<StartCommitRetry>());
        Assert.Equal(["bob"], _room.Snapshot().PendingRemoves);
        Join(_carol, "carol-1");
        Assert.Equal("alice", AskedCommitter()); // a joiner is new: the room asks again, the remove with it
        Assert.Equal(["bob"], RequestTo("alice-1").Removes.Select(r => r.ClientId));
    }

    [Fact]
    public void A_joiner_asked_for_an_external_commit_that_cannot_make_it_hands_the_request_to_the_next_joiner()
    {
        CreateRoom(_alice, "alice-1");
        Disconnect("alice-1");
        Join(_bob, "bob-1");
        Assert.Equal(JoinMode.External, Sent("bob-1", MessageType.Joined).Joined.Mode);
        Join(_carol, "carol-1");

        Did(_room.DeclineCommit("bob", 2, "bob-1"));

        Assert.Equal(JoinMode.External, Sent("carol-1", MessageType.Joined).Joined.Mode);
        Assert.Equal("carol", AskedCommitter());
    }

    [Fact]
    public void A_member_reconnecting_with_a_new_key_is_removed_and_re_added_by_one_commit()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        var newBob = Member("bob");

        Join(newBob, "bob-2");

        Assert.Contains(new UnwatchConnection<string>("bob-1"), _last.Effects);
        var request = RequestTo("alice-1");
        Assert.Equal(["bob"], request.Removes.Select(r => r.ClientId));
        Assert.Equal(newBob.Bundle, Assert.Single(request.Adds).Bundle);
        Submit(_alice, "alice-1", Answer(_alice, request));
        Assert.Equal(["alice-1", "bob-2"], Receivers(MessageType.Commit).Order(StringComparer.Ordinal)); // the old connection is out
        var state = _room.Snapshot();
        Assert.Equal(["alice", "bob"], state.Roster);
        Assert.Equal(newBob.Bundle, _room.Roster.Single(m => m.ClientId == "bob").Bundle);
        Assert.Empty(state.PendingAdds);
        Assert.Empty(state.PendingRemoves);
    }

    [Fact]
    public void A_lone_member_back_with_a_new_key_is_asked_for_an_external_commit_of_the_next_epoch()
    {
        CreateRoom(_alice, "alice-1");
        var creation = _room.CommitLog.Last().Envelope;
        var newAlice = Member("alice");

        Join(newAlice, "alice-2");

        Assert.DoesNotContain(_last.Events, e => e is RosterReset);
        var joined = Assert.Single(FramesTo("alice-2")).Joined;
        Assert.Equal((JoinMode.External, 1ul), (joined.Mode, joined.CurrentEpoch));
        Assert.Equal(Envelope.Parser.ParseFrom(creation).Commit, joined.State.LastCommit);
        Assert.Contains(new StartCommitDeadline(new CommitDeadlineDue(2, "alice"), CommitTimeout), _last.Effects);
    }

    // ------------------------------------------------------------------ §4.3 commit

    [Fact]
    public void The_creation_commit_is_echoed_to_its_committer_and_sets_epoch_roster_and_suite()
    {
        Join(_alice, "alice-1");
        var creation = _alice.CreateRoom(Room);

        Submit(_alice, "alice-1", creation);

        Assert.Equal("alice", Sent("alice-1", MessageType.Commit).SenderId);
        var accepted = Assert.IsType<EpochAccepted>(Assert.Single(_last.Events));
        Assert.Equal((1ul, "alice", Aes), (accepted.Epoch, accepted.CommitterId, accepted.Suite));
        Assert.Equal(KeySchedule.TranscriptHashOf(creation, KeySchedule.InitialTranscriptHash), _room.TranscriptHash.ToByteArray());
        Assert.Contains(CancelCommitDeadline.Instance, _last.Effects);
        Assert.Equal((1ul, Aes), (_room.Epoch, _room.Suite));
        Assert.Equal(["alice"], _room.Snapshot().Roster);
    }

    [Fact]
    public void The_first_commit_for_an_epoch_wins_and_a_later_one_is_refused_with_its_epoch()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        Join(_carol, "carol-1");
        var request = RequestTo("alice-1");

        Submit(_bob, "bob-1", Answer(_bob, request));
        Assert.Equal("bob", Sent("carol-1", MessageType.Commit).SenderId);
        Submit(_alice, "alice-1", _alice.Commit(Room, 3, [_alice.Bundle, _bob.Bundle, _carol.Bundle], added: [_carol.Bundle], previous: _room.TranscriptHash));

        var refusal = Refused("alice-1", ErrorCode.CommitRejected, notInRoom: false);
        Assert.Equal((3ul, RelayCommitRejection.WrongEpoch), (refusal.Epoch, refusal.CommitRejection));
        Assert.Empty(_last.Events);
        Assert.Equal(3ul, _room.Epoch);
    }

    [Fact]
    public void Any_member_may_rekey_unasked_and_no_request_follows()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");

        Submit(_bob, "bob-1", _bob.Commit(Room, 3, Bundles(), rekey: true, previous: _room.TranscriptHash));

        Assert.Equal(["alice-1", "bob-1"], Receivers(MessageType.Commit).Order(StringComparer.Ordinal));
        Assert.Empty(Receivers(MessageType.CommitRequest));
        Assert.True(Assert.IsType<EpochAccepted>(Assert.Single(_last.Events)).Rekey);
    }

    [Fact]
    public void A_refused_commit_reaches_nobody_and_changes_nothing()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");

        Submit(_bob, "bob-1", _bob.Commit(Room, 2, Bundles(), rekey: true, previous: _room.TranscriptHash));

        Assert.Contains("already committed", Refused("bob-1", ErrorCode.CommitRejected, notInRoom: false).Reason, StringComparison.Ordinal);
        Assert.Single(_last.Effects);
        Assert.Empty(_last.Events);
        Assert.Equal(2ul, _room.Epoch);
    }

    [Fact]
    public void A_commit_adding_a_bundle_nobody_joined_with_is_refused()
    {
        CreateRoom(_alice, "alice-1");

        Submit(_alice, "alice-1", _alice.Commit(Room, 2, [_alice.Bundle, _bob.Bundle], added: [_bob.Bundle], previous: _room.TranscriptHash));

        Assert.Equal(RelayCommitRejection.NotJoined, Refused("alice-1", ErrorCode.CommitRejected, notInRoom: false).CommitRejection);
        Assert.Equal(1ul, _room.Epoch);
    }

    [Fact]
    public void Joins_the_accepted_commit_did_not_cover_are_asked_for_next()
    {
        CreateRoom(_alice, "alice-1");
        Join(_bob, "bob-1");
        var request = RequestTo("alice-1");
        Join(_carol, "carol-1");
        Assert.Empty(Receivers(MessageType.CommitRequest)); // one request at a time

        Submit(_alice, "alice-1", Answer(_alice, request));

        var next = RequestTo("alice-1");
        Assert.Equal(3ul, next.NewEpoch);
        Assert.Equal(_carol.Bundle, Assert.Single(next.Adds).Bundle);
    }

    [Fact]
    public void A_joiner_that_leaves_before_the_commit_is_admitted_and_then_removed_again()
    {
        CreateRoom(_alice, "alice-1");
        Join(_bob, "bob-1");
        var request = RequestTo("alice-1");
        Leave(_bob, "bob-1");

        Submit(_alice, "alice-1", Answer(_alice, request));

        Assert.Equal(2ul, Sent("alice-1", MessageType.Commit).Epoch);
        var next = RequestTo("alice-1");
        Assert.Equal(3ul, next.NewEpoch);
        Assert.Equal([("bob", RemoveReason.Left)], next.Removes.Select(r => (r.ClientId, r.Reason))); // with the leave it signed as a joiner
    }

    [Fact]
    public void A_bundle_whose_connection_was_replaced_before_the_commit_is_removed_again_and_the_new_one_added()
    {
        CreateRoom(_alice, "alice-1");
        Join(_bob, "bob-1");
        var request = RequestTo("alice-1");
        var newBob = Member("bob");
        Join(newBob, "bob-2");

        Submit(_alice, "alice-1", Answer(_alice, request));

        var next = RequestTo("alice-1");
        Assert.Equal(["bob"], next.Removes.Select(r => r.ClientId));
        Assert.Equal(newBob.Bundle, Assert.Single(next.Adds).Bundle);
    }

    [Fact]
    public void Commits_from_a_connection_that_is_not_in_the_room_are_refused()
    {
        CreateRoom(_alice, "alice-1");

        Submit(_bob, "bob-1", _bob.CreateRoom(Room, epoch: 2));

        Refused("bob-1", ErrorCode.NotAMember, notInRoom: true);
    }

    [Fact]
    public void A_committer_refreshing_its_key_is_accepted_and_its_new_bundle_kept()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        var refreshed = _bob.RefreshedBundle(keyId: 2);
        Submit(_bob, "bob-1", _bob.Commit(Room, 3, [_alice.Bundle, refreshed], rekey: true, previous: _room.TranscriptHash));

        Admit(_alice, "alice-1", _carol, "carol-1");

        Assert.Equal(4ul, _room.Epoch);
        Assert.Equal(refreshed, _room.Roster.Single(m => m.ClientId == "bob").Bundle);
    }

    [Fact]
    public void Each_accepted_commit_moves_the_transcript_hash_the_room_expects()
    {
        CreateRoom(_alice, "alice-1");
        var beforeAdmission = _room.TranscriptHash;
        Admit(_alice, "alice-1", _bob, "bob-1");

        Submit(_bob, "bob-1", _bob.Commit(Room, 3, Bundles(), rekey: true, previous: beforeAdmission));

        var refusal = Refused("bob-1", ErrorCode.CommitRejected, notInRoom: false);
        Assert.Equal((3ul, RelayCommitRejection.WrongTranscript), (refusal.Epoch, refusal.CommitRejection));
        Assert.Empty(Receivers(MessageType.Commit));
        Assert.Empty(_last.Events);
        var rekey = _bob.Commit(Room, 3, Bundles(), rekey: true, previous: _room.TranscriptHash);
        Submit(_bob, "bob-1", rekey);
        Assert.Equal(TestMember.TranscriptHashOf(rekey), _room.TranscriptHash);
    }

    [Fact]
    public void After_everyone_left_the_next_joiner_continues_the_rooms_history()
    {
        CreateRoom(_alice, "alice-1");
        var history = _room.TranscriptHash;
        Leave(_alice, "alice-1");
        Join(_bob, "bob-1");
        Assert.Equal(history, _room.TranscriptHash);

        Submit(_bob, "bob-1", _bob.CreateRoom(Room, epoch: 2));
        Assert.Equal(RelayCommitRejection.WrongKind, Refused("bob-1", ErrorCode.CommitRejected, notInRoom: false).CommitRejection);
        Submit(_bob, "bob-1", _bob.Commit(Room, 2, [.. Bundles(), _bob.Bundle], added: [_bob.Bundle], kind: CommitKind.External));
        Assert.Equal(RelayCommitRejection.WrongTranscript, Refused("bob-1", ErrorCode.CommitRejected, notInRoom: false).CommitRejection);
        Submit(_bob, "bob-1", External(_bob));

        Assert.Equal(2ul, Sent("bob-1", MessageType.Commit).Epoch);
        Assert.Equal(["alice", "bob"], _room.Snapshot().Roster); // alice left without a leave: only a member can remove her (REMOVED)
    }

    [Fact]
    public void A_commit_that_would_be_relayed_above_the_frame_limit_is_refused_before_it_is_accepted()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        var rekey = _bob.Commit(Room, 3, Bundles(), rekey: true, previous: _room.TranscriptHash);

        Submit(_bob, "bob-1", _bob.PaddedToRelayedSize(rekey, Room, WireLimits.DefaultMaxFrameBytes + 1));
        var refusal = Refused("bob-1", ErrorCode.CommitRejected, notInRoom: false);
        Assert.Equal((3ul, RelayCommitRejection.TooLarge), (refusal.Epoch, refusal.CommitRejection));
        Assert.Empty(Receivers(MessageType.Commit));
        Assert.Empty(_last.Events);
        Assert.Equal(2ul, _room.Epoch);

        Submit(_bob, "bob-1", _bob.PaddedToRelayedSize(rekey, Room, WireLimits.DefaultMaxFrameBytes));
        var relayed = Assert.Single(_last.Effects.OfType<SendFrame<string>>(), s => s.To == "alice-1").Frame;
        Assert.Equal(WireLimits.DefaultMaxFrameBytes, relayed.Length);
        Assert.Equal(3ul, _room.Epoch);
    }

    [Fact]
    public void Rekeys_beyond_a_members_limit_per_minute_are_refused_and_relayed_to_nobody_while_others_still_rekey()
    {
        AliceAndBobWithARekeyLimit(2);
        BobRekeys();
        BobRekeys();

        BobRekeys();

        var refusal = Refused("bob-1", ErrorCode.CommitRejected, notInRoom: false);
        Assert.Equal((5ul, RelayCommitRejection.TooManyRekeys), (refusal.Epoch, refusal.CommitRejection));
        Assert.Contains("too many rekeys: at most 2 per member per minute", refusal.Reason, StringComparison.Ordinal);
        Assert.Empty(Receivers(MessageType.Commit));
        Assert.Empty(_last.Events);
        Submit(_alice, "alice-1", _alice.Commit(Room, 5, Bundles(), rekey: true, previous: _room.TranscriptHash));
        Assert.Equal(5ul, _room.Epoch);
    }

    [Fact]
    public void The_rekey_limit_counts_the_last_sixty_seconds_on_the_rooms_clock()
    {
        AliceAndBobWithARekeyLimit(2);
        BobRekeys(); // t = 0
        _clock.Advance(30_000);
        BobRekeys(); // t = 30 s

        _clock.Advance(29_999);
        Assert.False(BobRekeys(), "59.999 s: two rekeys in the last minute");
        _clock.Advance(1);
        Assert.True(BobRekeys(), "60 s: the first one has left the window");
        _clock.Advance(1);
        Assert.False(BobRekeys(), "60.001 s: the ones at 30 s and 60 s are in the window");
        _clock.Advance(29_999);
        Assert.True(BobRekeys(), "90 s");
    }

    [Fact]
    public void Leaving_and_joining_again_does_not_reset_the_rekey_limit()
    {
        AliceAndBobWithARekeyLimit(1);
        BobRekeys();
        var newBob = Member("bob");
        Join(newBob, "bob-2");
        Submit(_alice, "alice-1", Answer(_alice, RequestTo("alice-1")));

        Submit(newBob, "bob-2", newBob.Commit(Room, 5, Bundles(), rekey: true, previous: _room.TranscriptHash));

        Assert.Equal(RelayCommitRejection.TooManyRekeys, Refused("bob-2", ErrorCode.CommitRejected, notInRoom: false).CommitRejection);
    }

    [Fact]
    public void Requested_commits_are_not_counted_against_the_rekey_limit()
    {
        _room = NewRoom(rekeysPerMinute: 1);
        CreateRoom(_bob, "bob-1");
        Admit(_bob, "bob-1", _alice, "alice-1");
        BobRekeys();

        Admit(_bob, "bob-1", _carol, "carol-1");
        Leave(_carol, "carol-1");
        Submit(_bob, "bob-1", Answer(_bob, RequestTo("bob-1")));

        Assert.Equal(5ul, _room.Epoch);
        Assert.False(BobRekeys());
    }

    // ------------------------------------------------------------------ §4.4 application

    [Fact]
    public void Ciphertext_fans_out_to_every_other_connected_member_but_never_back_to_the_sender()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        Admit(_alice, "alice-1", _carol, "carol-1");
        var message = Frames.Application("bob", Room, epoch: 3, sequence: 0).Bytes();

        Publish(_bob, "bob-1", 3, message);

        var fanout = _last.Fanout!.Value;
        Assert.Equal(message, fanout.Frame);
        Assert.Equal(["alice-1", "carol-1"], FannedOutTo());
        Assert.Empty(_last.Effects);
    }

    [Theory]
    [InlineData(3ul, 0ul)]
    [InlineData(3ul, 1ul)]
    [InlineData(2ul, 127ul)]
    [InlineData(3ul, 128ul)]
    [InlineData(3ul, ulong.MaxValue)]
    public void After_the_fan_out_the_sender_is_told_its_message_was_relayed_with_its_epoch_and_generation(ulong epoch, ulong generation)
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        Admit(_alice, "alice-1", _carol, "carol-1");

        Publish(_bob, "bob-1", epoch, sequence: generation);

        var fanout = Assert.NotNull(_last.Fanout);
        Assert.Equal("bob-1", fanout.Sender);
        var expected = new Envelope { Version = WireLimits.ProtocolVersion, Type = MessageType.Relayed, RoomId = Room, Epoch = epoch, Sequence = generation };
        Assert.Equal(expected.ToByteString(), fanout.Relayed);
        Assert.Equal(expected, EnvelopeCodec.Decode(fanout.Relayed.Span));
    }

    [Fact]
    public void A_refused_message_gets_no_relayed_frame_and_its_refusal_names_its_epoch_and_generation()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        Join(_carol, "carol-1");

        Publish(_bob, "bob-1", 5, sequence: 9);
        Assert.Null(_last.Fanout);
        var stale = Refused("bob-1", ErrorCode.StaleEpoch, notInRoom: false);
        Assert.Equal((5ul, 9ul), (stale.Epoch, stale.Sequence));

        Publish(_carol, "carol-1", 2, sequence: 4);
        Assert.Null(_last.Fanout);
        var refusal = Refused("carol-1", ErrorCode.NotAMember, notInRoom: false);
        Assert.Equal((2ul, 4ul), (refusal.Epoch, refusal.Sequence));
    }

    [Fact]
    public void Ciphertext_of_the_previous_epoch_is_still_relayed_but_older_is_refused()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        Submit(_bob, "bob-1", _bob.Commit(Room, 3, Bundles(), rekey: true, previous: _room.TranscriptHash));

        Publish(_bob, "bob-1", 2);
        Assert.Equal(["alice-1"], FannedOutTo());
        Publish(_bob, "bob-1", 1);

        Assert.Null(_last.Fanout);
        Refused("bob-1", ErrorCode.StaleEpoch, notInRoom: false);
    }

    [Fact]
    public void A_joiner_not_yet_admitted_cannot_send_ciphertext()
    {
        CreateRoom(_alice, "alice-1");
        Join(_bob, "bob-1");

        Publish(_bob, "bob-1", 1);

        Refused("bob-1", ErrorCode.NotAMember, notInRoom: false);
        Assert.Null(_last.Fanout);
    }

    [Fact]
    public void A_member_awaiting_its_removal_cannot_send_ciphertext()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        Join(Member("bob"), "bob-2");

        Publish(_bob, "bob-2", 2);

        Refused("bob-2", ErrorCode.NotAMember, notInRoom: false);
    }

    [Fact]
    public void The_fan_out_follows_every_change_of_the_roster_and_of_the_connections()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        Publish(_alice, "alice-1", 2);
        Assert.Equal(["bob-1"], FannedOutTo());

        // Carol joins: not a recipient until a commit adds her, then in the next fan-out.
        Join(_carol, "carol-1");
        var request = RequestTo("alice-1");
        Publish(_alice, "alice-1", 2);
        Assert.Equal(["bob-1"], FannedOutTo());
        Submit(_alice, "alice-1", Answer(_alice, request));
        Publish(_alice, "alice-1", 3);
        Assert.Equal(["bob-1", "carol-1"], FannedOutTo());

        // Carol leaves: her connection gets nothing more, even before the removal is committed.
        Leave(_carol, "carol-1");
        Publish(_alice, "alice-1", 3);
        Assert.Equal(["bob-1"], FannedOutTo());

        // Bob's connection drops, then he comes back on a new one before his removal is committed.
        Disconnect("bob-1");
        Publish(_alice, "alice-1", 3);
        Assert.Empty(FannedOutTo());
        Join(_bob, "bob-2");
        Publish(_alice, "alice-1", 3);
        Assert.Equal(["bob-2"], FannedOutTo());
    }

    // ------------------------------------------------------------------ §4.5 leave and disconnect

    [Fact]
    public void A_leave_asks_a_remaining_member_to_commit_the_removal()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");

        Leave(_bob, "bob-1");

        Assert.Contains(new UnwatchConnection<string>("bob-1"), _last.Effects);
        var request = RequestTo("alice-1");
        Assert.Equal(["bob"], request.Removes.Select(r => r.ClientId));
        Submit(_alice, "alice-1", Answer(_alice, request));
        Assert.Equal(["alice-1"], Receivers(MessageType.Commit)); // gone: it gets nothing more from this room
        Assert.Equal(["alice"], _room.Snapshot().Roster);
    }

    [Fact]
    public void A_signed_leave_is_kept_and_the_committer_is_asked_to_remove_the_leaver_as_LEFT_with_it()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        var leave = _bob.Leave(Room, 2);

        Leave(_bob, "bob-1", leave);

        Assert.Equal([new LeaveKept(2, "bob", leave)], _last.Events.OfType<LeaveKept>());
        Assert.Equal(["bob"], _last.Events.OfType<MemberAway>().Select(a => a.ClientId)); // kept away too, should the room restart before the removal
        Assert.Equal(leave, _room.Leaves["bob"]);
        Assert.Equal(leave, _room.Durable().Leaves.Single());
        var remove = Assert.Single(RequestTo("alice-1").Removes);
        Assert.Equal(new Remove { ClientId = "bob", Reason = RemoveReason.Left, Leave = leave }, remove);
        Submit(_alice, "alice-1", Answer(_alice, RequestTo("alice-1")));
        Assert.Equal(["alice"], _room.Snapshot().Roster);
        Assert.Empty(_room.Leaves); // settled by the commit that removed bob
        Assert.Empty(_room.Durable().Leaves);
    }

    [Fact]
    public void A_leave_that_does_not_verify_is_not_kept_and_the_leaver_stays_a_member_away()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        var forged = _carol.Leave(Room, 2, _bob.Bundle); // names bob's entry, signed by someone else

        Leave(_bob, "bob-1", forged);

        Assert.Empty(_last.Events.OfType<LeaveKept>());
        Assert.DoesNotContain(_last.Effects, e => e is RefuseRequest<string>); // a LEAVE is never answered
        Assert.Contains(_last.Effects, e => e is RoomNote { Text: var text } && text.Contains("does not verify", StringComparison.Ordinal));
        // The server has no proof an honest committer would take: nobody is asked to remove bob, who is away.
        Assert.Empty(Receivers(MessageType.CommitRequest));
        Assert.Equal(["alice", "bob"], _room.Snapshot().Roster);
        Assert.Equal(["bob"], _last.Events.OfType<MemberAway>().Select(a => a.ClientId));
        Assert.Empty(_room.Leaves);
    }

    [Fact]
    public void A_leave_without_a_signed_leave_leaves_the_member_in_the_roster_away()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");

        LeaveUnsigned(_bob, "bob-1");

        Assert.Empty(Receivers(MessageType.CommitRequest));
        Assert.Equal(["alice", "bob"], _room.Snapshot().Roster);
        Assert.Empty(_room.Snapshot().PendingRemoves);
    }

    [Fact]
    public void A_leave_of_an_earlier_roster_entry_is_not_kept()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        var refreshed = _bob.RefreshedBundle();
        Submit(_bob, "bob-1", _bob.Commit(Room, 3, [_alice.Bundle, refreshed], rekey: true, previous: _room.TranscriptHash));

        Leave(_bob, "bob-1", _bob.Leave(Room, 3, _bob.Bundle)); // bob's first entry, replaced by the rekey

        Assert.Empty(_last.Events.OfType<LeaveKept>());
        Assert.Empty(_room.Leaves);
    }

    [Fact]
    public void A_member_that_left_with_a_signed_leave_cannot_resume_with_that_entry()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        Leave(_bob, "bob-1", _bob.Leave(Room, 2));

        Join(_bob, "bob-2");

        Assert.Contains("left this room", Refused("bob-2", ErrorCode.BadBundle, notInRoom: true).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Kept_leaves_survive_a_restore_from_storage_and_still_go_to_the_committer()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        Admit(_alice, "alice-1", _carol, "carol-1");
        var leave = _bob.Leave(Room, 3);
        Leave(_bob, "bob-1", leave);
        var stored = _room.Durable();
        _room = NewRoom();
        _room.Restore(stored);
        Did(_room.Start());

        Join(_alice, "alice-2"); // resumes
        Assert.Contains(RequestTo("alice-2").Removes, r => r.ClientId == "bob" && r.Reason == RemoveReason.Left && r.Leave.Equals(leave));
    }

    // ------------------------------------------------------------------ §4.5 invites

    [Fact]
    public void In_an_invite_room_only_an_invited_id_may_join_and_the_invite_goes_to_it_and_to_the_committer()
    {
        CreateRoom(_alice, "alice-1", RoomPolicies.Of(Admission.Invite));
        Join(_carol, "carol-1");
        Assert.Contains("not invited", Refused("carol-1", ErrorCode.BadInvite, notInRoom: true).Reason, StringComparison.Ordinal);
        Assert.Empty(_room.Snapshot().PendingAdds);

        var invite = _alice.Invite(Room, "carol", _clock.UtcNowMs - 1000);
        Did(_room.Invite("alice", invite, "alice-1"));
        Assert.Equal(new InviteKept(1, invite), Assert.Single(_last.Events));
        Assert.Equal(invite, Sent("alice-1", MessageType.Invite).Invite); // the echo: the server kept it
        Assert.Equal(invite, _room.Durable().Invites.Single());

        Join(_carol, "carol-2");
        Assert.Equal(invite, Sent("carol-2", MessageType.Joined).Joined.State.Invite);
        var add = Assert.Single(RequestTo("alice-1").Adds);
        Assert.Equal((_carol.Bundle, invite), (add.Bundle, add.Invite));
        Submit(_alice, "alice-1", Answer(_alice, RequestTo("alice-1")));
        Assert.Equal(["alice", "carol"], _room.Snapshot().Roster);
        Assert.Empty(_room.Invites); // spent
    }

    [Fact]
    public void An_invite_the_joiner_brings_itself_admits_it_to_an_invite_room()
    {
        CreateRoom(_alice, "alice-1", RoomPolicies.Of(Admission.Invite));
        var invite = _alice.Invite(Room, "carol", _clock.UtcNowMs - 1000);

        Did(_room.Join("carol", _carol.Bundle, Aes, "carol-1", invite: invite));

        Assert.Equal(invite, Assert.Single(RequestTo("alice-1").Adds).Invite);
    }

    [Fact]
    public void The_room_keeps_only_invites_it_can_verify_from_a_connected_member()
    {
        CreateRoom(_alice, "alice-1", RoomPolicies.Of(Admission.Invite));
        var now = _clock.UtcNowMs - 1000;
        var cases = new (string Sender, string Connection, SignedInvite Invite, ErrorCode Code, string Reason)[]
        {
            ("carol", "carol-1", _carol.Invite(Room, "dave", now), ErrorCode.NotAMember, "only a member"),
            ("alice", "alice-1", _bob.Invite(Room, "dave", now), ErrorCode.BadInvite, "not the sender"), // bob's invite, sent by alice
            ("alice", "alice-1", _alice.Invite("elsewhere", "dave", now), ErrorCode.BadInvite, "another room"),
            ("alice", "alice-1", _alice.Invite(Room, "dave", now - 10_000, lifetimeMs: 5_000), ErrorCode.BadInvite, "not valid now"),
            ("alice", "alice-1", Resigned(_alice.Invite(Room, "dave", now), _bob), ErrorCode.BadInvite, "does not verify"),
            ("alice", "alice-1", new SignedInvite(), ErrorCode.BadInvite, "does not parse"),
        };

        foreach (var (sender, connection, invite, code, reason) in cases)
        {
            Did(_room.Invite(sender, invite, connection));
            Assert.Empty(_last.Events);
            Assert.Contains(reason, Refused(connection, code, notInRoom: false).Reason, StringComparison.Ordinal);
        }

        Assert.Empty(_room.Invites);
    }

    [Fact]
    public void An_invite_whose_inviter_left_the_roster_is_dropped_and_admits_no_one()
    {
        CreateRoom(_alice, "alice-1", RoomPolicies.Of(Admission.Invite));
        var bobsInvite = _alice.Invite(Room, "bob", _clock.UtcNowMs - 1000);
        Did(_room.Invite("alice", bobsInvite, "alice-1"));
        Admit(_alice, "alice-1", _bob, "bob-1");
        Did(_room.Invite("bob", _bob.Invite(Room, "carol", _clock.UtcNowMs - 1000), "bob-1"));

        Leave(_bob, "bob-1", _bob.Leave(Room, 2));
        Submit(_alice, "alice-1", Answer(_alice, RequestTo("alice-1")));

        Assert.Empty(_room.Invites);
        Join(_carol, "carol-1");
        Refused("carol-1", ErrorCode.BadInvite, notInRoom: true);
    }

    [Fact]
    public void An_open_room_admits_anyone_without_an_invite()
    {
        CreateRoom(_alice, "alice-1");

        Join(_carol, "carol-1");

        Assert.Null(Assert.Single(RequestTo("alice-1").Adds).Invite);
    }

    [Fact]
    public void A_members_unasked_remove_of_another_is_accepted_and_relayed_the_server_cannot_veto_it()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        Admit(_alice, "alice-1", _carol, "carol-1");

        Submit(_bob, "bob-1", _bob.Commit(Room, 4, [_alice.Bundle, _bob.Bundle], removed: ["carol"], previous: _room.TranscriptHash));

        Assert.Equal(["alice-1", "bob-1", "carol-1"], Receivers(MessageType.Commit).Order(StringComparer.Ordinal)); // carol learns it too
        Assert.Equal(["alice", "bob"], _room.Snapshot().Roster);
    }

    [Fact]
    public void A_leave_from_another_connection_than_the_members_is_ignored()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");

        Leave(_bob, "bob-9");

        Assert.Empty(_last.Effects);
        Assert.Equal(["alice", "bob"], _room.Snapshot().Connected);
    }

    [Fact]
    public void A_disconnect_is_not_a_leave_the_member_stays_in_the_roster_away_and_no_commit_is_asked()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        var now = (ulong)_clock.UtcNowMs;

        Disconnect("bob-1");

        Assert.Empty(Receivers(MessageType.CommitRequest));
        Assert.Equal([new MemberAway(2, "bob", now)], _last.Events);
        Assert.Equal(["alice", "bob"], _room.Snapshot().Roster);
        Assert.Equal(["alice"], _room.Snapshot().Connected);
        Assert.Empty(_room.Snapshot().PendingRemoves);
        Assert.Equal([new AwayMember("bob", now)], _room.Durable().Away);
    }

    // ------------------------------------------------------------------ §4.2 resume

    [Fact]
    public void A_member_back_with_its_roster_entry_gets_the_commits_it_missed_then_resumed_and_no_commit_is_made()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        Admit(_alice, "alice-1", _carol, "carol-1");
        Disconnect("bob-1");
        AliceRekeys();
        AliceRekeys();
        var missed = _room.CommitLog.Where(c => c.Epoch > 3).Select(c => c.Envelope).ToList();
        var epoch = _room.Epoch;

        Did(_room.Join("bob", _bob.Bundle, Aes, "bob-2", knownEpoch: 3));

        var frames = FramesTo("bob-2");
        Assert.Equal([MessageType.Commit, MessageType.Commit, MessageType.Joined], frames.Select(f => f.Type));
        Assert.Equal(missed, _last.Effects.OfType<SendFrame<string>>().Take(2).Select(f => f.Frame)); // byte for byte as relayed
        Assert.Equal((JoinMode.Resumed, 5ul), (frames[2].Joined.Mode, frames[2].Joined.CurrentEpoch));
        Assert.Equal([new MemberBack(5, "bob")], _last.Events);
        Assert.Empty(Receivers(MessageType.CommitRequest));
        Assert.Equal(epoch, _room.Epoch); // the reconnect cost no commit
        Assert.Equal(["alice", "carol", "bob"], _room.Snapshot().Connected);
        Publish(_bob, "bob-2", 5);
        Assert.Equal(["alice-1", "carol-1"], FannedOutTo());
    }

    [Fact]
    public void A_resume_from_the_current_epoch_gets_no_commit_and_one_from_the_future_must_rejoin()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        Disconnect("bob-1");

        Did(_room.Join("bob", _bob.Bundle, Aes, "bob-2", knownEpoch: 2));
        Assert.Equal([MessageType.Joined], FramesTo("bob-2").Select(f => f.Type));
        Assert.Equal(JoinMode.Resumed, Sent("bob-2", MessageType.Joined).Joined.Mode);

        Disconnect("bob-2");
        Did(_room.Join("bob", _bob.Bundle, Aes, "bob-3", knownEpoch: 7));
        Assert.Equal(JoinMode.RejoinNeeded, Assert.Single(FramesTo("bob-3")).Joined.Mode);
        Assert.DoesNotContain("bob", _room.Snapshot().Connected);
    }

    [Fact]
    public void A_resume_the_log_no_longer_reaches_is_told_rejoin_needed_and_one_at_its_edge_is_served()
    {
        _room = NewRoom(commitLogLength: 2);
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        Disconnect("bob-1");
        AliceRekeys();
        AliceRekeys();
        AliceRekeys();
        Assert.Equal([4ul, 5ul], _room.CommitLog.Select(c => c.Epoch));

        Did(_room.Join("bob", _bob.Bundle, Aes, "bob-2", knownEpoch: 2));
        var joined = Assert.Single(FramesTo("bob-2"));
        Assert.Equal((JoinMode.RejoinNeeded, 5ul), (joined.Joined.Mode, joined.Joined.CurrentEpoch));
        Assert.Equal(["alice"], _room.Snapshot().Connected);
        Assert.DoesNotContain(_last.Effects, e => e is WatchConnection<string>);

        Did(_room.Join("bob", _bob.Bundle, Aes, "bob-3", knownEpoch: 3));
        Assert.Equal([MessageType.Commit, MessageType.Commit, MessageType.Joined], FramesTo("bob-3").Select(f => f.Type));
        Assert.Equal(JoinMode.Resumed, Sent("bob-3", MessageType.Joined).Joined.Mode);
    }

    [Fact]
    public void A_member_removed_while_away_gets_the_commits_since_its_epoch_removal_included_then_rejoin_needed()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        Disconnect("bob-1");
        var removal = _alice.Commit(Room, 3, [_alice.Bundle], removes: [new Remove { ClientId = "bob", Reason = RemoveReason.Removed }],
            previous: _room.TranscriptHash);
        Submit(_alice, "alice-1", removal);
        Assert.Equal(["alice"], _room.Snapshot().Roster);
        Assert.Empty(_room.Durable().Away); // only roster members are away

        Did(_room.Join("bob", _bob.Bundle, Aes, "bob-2", knownEpoch: 2));

        var frames = FramesTo("bob-2");
        Assert.Equal([MessageType.Commit, MessageType.Joined], frames.Select(f => f.Type));
        Assert.Equal(removal, frames[0].Commit);
        Assert.Equal(JoinMode.RejoinNeeded, frames[1].Joined.Mode);
        Assert.Equal(["alice"], _room.Snapshot().Connected);

        // Without a known epoch the same bundle is a second admission, refused as before.
        Did(_room.Join("bob", _bob.Bundle, Aes, "bob-3"));
        Refused("bob-3", ErrorCode.BadBundle, notInRoom: true);
    }

    [Fact]
    public void The_commit_log_and_who_is_away_survive_a_snapshot_and_a_replay_of_the_events_and_a_restored_room_resumes_members()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        Disconnect("bob-1");
        AliceRekeys();
        var live = _room.Durable();

        var replayed = NewRoom();
        foreach (var change in _events)
        {
            replayed.Apply(change);
        }

        _room = NewRoom();
        _room.Restore(live);
        foreach (var room in new[] { replayed, _room })
        {
            var state = room.Durable();
            Assert.Equal(live.CommitLog, state.CommitLog);
            Assert.Equal(live.Away, state.Away);
        }

        Assert.Equal([1ul, 2ul, 3ul], live.CommitLog.Select(c => c.Epoch));
        Did(_room.Start());
        Did(_room.Join("bob", _bob.Bundle, Aes, "bob-2", knownEpoch: 2));
        Assert.Equal([MessageType.Commit, MessageType.Joined], FramesTo("bob-2").Select(f => f.Type));
        Assert.True(Sent("bob-2", MessageType.Joined).Joined.Recovered);
    }

    // ------------------------------------------------------------------ absence

    [Fact]
    public void A_member_away_for_longer_than_the_absence_limit_is_asked_to_be_removed_as_absent_by_the_servers_clock()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        var limit = TimeSpan.FromMilliseconds(RoomPolicies.DefaultAbsenceLimitMs);

        Disconnect("bob-1");
        Assert.Contains(new StartAbsenceTimer(TimeSpan.FromDays(1)), _last.Effects); // long timers are armed a day at a time

        _clock.Advance((long)(limit - TimeSpan.FromMilliseconds(1)).TotalMilliseconds);
        Did(_room.AbsenceCheckDue());
        Assert.Empty(Receivers(MessageType.CommitRequest));
        Assert.Contains(new StartAbsenceTimer(TimeSpan.FromMilliseconds(1)), _last.Effects);

        _clock.Advance((long)(TimeSpan.FromMilliseconds(1)).TotalMilliseconds);
        Did(_room.AbsenceCheckDue());
        var request = RequestTo("alice-1");
        Assert.Equal([("bob", RemoveReason.Absent)], request.Removes.Select(r => (r.ClientId, r.Reason)));
        Submit(_alice, "alice-1", Answer(_alice, request));
        Assert.Equal(["alice"], _room.Snapshot().Roster);
        Assert.Empty(_room.Durable().Away);
        Assert.DoesNotContain(_last.Effects, e => e is StartAbsenceTimer);
    }

    [Fact]
    public void An_absent_remove_the_committer_declines_is_asked_again_an_hour_later_and_a_member_back_in_time_is_not_asked_about()
    {
        var carol = Member("carol", expires: DateTimeOffset.UtcNow.AddDays(30)); // still valid when she is back
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        Admit(_alice, "alice-1", carol, "carol-1");
        Disconnect("bob-1");
        Disconnect("carol-1");
        _clock.Advance((long)TimeSpan.FromDays(13).TotalMilliseconds);
        Did(_room.Join("carol", carol.Bundle, Aes, "carol-2", knownEpoch: 3));
        Assert.Equal(JoinMode.Resumed, Sent("carol-2", MessageType.Joined).Joined.Mode);
        _clock.Advance((long)(TimeSpan.FromDays(1)).TotalMilliseconds);

        Did(_room.AbsenceCheckDue());
        Assert.Equal(["bob"], RequestTo("alice-1").Removes.Select(r => r.ClientId)); // carol came back within the limit

        // Alice's own view disagrees: no commit by the deadline. Bob is not asked about again for an hour.
        _clock.Advance((long)(CommitTimeout).TotalMilliseconds);
        Did(_room.CommitDeadline(new CommitDeadlineDue(4, "alice")));
        Assert.Empty(Receivers(MessageType.CommitRequest));
        Assert.Empty(_room.Snapshot().PendingRemoves);
        Assert.Contains(new StartAbsenceTimer(TimeSpan.FromMilliseconds(RoomState<string>.AbsenceRetryMs)), _last.Effects);
        _clock.Advance((long)(TimeSpan.FromMilliseconds(RoomState<string>.AbsenceRetryMs)).TotalMilliseconds);
        Did(_room.AbsenceCheckDue());
        Assert.Equal(["bob"], RequestTo("carol-2").Removes.Select(r => r.ClientId));
    }

    [Fact]
    public void When_the_asked_committer_disconnects_the_next_member_is_asked_at_once()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        Join(_carol, "carol-1");

        Disconnect("alice-1");

        Assert.Contains(CancelCommitDeadline.Instance, _last.Effects);
        var request = RequestTo("bob-1");
        Assert.Empty(request.Removes); // away, still a member
        Assert.Equal(_carol.Bundle, Assert.Single(request.Adds).Bundle);
        Assert.Contains(new StartCommitDeadline(new CommitDeadlineDue(3, "bob"), CommitTimeout), _last.Effects);
    }

    [Fact]
    public void When_everyone_has_left_the_next_joiner_admits_itself_removing_them_with_their_kept_leaves()
    {
        CreateRoom(_alice, "alice-1");
        var aliceLeave = _alice.Leave(Room, 1);
        Leave(_alice, "alice-1", aliceLeave);

        Join(_bob, "bob-1");
        var joined = Sent("bob-1", MessageType.Joined).Joined;
        Assert.Equal((JoinMode.External, 1ul), (joined.Mode, joined.CurrentEpoch));
        Assert.Equal([aliceLeave], joined.State.Leaves);

        Submit(_bob, "bob-1", External(_bob, new Remove { ClientId = "alice", Reason = RemoveReason.Left, Leave = aliceLeave }));
        Assert.Equal(2ul, Sent("bob-1", MessageType.Commit).Epoch);
        Assert.Equal(["bob"], _room.Snapshot().Roster);
        Assert.Empty(_room.Leaves);
        Assert.DoesNotContain(_events, e => e is RosterReset);
    }

    // ------------------------------------------------------------------ §4.2, §4.3 external commits

    [Fact]
    public void A_joiner_with_no_member_online_admits_itself_and_then_admits_those_who_waited_meanwhile()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        Disconnect("alice-1");
        Disconnect("bob-1");
        var lastCommit = Envelope.Parser.ParseFrom(_room.CommitLog.Last().Envelope).Commit;

        Join(_carol, "carol-1");
        var joined = Sent("carol-1", MessageType.Joined).Joined;
        Assert.Equal((JoinMode.External, 2ul, 2u), (joined.Mode, joined.CurrentEpoch, joined.MemberCount));
        Assert.Equal(lastCommit, joined.State.LastCommit);
        Assert.Empty(joined.State.Leaves);
        var dave = Member("dave");
        Join(dave, "dave-1");
        Assert.Equal(JoinMode.WaitForCommit, Sent("dave-1", MessageType.Joined).Joined.Mode);

        Submit(_carol, "carol-1", External(_carol));

        Assert.Equal(3ul, Sent("carol-1", MessageType.Commit).Epoch);
        Assert.Equal(["alice", "bob", "carol"], _room.Snapshot().Roster);
        Assert.Equal(dave.Bundle, Assert.Single(RequestTo("carol-1").Adds).Bundle); // now a member: she admits dave
        Assert.Equal(["alice", "bob"], _room.Durable().Away.Select(a => a.ClientId));
    }

    [Fact]
    public void The_room_accepts_an_external_commit_only_from_the_asked_joiner_with_its_own_bundle_and_removes_it_can_confirm()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        var bobLeave = _bob.Leave(Room, 2);
        Leave(_bob, "bob-1", bobLeave);
        Disconnect("alice-1");
        Join(_carol, "carol-1");
        var dave = Member("dave");
        Join(dave, "dave-1");
        var leftBob = new Remove { ClientId = "bob", Reason = RemoveReason.Left, Leave = bobLeave };

        Submit(dave, "dave-1", External(dave, leftBob));
        Assert.Equal(RelayCommitRejection.WrongKind, Refused("dave-1", ErrorCode.CommitRejected, notInRoom: false).CommitRejection);
        Submit(_carol, "carol-1", External(_carol, [leftBob], extraAdds: [dave.Bundle]));
        Assert.Equal(RelayCommitRejection.NotAMember, Refused("carol-1", ErrorCode.CommitRejected, notInRoom: false).CommitRejection);
        var otherLeave = new Remove { ClientId = "bob", Reason = RemoveReason.Left, Leave = _bob.Leave(Room, 1) };
        Submit(_carol, "carol-1", External(_carol, otherLeave));
        Assert.Contains("keeps", Refused("carol-1", ErrorCode.CommitRejected, notInRoom: false).Reason, StringComparison.Ordinal);
        Submit(_carol, "carol-1", External(_carol, [leftBob, new Remove { ClientId = "alice", Reason = RemoveReason.Expired }], createdAtMs: ulong.MaxValue / 2));
        Assert.Equal(RelayCommitRejection.UnconfirmedRemove, Refused("carol-1", ErrorCode.CommitRejected, notInRoom: false).CommitRejection);
        Submit(_carol, "carol-1", External(_carol, [leftBob, new Remove { ClientId = "alice", Reason = RemoveReason.Removed }]));
        Assert.Equal(RelayCommitRejection.BadRoster, Refused("carol-1", ErrorCode.CommitRejected, notInRoom: false).CommitRejection);
        Assert.Equal(2ul, _room.Epoch);

        Submit(_carol, "carol-1", External(_carol, leftBob));
        Assert.Equal(["alice", "carol"], _room.Snapshot().Roster);
        Assert.Empty(_room.Leaves);
    }

    [Fact]
    public void In_an_invite_room_the_external_joiner_gets_its_invite_and_must_carry_it()
    {
        CreateRoom(_alice, "alice-1", RoomPolicies.Of(Admission.Invite));
        var invite = _alice.Invite(Room, "carol", _clock.UtcNowMs);
        Did(_room.Invite("alice", invite, "alice-1"));
        Disconnect("alice-1");

        Join(_carol, "carol-1");
        var joined = Sent("carol-1", MessageType.Joined).Joined;
        Assert.Equal((JoinMode.External, invite), (joined.Mode, joined.State.Invite));

        Submit(_carol, "carol-1", External(_carol));
        Assert.Contains("invite", Refused("carol-1", ErrorCode.CommitRejected, notInRoom: false).Reason, StringComparison.Ordinal);
        Submit(_carol, "carol-1", External(_carol, [], invite: invite));
        Assert.Equal(["alice", "carol"], _room.Snapshot().Roster);
    }

    [Fact]
    public void A_member_back_while_the_external_commit_is_asked_for_gets_it_live_and_the_first_valid_commit_wins()
    {
        CreateRoom(_alice, "alice-1");
        Disconnect("alice-1");
        Join(_carol, "carol-1");
        Did(_room.Join("alice", _alice.Bundle, Aes, "alice-2", knownEpoch: 1));
        Assert.Equal(JoinMode.Resumed, Sent("alice-2", MessageType.Joined).Joined.Mode);
        Assert.Empty(FramesTo("carol-1")); // still hers to make

        Submit(_carol, "carol-1", External(_carol));

        Assert.Equal(["alice-2", "carol-1"], Receivers(MessageType.Commit).Order(StringComparer.Ordinal));
        Submit(_alice, "alice-2", _alice.Commit(Room, 2, Bundles(), rekey: true, previous: ByteString.CopyFrom(new byte[32])));
        Assert.Contains("already committed", Refused("alice-2", ErrorCode.CommitRejected, notInRoom: false).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void An_asked_joiner_that_lets_the_deadline_pass_is_failed_over_to_the_next_joiner()
    {
        CreateRoom(_alice, "alice-1");
        Disconnect("alice-1");
        Join(_carol, "carol-1");
        var dave = Member("dave");
        Join(dave, "dave-1");

        Did(_room.CommitDeadline(new CommitDeadlineDue(2, "carol")));

        Assert.Equal(JoinMode.External, Sent("dave-1", MessageType.Joined).Joined.Mode);
        Submit(_carol, "carol-1", External(_carol));
        Assert.Equal(RelayCommitRejection.WrongKind, Refused("carol-1", ErrorCode.CommitRejected, notInRoom: false).CommitRejection);
        Submit(dave, "dave-1", External(dave));
        Assert.Equal(["alice", "dave"], _room.Snapshot().Roster);
    }

    [Fact]
    public void A_room_whose_log_lacks_its_last_commit_falls_back_to_a_roster_reset()
    {
        CreateRoom(_alice, "alice-1");
        var stored = _room.Durable() with { CommitLog = [] }; // a journal from before the commit log
        _room = NewRoom();
        _room.Restore(stored);
        Did(_room.Start());

        Join(_bob, "bob-1");

        Assert.Contains(new RosterReset(1), _last.Events);
        Assert.Equal(2ul, RequestTo("bob-1").NewEpoch);
    }

    // ------------------------------------------------------------------ storage (a persistent host)

    [Fact]
    public void A_room_restored_from_storage_tells_each_member_of_its_stored_roster_once_and_counts_on_from_its_epoch()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        var stored = _room.Durable();
        _room = NewRoom();
        _room.Restore(stored);

        Did(_room.Start());
        Assert.Contains(new RoomNote("restored from storage at epoch 2 with 2 members"), _last.Effects);
        Assert.True(_room.Recovered);
        var bobAgain = Member("bob");
        Join(bobAgain, "bob-2");
        var joined = Sent("bob-2", MessageType.Joined).Joined;
        Assert.Equal((2ul, 2u, true), (joined.CurrentEpoch, joined.MemberCount, joined.Recovered));
        Assert.Equal(JoinMode.External, joined.Mode); // nobody of the stored roster is connected to admit him

        Join(_carol, "carol-1");
        Assert.False(Sent("carol-1", MessageType.Joined).Joined.Recovered); // never in the room
        Join(bobAgain, "bob-3");
        Assert.False(Sent("bob-3", MessageType.Joined).Joined.Recovered); // told once
    }

    [Fact]
    public void A_room_replayed_from_its_events_is_restored_too_and_one_that_never_stored_anything_is_not()
    {
        var replayed = NewRoom();
        replayed.Apply(new RosterReset(5));
        Assert.Contains(new RoomNote("restored from storage at epoch 5 with 0 members"), replayed.Start().Effects);
        Assert.True(replayed.Recovered);

        Did(_room.Start());
        Assert.False(_room.Recovered);
        Assert.DoesNotContain(_last.Effects, e => e is RoomNote);
        Assert.Throws<InvalidOperationException>(() => _room.Restore(replayed.Durable()));
    }

    [Fact]
    public void When_the_host_cannot_store_a_change_every_connected_member_is_told_it_is_out_of_the_room()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        Join(_carol, "carol-1");

        Did(_room.StorageFailed());

        foreach (var connection in new[] { "alice-1", "bob-1", "carol-1" })
        {
            Assert.Contains("could not store", Refused(connection, ErrorCode.Internal, notInRoom: true).Reason, StringComparison.Ordinal);
            Assert.Contains(new UnwatchConnection<string>(connection), _last.Effects);
        }

        Assert.Contains(CancelCommitDeadline.Instance, _last.Effects);
        Assert.DoesNotContain(_last.Effects, e => e is SendFrame<string>);
        Assert.Empty(_room.Snapshot().Connected);
        Assert.Empty(_room.Snapshot().PendingAdds);
    }

    // ------------------------------------------------------------------ passivation

    [Fact]
    public void A_room_nobody_joins_is_passivated_after_its_grace_period_with_its_epoch()
    {
        _room = NewRoom(startEpoch: 4);

        Assert.Equal([new StartPassivationTimer(Grace)], _room.Start().Effects);
        Assert.Equal([new PassivateRoom(4)], _room.PassivationDue().Effects);
    }

    [Fact]
    public void A_join_cancels_passivation_and_the_last_leave_schedules_it_again()
    {
        Join(_alice, "alice-1");
        Assert.Contains(CancelPassivationTimer.Instance, _last.Effects);
        Assert.Empty(_room.PassivationDue().Effects);

        Leave(_alice, "alice-1");

        Assert.Contains(new StartPassivationTimer(Grace), _last.Effects);
        Assert.Equal([new PassivateRoom(0)], _room.PassivationDue().Effects);
    }

    public void Dispose()
    {
        foreach (var member in _members)
        {
            member.Dispose();
        }
    }

    private RoomState<string> NewRoom(int maxMembers = 10, ulong startEpoch = 0, int rekeysPerMinute = 10, int commitLogLength = 256,
        MessageLogLimits? messageLog = null) =>
        new(Room, startEpoch, new RoomSettings(maxMembers, CommitTimeout, Grace, _clock)
        {
            RekeysPerMemberPerMinute = rekeysPerMinute,
            CommitLogLength = commitLogLength,
            MessageLog = messageLog,
        });

    private TestMember Member(string id, DateTimeOffset? expires = null)
    {
        var member = new TestMember(id, expires);
        _members.Add(member);
        return member; // a client id may have several sessions (keys) over time
    }

    private RoomDecision<string> Did(RoomDecision<string> decision)
    {
        _events.AddRange(decision.Events);
        _events.AddRange(decision.Logged);
        return _last = decision;
    }

    /// <summary>The frames the last decision sent to <paramref name="connection"/>, in order.</summary>
    private List<Envelope> FramesTo(string connection) =>
        [.. _last.Effects.OfType<SendFrame<string>>().Where(s => s.To == connection).Select(s => Envelope.Parser.ParseFrom(s.Frame))];

    /// <summary>Alice, connected as alice-1, commits a rekey that the room accepts.</summary>
    private void AliceRekeys()
    {
        var epoch = _room.Epoch;
        Submit(_alice, "alice-1", _alice.Commit(Room, epoch + 1, Bundles(), rekey: true, previous: _room.TranscriptHash));
        Assert.Equal(epoch + 1, _room.Epoch);
    }

    private void Join(TestMember member, string connection, CipherSuite suite = Aes) => Did(_room.Join(member.Id, member.Bundle, suite, connection));

    private void Submit(TestMember member, string connection, SignedCommit commit) => Did(_room.SubmitCommit(member.Id, commit, connection));

    /// <summary>LEAVE as a v2 client sends it: with its signed leave of its current roster entry (or <paramref name="leave"/>).</summary>
    private void Leave(TestMember member, string connection, SignedLeave? leave = null) =>
        Did(_room.Leave(member.Id, connection, leave ?? member.Leave(Room, _room.Epoch)));

    private void LeaveUnsigned(TestMember member, string connection) => Did(_room.Leave(member.Id, connection, null));

    private void Disconnect(string connection) => Did(_room.Disconnect(connection));

    private void Publish(TestMember member, string connection, ulong epoch, ByteString? envelope = null, ulong sequence = 0) =>
        Did(_room.Publish(member.Id, epoch, sequence, envelope ?? Frames.Application(member.Id, Room, epoch, sequence).Bytes(), connection));

    private IEnumerable<SignedBundle> Bundles() => _room.Roster.Select(m => m.Bundle);

    /// <summary>A room that accepts <paramref name="rekeysPerMinute"/> rekeys per member per minute; alice created it and admitted bob.</summary>
    private void AliceAndBobWithARekeyLimit(int rekeysPerMinute)
    {
        _room = NewRoom(rekeysPerMinute: rekeysPerMinute);
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
    }

    /// <summary>Bob commits a rekey for the next epoch; whether the room accepted it.</summary>
    private bool BobRekeys()
    {
        var epoch = _room.Epoch;
        Submit(_bob, "bob-1", _bob.Commit(Room, epoch + 1, Bundles(), rekey: true, previous: _room.TranscriptHash));
        return _room.Epoch == epoch + 1;
    }

    private static SignedInvite Resigned(SignedInvite invite, TestMember signer) => new()
    {
        Content = invite.Content,
        Signature = Google.Protobuf.ByteString.CopyFrom(signer.Identity.Sign(Core.Crypto.Labels.InviteSignature, invite.Content.Span)),
    };

    private string AskedCommitter() => Assert.Single(_last.Effects.OfType<StartCommitDeadline>()).Due.CommitterId;

    /// <summary>What an honest committer sends for <paramref name="request"/> (hand-built: the room opens no wrap).</summary>
    private SignedCommit Answer(TestMember committer, CommitRequest request, RoomPolicy? createPolicy = null) => _room.Roster.Count == 0
        ? committer.CreateRoom(Room, request.NewEpoch, policy: createPolicy)
        : committer.Commit(Room, request.NewEpoch, Bundles().Where(b => request.Removes.All(r => r.ClientId != TestMember.ClientIdOf(b))).Concat(request.Adds.Select(a => a.Bundle)),
            adds: request.Adds, removes: request.Removes, previous: _room.TranscriptHash, policy: _room.Policy);

    /// <summary>An external commit of <paramref name="joiner"/> for the next epoch from the room's state, removing <paramref name="removes"/>.</summary>
    private SignedCommit External(TestMember joiner, params Remove[] removes) => External(joiner, removes, invite: null);

    private SignedCommit External(TestMember joiner, IReadOnlyList<Remove> removes, SignedInvite? invite = null, IReadOnlyList<SignedBundle>? extraAdds = null,
        ulong? createdAtMs = null)
    {
        var added = new[] { joiner.Bundle }.Concat(extraAdds ?? []).ToList();
        var roster = Bundles().Where(b => removes.All(r => r.ClientId != TestMember.ClientIdOf(b))).Concat(added);
        var commit = joiner.Commit(Room, _room.Epoch + 1, roster, adds: added.Select(b => new Add { Bundle = b, Invite = b == joiner.Bundle ? invite : null }),
            removes: removes, previous: _room.TranscriptHash, policy: _room.Policy, kind: CommitKind.External);
        if (createdAtMs is not { } at)
        {
            return commit;
        }

        var content = CommitContent.Parser.ParseFrom(commit.Content);
        content.CreatedAtMs = at;
        return joiner.Sign(content.ToByteString());
    }

    private void CreateRoom(TestMember creator, string connection, RoomPolicy? policy = null)
    {
        Join(creator, connection);
        Submit(creator, connection, Answer(creator, RequestTo(connection), policy));
        Sent(connection, MessageType.Commit);
    }

    /// <summary>The joiner joins, the asked committer commits its add, and the joiner gets the commit.</summary>
    private void Admit(TestMember committer, string committerConnection, TestMember joiner, string joinerConnection)
    {
        Join(joiner, joinerConnection);
        Submit(committer, committerConnection, Answer(committer, RequestTo(committerConnection)));
        Assert.Equal(_room.Epoch, Sent(joinerConnection, MessageType.Commit).Epoch);
    }

    private Envelope Sent(string connection, MessageType type) =>
        Assert.Single(_last.Effects.OfType<SendFrame<string>>().Where(s => s.To == connection).Select(s => Envelope.Parser.ParseFrom(s.Frame)), e => e.Type == type);

    private CommitRequest RequestTo(string connection) => Sent(connection, MessageType.CommitRequest).CommitRequest;

    private IEnumerable<string> Receivers(MessageType type) =>
        _last.Effects.OfType<SendFrame<string>>().Where(s => Envelope.Parser.ParseFrom(s.Frame).Type == type).Select(s => s.To);

    private RefuseRequest<string> Refused(string connection, ErrorCode code, bool notInRoom)
    {
        var refusal = Assert.Single(_last.Effects.OfType<RefuseRequest<string>>(), r => r.To == connection);
        Assert.Equal((code, notInRoom), (refusal.Code, refusal.NotInRoom));
        return refusal;
    }

    private List<string> FannedOutTo()
    {
        var fanout = Assert.NotNull(_last.Fanout);
        return [.. fanout.Recipients.Where(r => r.ClientId != fanout.SenderId).Select(r => r.Connection)];
    }
}
