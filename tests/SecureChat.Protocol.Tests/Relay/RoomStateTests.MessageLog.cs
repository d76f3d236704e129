using Google.Protobuf;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Relay;
using SecureChat.Testing.RawClients;

namespace SecureChat.Protocol.Tests.Relay;

/// <summary>The room's message log (PROTOCOL.md §4.4.1): numbering, STORED, positions, replay on resume, bounds and history gaps.</summary>
public sealed partial class RoomStateTests
{
    private static readonly MessageLogLimits SmallChunks = MessageLogLimits.Default with { CatchUpChunkMessages = 10 };

    [Fact]
    public void A_relayed_message_is_numbered_fanned_out_at_once_and_its_sender_told_stored_only_once_the_host_made_it_durable()
    {
        AliceAndBobWithALog();
        var sent = Frames.Application("alice", Room, _room.Epoch, 1).Bytes();

        Publish(_alice, "alice-1", _room.Epoch, sent, sequence: 1);

        // The first relay of a run opens the log (journaled before the fan-out); the message itself goes in the next batch.
        Assert.Equal([new LogOpened(_room.Epoch, new SkippedSeqs(0, 1))], _last.Events);
        var logged = Assert.IsType<MessageLogged>(Assert.Single(_last.Logged));
        Assert.Equal((1ul, "alice", 1ul, sent), (logged.Message.Seq, logged.Message.SenderId, logged.Message.Generation, logged.Message.Envelope));
        var fanout = Assert.NotNull(_last.Fanout);
        Assert.Equal(sent, fanout.Frame.Span[..sent.Length].ToArray().AsByteString()); // the sender's bytes, then room_seq
        Assert.Equal(1ul, Envelope.Parser.ParseFrom(fanout.Frame).RoomSeq);
        var relayed = Envelope.Parser.ParseFrom(fanout.Relayed);
        Assert.Equal((MessageType.Relayed, 1ul, 1ul), (relayed.Type, relayed.Sequence, relayed.RoomSeq));
        Assert.Empty(_last.Effects.OfType<SendFrame<string>>());

        Publish(_alice, "alice-1", _room.Epoch, sequence: 2);
        Assert.Empty(_last.Events); // opened once per run
        Assert.Equal(2ul, Envelope.Parser.ParseFrom(_last.Fanout!.Value.Frame).RoomSeq);

        Did(_room.Stored(1));
        var stored = Sent("alice-1", MessageType.Stored);
        Assert.Equal((_room.Epoch, 1ul, 1ul), (stored.Epoch, stored.Sequence, stored.RoomSeq));
        Did(_room.Stored(2));
        Assert.Equal(2ul, Sent("alice-1", MessageType.Stored).RoomSeq);
    }

    [Fact]
    public void One_durable_write_tells_each_sender_stored_once_in_one_frame_naming_each_of_its_messages_in_number_order()
    {
        AliceAndBobWithALog();
        var epoch = _room.Epoch;
        Publish(_alice, "alice-1", epoch, sequence: 1);
        Publish(_bob, "bob-1", epoch, sequence: 1);
        Publish(_alice, "alice-1", epoch, sequence: 2);
        Publish(_alice, "alice-1", epoch, sequence: 3);
        Publish(_bob, "bob-1", epoch, sequence: 2); // number 5: not in the write

        Did(_room.Stored(4));

        var alice = Sent("alice-1", MessageType.Stored);
        Assert.Equal([(epoch, 1ul, 1ul), (epoch, 2ul, 3ul), (epoch, 3ul, 4ul)], StoredIn(alice));
        Assert.Equal([(epoch, 1ul, 2ul)], StoredIn(Sent("bob-1", MessageType.Stored)));
        Assert.Equal(Envelope.PayloadOneofCase.None, Sent("bob-1", MessageType.Stored).PayloadCase); // one message: no payload, as before

        Did(_room.Stored(5));
        Assert.Empty(FramesTo("alice-1")); // each message is told once
        Assert.Equal([(epoch, 2ul, 5ul)], StoredIn(Sent("bob-1", MessageType.Stored)));
    }

