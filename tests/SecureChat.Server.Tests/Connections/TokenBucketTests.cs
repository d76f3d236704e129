using SecureChat.Server.Connections;
using SecureChat.Testing.Fakes;

namespace SecureChat.Server.Tests.Connections;

public sealed class TokenBucketTests
{
    [Fact]
    public void A_full_bucket_allows_its_burst_and_then_refuses()
    {
        var clock = new ManualClock(DateTimeOffset.UnixEpoch);
        var bucket = new TokenBucket(capacity: 3, ratePerSecond: 1, clock);

        Assert.True(bucket.TryTake(1));
        Assert.True(bucket.TryTake(1));
        Assert.True(bucket.TryTake(1));
        Assert.False(bucket.TryTake(1));
    }

    [Fact]
    public void Tokens_come_back_at_the_rate_and_never_above_capacity()
    {
        var clock = new ManualClock(DateTimeOffset.UnixEpoch);
        var bucket = new TokenBucket(capacity: 2, ratePerSecond: 10, clock);
        Assert.True(bucket.TryTake(2));

        clock.Advance(TimeSpan.FromMilliseconds(100));
        Assert.True(bucket.TryTake(1));
        Assert.False(bucket.TryTake(1));

        clock.Advance(TimeSpan.FromHours(1));
        Assert.True(bucket.TryTake(2));
        Assert.False(bucket.TryTake(0.5));
    }

    [Fact]
    public void A_frame_budget_refuses_on_either_frames_or_bytes()
    {
        var clock = new ManualClock(DateTimeOffset.UnixEpoch);
        var budget = new FrameBudget(framesPerSecond: 100, frameBurst: 100, bytesPerSecond: 1000, byteBurst: 1000, clock);

        Assert.True(budget.TryTake(900));
        Assert.False(budget.TryTake(200));

        var frames = new FrameBudget(framesPerSecond: 1, frameBurst: 2, bytesPerSecond: 1_000_000, byteBurst: 1_000_000, clock);
        Assert.True(frames.TryTake(10));
        Assert.True(frames.TryTake(10));
        Assert.False(frames.TryTake(10));
    }
}
