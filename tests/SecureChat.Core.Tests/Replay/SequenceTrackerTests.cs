using SecureChat.Core.Replay;

namespace SecureChat.Core.Tests.Replay;

public class SequenceTrackerTests
{
    [Fact]
    public void Numbers_start_at_zero_and_increase_by_one()
    {
        var tracker = new SequenceTracker();
        var numbers = Enumerable.Range(0, 100).Select(_ => tracker.Next("room")).ToList();

        Assert.Equal(Enumerable.Range(0, 100).Select(i => (ulong)i), numbers);
        Assert.Equal(100UL, tracker.Peek("room"));
    }

    [Fact]
    public void Rooms_are_independent()
    {
        var tracker = new SequenceTracker();
        tracker.Next("a");
        tracker.Next("a");

        Assert.Equal(0UL, tracker.Next("b"));
        Assert.Equal(2UL, tracker.Next("a"));
        Assert.Equal(0UL, tracker.Peek("c"));
    }

    [Fact]
    public void Peek_does_not_advance()
    {
        var tracker = new SequenceTracker();
        Assert.Equal(0UL, tracker.Peek("room"));
        Assert.Equal(0UL, tracker.Peek("room"));
        Assert.Equal(0UL, tracker.Next("room"));
    }

    [Fact]
    public void Reset_starts_a_room_over_at_zero_and_leaves_others_alone()
    {
        var tracker = new SequenceTracker();
        tracker.Next("a");
        tracker.Next("a");
        tracker.Next("b");

        tracker.Reset("a");

        Assert.Equal(0UL, tracker.Next("a"));
        Assert.Equal(1UL, tracker.Next("b"));
    }

    [Fact]
    public void Room_ids_are_compared_ordinally()
    {
        var tracker = new SequenceTracker();
        tracker.Next("room");
        Assert.Equal(0UL, tracker.Next("ROOM"));
    }

    [Fact]
    public void Null_room_is_refused()
    {
        Assert.Throws<ArgumentNullException>(() => new SequenceTracker().Next(null!));
    }
}