    [Fact]
    public void A_write_of_more_than_a_frame_holds_splits_a_senders_stored_into_frames_each_message_named_once()
    {
        AliceAndBobWithALog();
        var count = RoomState<string>.MaxStoredPerFrame * 2 + 3;
        for (var i = 1; i <= count; i++)
        {
            Publish(_alice, "alice-1", _room.Epoch, sequence: (ulong)i);
        }

        Did(_room.Stored((ulong)count));

        var frames = FramesTo("alice-1");
        Assert.Equal(3, frames.Count);
        Assert.All(frames, frame => Assert.True(StoredIn(frame).Count <= RoomState<string>.MaxStoredPerFrame));
        Assert.Equal(Enumerable.Range(1, count).Select(i => (ulong)i), frames.SelectMany(StoredIn).Select(m => m.Seq));
        Assert.All(frames, frame => EnvelopeCodec.Validate(frame));
    }

    [Fact]
    public void A_resend_the_log_held_hears_its_own_stored_beside_the_frame_of_the_messages_relayed_on_its_connection()
    {
        AliceAndBobWithALog();
        var epoch = _room.Epoch;
        var first = Frames.Application(_alice.Id, Room, epoch, 1).Bytes();
        Publish(_alice, "alice-1", epoch, first, sequence: 1);
        Disconnect("alice-1"); // before STORED
        Did(_room.Join("alice", _alice.Bundle, Aes, "alice-2", knownEpoch: epoch, lastSeq: 1));
        Publish(_alice, "alice-2", epoch, first, sequence: 1); // the resend: held, not yet durable
        Publish(_alice, "alice-2", epoch, sequence: 2);
        Publish(_alice, "alice-2", epoch, sequence: 3);

        Did(_room.Stored(3));

        Assert.Equal([[(epoch, 1ul, 1ul)], [(epoch, 2ul, 2ul), (epoch, 3ul, 3ul)]], FramesTo("alice-2").Select(StoredIn));
    }

    [Fact]
    public void The_largest_stored_frame_fits_the_smallest_frame_limit_a_server_may_set()
    {
        var largest = Enumerable.Range(0, RoomState<string>.MaxStoredPerFrame)
            .Select(i => new StoredMessage { Epoch = ulong.MaxValue, Sequence = ulong.MaxValue, RoomSeq = ulong.MaxValue - (ulong)(RoomState<string>.MaxStoredPerFrame - i) })
            .ToList();

        Assert.True(ServerFrames.Stored(new string('r', 64), largest).Length <= 1024); // ServerOptions.MaxFrameBytes: at least 1024
    }

    [Fact]
    public void A_stored_frame_of_one_message_has_the_same_bytes_from_the_rooms_prefix_as_from_the_list()
    {
        var one = new StoredMessage { Epoch = 3, Sequence = 200, RoomSeq = 70_000 };

        Assert.Equal(ServerFrames.Stored(ServerFrames.StoredPrefix(Room), 3, 200, 70_000), ServerFrames.Stored(Room, [one]));
    }

    /// <summary>What a STORED frame acknowledges, in its order: the payload's earlier messages, then the one the envelope names.</summary>
    private static List<(ulong Epoch, ulong Generation, ulong Seq)> StoredIn(Envelope stored)
    {
        Assert.Equal(MessageType.Stored, stored.Type);
        var earlier = stored.PayloadCase == Envelope.PayloadOneofCase.Stored ? stored.Stored.Earlier : [];
        return [.. earlier.Select(m => (m.Epoch, m.Sequence, m.RoomSeq)), (stored.Epoch, stored.Sequence, stored.RoomSeq)];
    }

