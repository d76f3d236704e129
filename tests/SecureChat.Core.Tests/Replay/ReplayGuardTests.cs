using SecureChat.Core.Replay;

namespace SecureChat.Core.Tests.Replay;

public class ReplayGuardTests
{
    [Fact]
    public void Senders_are_independent()
    {
        var guard = new ReplayGuard();
        Assert.Equal(ReplayVerdict.Accepted, guard.Check("room", 1, "alice", 5));
        Assert.Equal(ReplayVerdict.Accepted, guard.Check("room", 1, "bob", 5));
        Assert.Equal(ReplayVerdict.Duplicate, guard.Check("room", 1, "alice", 5));
        Assert.Equal(ReplayVerdict.Duplicate, guard.Check("room", 1, "bob", 5));
    }

    [Fact]
    public void Rooms_are_independent()
    {
        var guard = new ReplayGuard();
        Assert.Equal(ReplayVerdict.Accepted, guard.Check("room-a", 1, "alice", 5));
        Assert.Equal(ReplayVerdict.Accepted, guard.Check("room-b", 1, "alice", 5));
        Assert.Equal(ReplayVerdict.Duplicate, guard.Check("room-b", 1, "alice", 5));
    }

    [Fact]
    public void Epochs_are_independent()
    {
        var guard = new ReplayGuard();
        Assert.Equal(ReplayVerdict.Accepted, guard.Check("room", 1, "alice", 5));
        Assert.Equal(ReplayVerdict.Accepted, guard.Check("room", 2, "alice", 5));
        Assert.Equal(ReplayVerdict.Duplicate, guard.Check("room", 2, "alice", 5));
        Assert.Equal(3, new[] { guard.Check("room", 3, "alice", 0), guard.Check("room", 3, "bob", 0), guard.Check("room", 4, "alice", 0) }.Count(v => v == ReplayVerdict.Accepted));
    }

    [Fact]
    public void Ids_are_compared_ordinally()
    {
        var guard = new ReplayGuard();
        guard.Check("room", 1, "alice", 5);
        Assert.Equal(ReplayVerdict.Accepted, guard.Check("room", 1, "Alice", 5));
    }

    [Fact]
    public void Peek_records_nothing_and_creates_no_window()
    {
        var guard = new ReplayGuard();
        Assert.Equal(ReplayVerdict.Accepted, guard.Peek("room", 1, "alice", 5));
        Assert.Equal(0, guard.WindowCount);
        guard.Check("room", 1, "alice", 5);
        Assert.Equal(ReplayVerdict.Duplicate, guard.Peek("room", 1, "alice", 5));
    }

    [Fact]
    public void The_window_size_applies_to_every_window()
    {
        var guard = new ReplayGuard(64);
        guard.Check("room", 1, "alice", 1000);
        Assert.Equal(ReplayVerdict.TooOld, guard.Check("room", 1, "alice", 1000 - 64));
        Assert.Equal(ReplayVerdict.Accepted, guard.Check("room", 1, "alice", 1000 - 63));
    }

    [Fact]
    public void An_invalid_window_size_is_refused_up_front()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReplayGuard(100));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReplayGuard(0));
    }

    [Fact]
    public void Forget_epochs_before_drops_only_older_epochs_of_that_room()
    {
        var guard = new ReplayGuard();
        guard.Check("room", 1, "alice", 5);
        guard.Check("room", 2, "alice", 5);
        guard.Check("room", 3, "alice", 5);
        guard.Check("other", 1, "alice", 5);

        guard.ForgetEpochsBefore("room", 3);

        Assert.Equal(2, guard.WindowCount);
        Assert.Equal(ReplayVerdict.Duplicate, guard.Check("room", 3, "alice", 5));
        Assert.Equal(ReplayVerdict.Duplicate, guard.Check("other", 1, "alice", 5));
        Assert.Equal(ReplayVerdict.Accepted, guard.Peek("room", 1, "alice", 5));
    }

    [Fact]
    public void Forget_room_drops_every_window_of_that_room_only()
    {
        var guard = new ReplayGuard();
        guard.Check("room", 1, "alice", 5);
        guard.Check("room", 2, "bob", 5);
        guard.Check("other", 1, "alice", 5);

        guard.ForgetRoom("room");

        Assert.Equal(1, guard.WindowCount);
        Assert.Equal(ReplayVerdict.Accepted, guard.Peek("room", 1, "alice", 5));
        Assert.Equal(ReplayVerdict.Duplicate, guard.Peek("other", 1, "alice", 5));
    }

    [Fact]
    public void Null_ids_are_refused()
    {
        var guard = new ReplayGuard();
        Assert.Throws<ArgumentNullException>(() => guard.Check(null!, 1, "alice", 1));
        Assert.Throws<ArgumentNullException>(() => guard.Check("room", 1, null!, 1));
    }
}
