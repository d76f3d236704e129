using SecureChat.Core.Replay;

namespace SecureChat.Core.Tests.Replay;

public class ReplayWindowTests
{
    [Fact]
    public void First_sight_is_accepted_and_recorded()
    {
        var window = new ReplayWindow();

        Assert.Equal(ReplayVerdict.Accepted, window.Check(0));
        Assert.Equal(0UL, window.Highest);
        Assert.Equal(ReplayVerdict.Duplicate, window.Peek(0));
    }

    [Fact]
    public void A_duplicate_is_rejected_every_time()
    {
        var window = new ReplayWindow();
        window.Check(10);

        Assert.Equal(ReplayVerdict.Duplicate, window.Check(10));
        Assert.Equal(ReplayVerdict.Duplicate, window.Check(10));
    }

    [Fact]
    public void Out_of_order_inside_the_window_is_accepted_once()
    {
        var window = new ReplayWindow(64);
        window.Check(100);

        Assert.Equal(ReplayVerdict.Accepted, window.Check(95));
        Assert.Equal(ReplayVerdict.Duplicate, window.Check(95));
        Assert.Equal(ReplayVerdict.Accepted, window.Check(99));
        Assert.Equal(100UL, window.Highest);
    }

    [Fact]
    public void Older_than_the_window_is_too_old()
    {
        var window = new ReplayWindow(64);
        window.Check(1000);

        Assert.Equal(ReplayVerdict.TooOld, window.Check(1));
        Assert.Equal(ReplayVerdict.TooOld, window.Check(900));
    }

    [Fact]
    public void Window_edge_is_exact()
    {
        var window = new ReplayWindow(64);
        window.Check(1000);

        Assert.Equal(ReplayVerdict.TooOld, window.Peek(1000 - 64));
        Assert.Equal(ReplayVerdict.Accepted, window.Check(1000 - 64 + 1));
        Assert.Equal(ReplayVerdict.Duplicate, window.Check(1000 - 64 + 1));
        Assert.Equal(ReplayVerdict.TooOld, window.Check(1000 - 64));
    }

    [Fact]
    public void Advancing_by_one_moves_the_edge_by_one()
    {
        var window = new ReplayWindow(64);
        window.Check(1000);
        window.Check(937); // the oldest number inside the window
        window.Check(1001);

        Assert.Equal(ReplayVerdict.TooOld, window.Check(937));
        Assert.Equal(ReplayVerdict.Accepted, window.Check(938));
    }

    [Fact]
    public void A_big_jump_clears_the_bitmap()
    {
        var window = new ReplayWindow(64);
        for (ulong i = 0; i < 64; i++)
        {
            window.Check(i);
        }

        window.Check(10_000);

        // Every slot of the new window is free, including those that held 0..63.
        for (ulong sequence = 10_000 - 63; sequence < 10_000; sequence++)
        {
            Assert.Equal(ReplayVerdict.Accepted, window.Peek(sequence));
        }

        Assert.Equal(ReplayVerdict.Duplicate, window.Peek(10_000));
    }

    [Fact]
    public void A_jump_smaller_than_the_window_keeps_the_numbers_still_inside()
    {
        var window = new ReplayWindow(64);
        window.Check(100);
        window.Check(90);
        window.Check(130);

        Assert.Equal(ReplayVerdict.Duplicate, window.Check(90));
        Assert.Equal(ReplayVerdict.Duplicate, window.Check(100));
        Assert.Equal(ReplayVerdict.Accepted, window.Check(120));
    }

    [Fact]
    public void Peek_records_nothing()
    {
        var window = new ReplayWindow();
        Assert.Equal(ReplayVerdict.Accepted, window.Peek(5));
        Assert.Equal(ReplayVerdict.Accepted, window.Peek(5));
        Assert.Equal(ReplayVerdict.Accepted, window.Check(5));
    }

    [Fact]
    public void Numbers_near_ulong_max_neither_hang_nor_overflow()
    {
        var window = new ReplayWindow(64);
        Assert.Equal(ReplayVerdict.Accepted, window.Check(0));
        Assert.Equal(ReplayVerdict.Accepted, window.Check(ulong.MaxValue - 1));
        Assert.Equal(ReplayVerdict.Accepted, window.Check(ulong.MaxValue));
        Assert.Equal(ulong.MaxValue, window.Highest);

        Assert.Equal(ReplayVerdict.Duplicate, window.Check(ulong.MaxValue));
        Assert.Equal(ReplayVerdict.Duplicate, window.Check(ulong.MaxValue - 1));
        Assert.Equal(ReplayVerdict.Accepted, window.Check(ulong.MaxValue - 63));
        Assert.Equal(ReplayVerdict.TooOld, window.Check(ulong.MaxValue - 64));
        Assert.Equal(ReplayVerdict.TooOld, window.Check(0));
    }

    [Fact]
    public void A_first_number_of_ulong_max_works()
    {
        var window = new ReplayWindow();
        Assert.Equal(ReplayVerdict.Accepted, window.Check(ulong.MaxValue));
        Assert.Equal(ReplayVerdict.Duplicate, window.Check(ulong.MaxValue));
        Assert.Equal(ReplayVerdict.Accepted, window.Check(ulong.MaxValue - 1023));
        Assert.Equal(ReplayVerdict.TooOld, window.Check(ulong.MaxValue - 1024));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-64)]
    [InlineData(63)]
    [InlineData(100)]
    public void Sizes_that_are_not_positive_multiples_of_64_are_refused(int size)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReplayWindow(size));
    }

    [Fact]
    public void Default_size_is_1024()
    {
        Assert.Equal(1024, new ReplayWindow().Size);
        Assert.Equal(ReplayWindow.DefaultSize, new ReplayWindow().Size);
    }
}