    [Fact]
    public void A_resend_of_a_message_the_log_holds_is_not_relayed_again_and_hears_stored_with_the_original_number()
    {
        AliceAndBobWithALog();
        var first = Frames.Application(_alice.Id, Room, _room.Epoch, 1).Bytes();
        var second = Frames.Application(_alice.Id, Room, _room.Epoch, 2).Bytes();
        Publish(_alice, "alice-1", _room.Epoch, first, sequence: 1);
        Publish(_alice, "alice-1", _room.Epoch, second, sequence: 2);
        Did(_room.Stored(1));

        // Alice's link went before STORED came: after her resume she sends both again, byte for byte.
        Disconnect("alice-1");
        Did(_room.Join("alice", _alice.Bundle, Aes, "alice-2", knownEpoch: _room.Epoch, lastSeq: 2));
        Publish(_alice, "alice-2", _room.Epoch, first, sequence: 1);
        Assert.Null(_last.Fanout);
        Assert.Empty(_last.Logged);
        var stored = Sent("alice-2", MessageType.Stored);
        Assert.Equal((1ul, 1ul), (stored.Sequence, stored.RoomSeq));

        Publish(_alice, "alice-2", _room.Epoch, second, sequence: 2); // logged, not yet durable: STORED when its batch is
        Assert.Null(_last.Fanout);
        Assert.Empty(FramesTo("alice-2"));
        Did(_room.Stored(2));
        Assert.Equal(2ul, Sent("alice-2", MessageType.Stored).RoomSeq);

        // Other bytes under a logged generation are not a resend: relayed as any message (members' replay rule decides).
        Publish(_alice, "alice-2", _room.Epoch, Frames.Application(_alice.Id, Room, _room.Epoch, 1).Bytes(), sequence: 1);
        Assert.Equal(["bob-1"], FannedOutTo());
    }

    [Fact]
    public void Bob_offline_while_alice_sends_50_gets_all_50_once_in_order_on_resume_then_live_traffic()
    {
        AliceAndBobWithALog();
        Disconnect("bob-1");
        for (ulong i = 1; i <= 50; i++)
        {
            Publish(_alice, "alice-1", _room.Epoch, sequence: i);
            Assert.Empty(FannedOutTo());
        }

        Did(_room.Join("bob", _bob.Bundle, Aes, "bob-2", knownEpoch: _room.Epoch, lastSeq: 0));

        var frames = FramesTo("bob-2");
        Assert.Equal(Enumerable.Range(1, 50).Select(i => (ulong)i), frames.Where(f => f.Type == MessageType.Application).Select(f => f.Sequence));
        Assert.Equal(Enumerable.Range(1, 50).Select(i => (ulong)i), frames.Where(f => f.Type == MessageType.Application).Select(f => f.RoomSeq));
        var joined = frames[^1];
        Assert.Equal((MessageType.Joined, JoinMode.Resumed, false, 50ul, 0ul),
            (joined.Type, joined.Joined.Mode, joined.Joined.CatchingUp, joined.Joined.LastSeq, joined.Joined.Missed));

        Publish(_alice, "alice-1", _room.Epoch, sequence: 51);
        Assert.Equal(["bob-2"], FannedOutTo());
    }

    [Fact]
    public void A_resume_replays_after_the_members_position_in_relay_order_with_commits_between_and_its_own_messages_as_stored()
    {
        AliceAndBobWithALog();
        var epoch = _room.Epoch;
        Publish(_bob, "bob-1", epoch, sequence: 1);
        Disconnect("bob-1"); // before its STORED, and before it acknowledged anything
        Publish(_alice, "alice-1", epoch, sequence: 1);
        AliceRekeys();
        Publish(_alice, "alice-1", epoch + 1, sequence: 1);

        // last_seq 0: from the position the room keeps for bob (its admission).
        Did(_room.Join("bob", _bob.Bundle, Aes, "bob-2", knownEpoch: epoch));

        Assert.Equal([(MessageType.Stored, 1ul), (MessageType.Application, 2ul), (MessageType.Commit, 0ul), (MessageType.Application, 3ul), (MessageType.Joined, 0ul)],
            FramesTo("bob-2").Select(f => (f.Type, f.RoomSeq)));
        var stored = FramesTo("bob-2")[0];
        Assert.Equal((epoch, 1ul), (stored.Epoch, stored.Sequence));

        Did(_room.Acknowledge("bob", 2, "bob-2"));
        Disconnect("bob-2");
        Did(_room.Join("bob", _bob.Bundle, Aes, "bob-3", knownEpoch: epoch + 1));
        Assert.Equal([(MessageType.Application, 3ul), (MessageType.Joined, 0ul)], FramesTo("bob-3").Select(f => (f.Type, f.RoomSeq)));
    }

