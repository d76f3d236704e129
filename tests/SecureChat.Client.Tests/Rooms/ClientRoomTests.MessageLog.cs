using SecureChat.Client.Rooms;
using SecureChat.Client.Session;
using SecureChat.Core.Wire;
using SecureChat.Testing.Fakes;
using SecureChat.Testing.RawClients;
using Envelope = SecureChat.Core.Wire.Envelope;

namespace SecureChat.Client.Tests.Rooms;

/// <summary>The room loop with a server that keeps a message log (PROTOCOL.md §4.4.1): STORED, positions, resends, history gaps.</summary>
public sealed partial class ClientRoomTests
{
    [Fact]
    public void With_a_message_log_a_sent_message_is_relayed_then_stored_and_one_not_stored_when_the_link_drops_is_sent_again_after_the_resume()
    {
        var (room, bob) = AdmittedToBobsRoom();
        room.LinkLost();
        room.LinkReady(serverKeepsMessages: true);
        room.Frame(ServerFrames.Joined(Room, 2, 2, mode: JoinMode.Resumed));

        var first = Single(Take(room.Send("stored before the drop")), MessageType.Application);
        var second = Single(Take(room.Send("lost with the server")), MessageType.Application);
        Assert.Equal(new MessageRelayed(Room, 2, first.Sequence), Assert.Single(Take(room.Frame(Relayed(first, 1))).Events));
        Assert.Equal(2, room.Unacknowledged); // relayed is not the last word
        Assert.Equal(new MessageStored(Room, 2, first.Sequence, 1), Assert.Single(Take(room.Frame(ServerFrames.Stored(first, 1))).Events));
        Take(room.Frame(Relayed(second, 2)));
        Assert.Equal([(2ul, second.Sequence)], room.Unstored.Select(m => (m.Epoch, m.Generation)));

        var lost = Take(room.LinkLost());
        Assert.DoesNotContain(lost.Events, e => e is MessageNotDelivered); // kept for the resume
        var resume = Single(Take(room.LinkReady(serverKeepsMessages: true)), MessageType.Join);
        Assert.Equal(2ul, resume.Join.LastSeq); // from its position: RELAYED and STORED count
        var back = Take(room.Frame(ServerFrames.Joined(Room, 2, 2, mode: JoinMode.Resumed)));

        Assert.Equal([MessageType.Ack, MessageType.Application], back.Out.Select(e => e.Type));
        Assert.Equal(second, back.Out[1]); // byte for byte: members that have it drop the copy
        Assert.Equal("lost with the server", bob.Decrypt(back.Out[1]));
        Take(room.Frame(ServerFrames.Stored(second, 3)));
        Assert.Empty(room.Unstored);
    }

    [Fact]
    public void One_stored_frame_naming_several_of_our_messages_marks_each_stored_once_in_order_and_leaves_the_others_waiting()
    {
        var (room, _) = AdmittedToBobsRoom();
        room.LinkLost();
        room.LinkReady(serverKeepsMessages: true);
        room.Frame(ServerFrames.Joined(Room, 2, 2, mode: JoinMode.Resumed));
        var sent = Enumerable.Range(1, 4).Select(i => Single(Take(room.Send($"message {i}")), MessageType.Application)).ToList();
        for (var i = 0; i < sent.Count; i++)
        {
            Take(room.Frame(Relayed(sent[i], (ulong)i + 1)));
        }

        Take(room.Frame(ServerFrames.Stored(sent[0], 1))); // an earlier write told one already
        var stored = ServerFrames.Stored(sent[2], 3);
        stored.Stored = new Stored
        {
            Earlier =
            {
                new StoredMessage { Epoch = sent[0].Epoch, Sequence = sent[0].Sequence, RoomSeq = 1 },
                new StoredMessage { Epoch = sent[1].Epoch, Sequence = sent[1].Sequence, RoomSeq = 2 },
            },
        };
        EnvelopeCodec.Validate(stored);

        var marked = Take(room.Frame(stored));

        Assert.Equal([new MessageStored(Room, 2, sent[1].Sequence, 2), new MessageStored(Room, 2, sent[2].Sequence, 3)], marked.Events);
        Assert.Equal([sent[3].Sequence], room.Unstored.Select(m => m.Generation));
        Assert.Equal(4ul, room.Position); // the last RELAYED
    }

