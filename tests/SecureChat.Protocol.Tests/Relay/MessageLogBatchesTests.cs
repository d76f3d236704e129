using Google.Protobuf;
using SecureChat.Protocol.Relay;

namespace SecureChat.Protocol.Tests.Relay;

/// <summary>The message log's group commit cut into journal events: one event per batch, bounded in entries and bytes, order kept.</summary>
public sealed class MessageLogBatchesTests
{
    [Fact]
    public void What_gathered_between_two_writes_is_one_event_in_the_order_it_was_applied()
    {
        var batches = new MessageLogBatches();
        RoomEvent[] logged = [Message(1, 100), new PositionAcknowledged(3, "bob", 1), Message(2, 100), new LogTruncated(4, 1)];

        batches.Add(logged[..2]);
        batches.Add(logged[2..]);
        var write = batches.Take();

        var batch = Assert.Single(write.Events);
        Assert.Equal(logged, batch.Entries);
        Assert.Equal(4ul, batch.Epoch); // the room's epoch at its last entry
        Assert.Equal((4, 2ul, 200L), (write.Entries, write.ThroughSeq, write.MessageBytes));
        Assert.True(batches.IsEmpty);
        Assert.Empty(batches.Take().Events);
    }

    [Fact]
    public void A_backlog_is_cut_into_events_of_at_most_the_entry_and_byte_bounds_and_a_larger_message_goes_alone()
    {
        var batches = new MessageLogBatches(maxEntries: 3, maxBytes: 1000);
        var small = Enumerable.Range(1, 7).Select(i => Message((ulong)i, 100)).ToList();

        batches.Add(small);
        batches.Add([Message(8, 5000), Message(9, 400), Message(10, 400), Message(11, 400)]);
        var write = batches.Take();

        Assert.Equal([[1ul, 2, 3], [4, 5, 6], [7], [8], [9, 10], [11]],
            write.Events.Select(e => e.Entries.Cast<MessageLogged>().Select(m => m.Message.Seq).ToArray()));
        Assert.Equal((11, 11ul), (write.Entries, write.ThroughSeq));
        Assert.All(write.Events.Where(e => e.Entries.Count > 1),
            e => Assert.InRange(e.Entries.Cast<MessageLogged>().Sum(m => m.Message.Envelope.Length), 1, 1000));
    }

    [Fact]
    public void Only_message_log_events_are_batched()
    {
        var batches = new MessageLogBatches();

        Assert.Throws<ArgumentException>(() => batches.Add([new MemberBack(3, "bob")]));
    }

    private static MessageLogged Message(ulong seq, int bytes) =>
        new(3, new LoggedMessage(seq, "alice", 3, seq, 1_767_225_600_000 + seq, ByteString.CopyFrom(new byte[bytes])));
}