    [Fact]
    public void A_long_catch_up_comes_in_chunks_each_acknowledged_and_the_member_is_live_only_after_the_last()
    {
        AliceAndBobWithALog(SmallChunks);
        Disconnect("bob-1");
        for (ulong i = 1; i <= 25; i++)
        {
            Publish(_alice, "alice-1", _room.Epoch, sequence: i);
        }

        Did(_room.Join("bob", _bob.Bundle, Aes, "bob-2", knownEpoch: _room.Epoch, lastSeq: 0));
        var received = new List<ulong>();
        while (true)
        {
            var frames = FramesTo("bob-2");
            received.AddRange(frames.Where(f => f.Type == MessageType.Application).Select(f => f.RoomSeq));
            var joined = Assert.Single(frames, f => f.Type == MessageType.Joined).Joined;
            Assert.Equal(JoinMode.Resumed, joined.Mode);
            if (!joined.CatchingUp)
            {
                break;
            }

            Assert.True(frames.Count(f => f.Type == MessageType.Application) <= 10);
            Publish(_alice, "alice-1", _room.Epoch, sequence: (ulong)(100 + received.Count)); // live traffic meanwhile joins the catch-up
            Assert.Empty(FannedOutTo());
            Did(_room.Acknowledge("bob", joined.LastSeq, "bob-2"));
        }

        Assert.Equal(Enumerable.Range(1, (int)_room.LastSeq).Select(i => (ulong)i), received);
        Assert.Equal(27ul, _room.LastSeq); // 25, and one during each of the two chunks that were not the last
        Assert.Equal(20ul, _room.Positions["bob"]); // it acknowledged the chunks
    }

    [Fact]
    public void A_member_whose_position_fell_out_of_the_log_is_told_exactly_how_many_messages_it_missed_across_a_restart()
    {
        var limits = MessageLogLimits.Default with { MaxMessages = 10, MaxUndurable = 100 };
        AliceAndBobWithALog(limits);
        Publish(_alice, "alice-1", _room.Epoch, sequence: 1);
        Disconnect("bob-1");
        for (ulong i = 2; i <= 12; i++)
        {
            Publish(_alice, "alice-1", _room.Epoch, sequence: i);
        }

        // The room restarts from its events: the new run skips 100 numbers, none of them a message.
        var restarted = NewRoom(messageLog: limits);
        foreach (var change in _events)
        {
            restarted.Apply(change);
        }

        _room = restarted;
        Did(_room.Start());
        Did(_room.Join("alice", _alice.Bundle, Aes, "alice-2", knownEpoch: _room.Epoch));
        for (ulong i = 13; i <= 20; i++)
        {
            Publish(_alice, "alice-2", _room.Epoch, sequence: i);
        }

        Assert.Equal(120ul, _room.LastSeq); // 12, then 100 skipped, then 8 more
        Did(_room.Join("bob", _bob.Bundle, Aes, "bob-2", knownEpoch: _room.Epoch, lastSeq: 1));

        var frames = FramesTo("bob-2");
        Assert.Equal(10, frames.Count(f => f.Type == MessageType.Application)); // the log's bound
        var joined = Sent("bob-2", MessageType.Joined).Joined;
        Assert.Equal((JoinMode.Resumed, 9ul, 120ul), (joined.Mode, joined.Missed, joined.LastSeq)); // 19 after its position, 10 kept
    }

    [Fact]
    public void A_room_that_crashed_before_its_last_batch_was_durable_never_gives_those_numbers_to_other_messages()
    {
        AliceAndBobWithALog(MessageLogLimits.Default with { MaxUndurable = 100 });
        Publish(_alice, "alice-1", _room.Epoch, sequence: 1);
        var durable = _events.ToList(); // the batch with message 1 was written; the one with 2 and 3 never was
        Publish(_alice, "alice-1", _room.Epoch, sequence: 2);
        Publish(_alice, "alice-1", _room.Epoch, sequence: 3);
        Assert.Equal(["bob-1"], FannedOutTo()); // bob got 2 and 3 live: his position is 3

        _room = NewRoom(messageLog: MessageLogLimits.Default with { MaxUndurable = 100 });
        foreach (var change in durable)
        {
            _room.Apply(change);
        }

        Did(_room.Start());
        Did(_room.Join("alice", _alice.Bundle, Aes, "alice-2", knownEpoch: _room.Epoch));
        Publish(_alice, "alice-2", _room.Epoch, sequence: 2); // alice's resend of 2 (not STORED)
        Publish(_alice, "alice-2", _room.Epoch, sequence: 4);
        Did(_room.Join("bob", _bob.Bundle, Aes, "bob-2", knownEpoch: _room.Epoch, lastSeq: 3));

        Assert.Equal([2ul, 4ul], FramesTo("bob-2").Where(f => f.Type == MessageType.Application).Select(f => f.Sequence));
        Assert.Equal(0ul, Sent("bob-2", MessageType.Joined).Joined.Missed);
    }