    [Fact]
    public void A_message_of_ours_the_catch_up_names_as_stored_is_not_sent_again()
    {
        var (room, _) = AdmittedToBobsRoom();
        room.LinkLost();
        room.LinkReady(serverKeepsMessages: true);
        room.Frame(ServerFrames.Joined(Room, 2, 2, mode: JoinMode.Resumed));
        var sent = Single(Take(room.Send("made it to the log")), MessageType.Application);
        room.LinkLost();
        room.LinkReady(serverKeepsMessages: true);

        var caughtUp = Take(room.Frame(ServerFrames.Stored(sent, 7)));
        var back = Take(room.Frame(ServerFrames.Joined(Room, 2, 2, mode: JoinMode.Resumed)));

        Assert.Equal(new MessageStored(Room, 2, sent.Sequence, 7), Assert.Single(caughtUp.Events));
        Assert.Equal([MessageType.Ack], back.Out.Select(e => e.Type));
        Assert.Equal(7ul, back.Out[0].RoomSeq);
    }

    [Fact]
    public void The_position_follows_what_arrives_is_acknowledged_in_batches_and_a_catch_up_chunk_is_acknowledged_at_once()
    {
        var (room, bob) = AdmittedToBobsRoom();
        room.LinkLost();
        room.LinkReady(serverKeepsMessages: true);
        room.Frame(ServerFrames.Joined(Room, 2, 2, mode: JoinMode.Resumed));
        var acks = new List<Envelope>();
        for (ulong seq = 1; seq <= ClientRoom.PositionAckEvery + 3; seq++)
        {
            var step = Take(room.Frame(bob.Encrypt($"message {seq}").Numbered(seq)));
            acks.AddRange(step.Out.Where(e => e.Type == MessageType.Ack));
            if (step.Out.Count > 0)
            {
                Assert.IsType<PositionAcknowledged>(step.Events[^1]); // after the message itself: a client storing both keeps the message first
            }
        }

        Assert.Equal([(ulong)ClientRoom.PositionAckEvery], acks.Select(a => a.RoomSeq));
        Assert.Equal((ulong)ClientRoom.PositionAckEvery + 3, room.Position);
        Assert.Equal(room.Position, Single(Take(room.Tick()), MessageType.Ack).RoomSeq);
        Assert.Empty(Take(room.Tick()).Out);

        room.LinkLost();
        Assert.Equal(room.Position, Single(Take(room.LinkReady(serverKeepsMessages: true)), MessageType.Join).Join.LastSeq);
        Take(room.Frame(bob.Encrypt("caught up").Numbered(90)));
        var chunkEnd = ServerFrames.Joined(Room, 2, 2, mode: JoinMode.Resumed);
        chunkEnd.Joined.CatchingUp = true;
        chunkEnd.Joined.LastSeq = 95;
        var chunk = Take(room.Frame(chunkEnd));
        Assert.Equal(95ul, Single(chunk, MessageType.Ack).RoomSeq);
        Assert.Equal(RoomPhase.Joining, room.Phase); // still catching up

        var last = ServerFrames.Joined(Room, 2, 2, mode: JoinMode.Resumed);
        last.Joined.LastSeq = 120;
        last.Joined.Missed = 4;
        var back = Take(room.Frame(last));
        Assert.Equal(new HistoryGap(Room, 4, 95), back.Events[0]);
        Assert.Equal((RoomPhase.Ready, 120ul), (room.Phase, room.Position));
    }

    [Fact]
    public void A_copy_of_a_message_the_room_already_read_is_shown_once()
    {
        var (room, bob) = AdmittedToBobsRoom();
        var message = bob.Encrypt("said once");

        var first = Take(room.Frame(message.Numbered(1)));
        var copy = Take(room.Frame(message.Numbered(2))); // the sender's resend after a server restart

        Assert.Equal("said once", Assert.IsType<MessageReceived>(Assert.Single(first.Events)).Text);
        Assert.DoesNotContain(copy.Events, e => e is MessageReceived);
    }

    [Fact]
    public void Without_a_message_log_a_lost_link_still_reports_what_was_not_relayed_and_nothing_is_sent_again()
    {
        var (room, _) = AdmittedToBobsRoom();
        var sent = Single(Take(room.Send("not relayed")), MessageType.Application);

        var lost = Take(room.LinkLost());

        Assert.Equal(sent.Sequence, Assert.IsType<MessageNotDelivered>(Assert.Single(lost.Events, e => e is MessageNotDelivered)).Generation);
        room.LinkReady();
        Assert.DoesNotContain(Take(room.Frame(ServerFrames.Joined(Room, 2, 2, mode: JoinMode.Resumed))).Out, e => e.Type == MessageType.Application);
    }

    private static Envelope Relayed(Envelope sent, ulong roomSeq)
    {
        var relayed = ServerFrames.Relayed(sent);
        relayed.RoomSeq = roomSeq;
        return relayed;
    }
}