    [Fact]
    public void A_member_that_must_rejoin_is_told_how_many_messages_after_its_position_it_cannot_read()
    {
        _room = NewRoom(commitLogLength: 1, messageLog: MessageLogLimits.Default);
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        var bobsEpoch = _room.Epoch;
        Disconnect("bob-1");
        Publish(_alice, "alice-1", _room.Epoch, sequence: 1);
        AliceRekeys();
        AliceRekeys();
        Publish(_alice, "alice-1", _room.Epoch, sequence: 1);

        Did(_room.Join("bob", _bob.Bundle, Aes, "bob-2", knownEpoch: bobsEpoch, lastSeq: 0));
        var joined = Sent("bob-2", MessageType.Joined).Joined;
        Assert.Equal((JoinMode.RejoinNeeded, 2ul), (joined.Mode, joined.Missed)); // its admission position was 0: both messages
    }

    [Fact]
    public void A_member_removed_for_its_absence_is_shown_the_removal_on_return_and_told_how_many_messages_it_cannot_read()
    {
        var bob = Member("bob", DateTimeOffset.UtcNow.AddDays(60)); // a bundle that outlives the absence limit
        _room = NewRoom(messageLog: MessageLogLimits.Default);
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", bob, "bob-1");
        var bobsEpoch = _room.Epoch;
        Publish(_alice, "alice-1", _room.Epoch, sequence: 1); // bob reads this one live: his position is 1
        Disconnect("bob-1");
        Publish(_alice, "alice-1", _room.Epoch, sequence: 2);
        Publish(_alice, "alice-1", _room.Epoch, sequence: 3);
        _clock.Advance(RoomPolicies.DefaultAbsenceLimitMs);
        Did(_room.AbsenceCheckDue());
        Submit(_alice, "alice-1", Answer(_alice, RequestTo("alice-1")));
        Assert.Equal(["alice"], _room.Snapshot().Roster);
        Publish(_alice, "alice-1", _room.Epoch, sequence: 1);

        Did(_room.Join("bob", bob.Bundle, Aes, "bob-2", knownEpoch: bobsEpoch, lastSeq: 1));

        var frames = FramesTo("bob-2");
        Assert.Equal([MessageType.Commit, MessageType.Joined], frames.Select(f => f.Type)); // the signed commit that removed him, then why
        Assert.Equal(RemoveReason.Absent, Assert.Single(CommitContent.Parser.ParseFrom(frames[0].Commit.Content).Operations).Remove.Reason);
        Assert.Equal((JoinMode.RejoinNeeded, 3ul), (frames[1].Joined.Mode, frames[1].Joined.Missed));
    }

    [Fact]
    public void What_every_member_acknowledged_leaves_the_log_and_acks_beyond_the_last_number_or_from_strangers_change_nothing()
    {
        AliceAndBobWithALog();
        for (ulong i = 1; i <= 3; i++)
        {
            Publish(_alice, "alice-1", _room.Epoch, sequence: i);
        }

        Did(_room.Acknowledge("bob", 9, "bob-1"));
        Assert.Empty(_last.Logged);
        Did(_room.Acknowledge("bob", 2, "mallory-1"));
        Assert.Empty(_last.Logged);
        Did(_room.Acknowledge("bob", 2, "bob-1"));
        Assert.Equal([new PositionAcknowledged(_room.Epoch, "bob", 2)], _last.Logged);
        Assert.Equal(3, _room.Messages.Count());

        Did(_room.Acknowledge("alice", 3, "alice-1"));
        Assert.Equal([new PositionAcknowledged(_room.Epoch, "alice", 3), new LogTruncated(_room.Epoch, 2)], _last.Logged);
        Assert.Equal([3ul], _room.Messages.Select(m => m.Seq));
    }

    [Fact]
    public void A_journal_of_batched_message_log_events_and_one_of_single_events_replay_to_the_room_that_wrote_them()
    {
        AliceAndBobWithALog(MessageLogLimits.Default with { MaxMessages = 20 });
        var batches = new MessageLogBatches(maxEntries: 7, maxBytes: 4096); // several events per write, cut by count and by bytes
        List<RoomEvent> batched = [], single = [];
        void Journal(RoomDecision<string> decision)
        {
            // As RoomActor journals: a decision's events at once, its message-log events with the next write.
            Did(decision);
            batched.AddRange(decision.Events);
            single.AddRange(decision.Events);
            batches.Add(decision.Logged);
        }

        void Write()
        {
            var write = batches.Take();
            batched.AddRange(write.Events);
            single.AddRange(write.Events.SelectMany(e => e.Entries));
        }

        for (ulong i = 1; i <= 60; i++)
        {
            Journal(_room.Publish("alice", _room.Epoch, i, Frames.Application("alice", Room, _room.Epoch, i).Bytes(), "alice-1"));
            if (i % 9 == 0)
            {
                Journal(_room.Acknowledge("bob", _room.LastSeq - 3, "bob-1"));
                Journal(_room.Acknowledge("alice", _room.LastSeq, "alice-1"));
            }

            if (i == 30)
            {
                // A commit while a batch gathers: journaled before the message-log events applied ahead of it.
                Journal(_room.SubmitCommit("alice", _alice.Commit(Room, _room.Epoch + 1, Bundles(), rekey: true, previous: _room.TranscriptHash), "alice-1"));
            }

            if (i % 13 == 0 || i == 60)
            {
                Write();
            }
        }

        Assert.True(batched.OfType<MessageLogBatch>().Count() > 60 / 13, "the bounds cut writes into several events");
        Assert.Contains(single, e => e is LogTruncated);
        var live = _room.Durable();
        foreach (var journal in new[] { batched, single })
        {
            var replayed = NewRoom(messageLog: MessageLogLimits.Default with { MaxMessages = 20 });
            foreach (var change in journal)
            {
                replayed.Apply(change);
            }

            var durable = replayed.Durable();
            Assert.Equal((live.Epoch, live.LastSeq, live.LogOpened), (durable.Epoch, durable.LastSeq, durable.LogOpened));
            Assert.Equal(live.Messages, durable.Messages);
            Assert.Equal(live.Positions, durable.Positions);
            Assert.Equal(live.Skipped, durable.Skipped);
            Assert.Equal(live.Roster.Select(m => m.ClientId), durable.Roster.Select(m => m.ClientId));
        }
    }

    [Fact]
    public void A_message_log_batch_holds_only_message_log_events()
    {
        AliceAndBobWithALog();

        Assert.Throws<ArgumentException>(() => _room.Apply(new MessageLogBatch(_room.Epoch, [new MemberBack(_room.Epoch, "bob")])));
    }

    [Fact]
    public void Without_a_message_log_a_relayed_message_is_byte_identical_unnumbered_and_never_replayed()
    {
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
        var sent = Frames.Application("alice", Room, _room.Epoch, 1).Bytes();

        Publish(_alice, "alice-1", _room.Epoch, sent, sequence: 1);

        Assert.Equal(sent, _last.Fanout!.Value.Frame);
        Assert.Empty(_last.Logged);
        Assert.Equal(0ul, Envelope.Parser.ParseFrom(_last.Fanout!.Value.Relayed).RoomSeq);
    }

    private void AliceAndBobWithALog(MessageLogLimits? limits = null)
    {
        _room = NewRoom(messageLog: limits ?? MessageLogLimits.Default);
        CreateRoom(_alice, "alice-1");
        Admit(_alice, "alice-1", _bob, "bob-1");
    }
}

internal static class ByteArrayExtensions
{
    public static ByteString AsByteString(this byte[] bytes) => ByteString.CopyFrom(bytes);
}
