using SecureChat.Client.Session;

namespace SecureChat.Client.Tests.Session;

/// <summary>The reconnect waits: doubling and capped steps, and each wait spread over the upper part of its step.</summary>
public sealed class ReconnectBackoffTests
{
    private static readonly TimeSpan Initial = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(0, 500)]
    [InlineData(1, 1_000)]
    [InlineData(5, 16_000)]
    [InlineData(6, 30_000)]
    [InlineData(1_000, 30_000)]
    public void The_step_doubles_per_failed_round_up_to_the_cap(int rounds, int expectedMillis) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMillis), ReconnectBackoff.Step(rounds, Initial, Max));

    [Fact]
    public void Without_jitter_the_wait_is_the_step_and_with_it_the_wait_lies_in_the_steps_upper_half()
    {
        Assert.Equal(Initial, ReconnectBackoff.Delay(0, Initial, Max, jitter: 0, sample: 0.99));
        Assert.Equal(Initial, ReconnectBackoff.Delay(0, Initial, Max, jitter: 0.5, sample: 0));
        Assert.Equal(TimeSpan.FromMilliseconds(375), ReconnectBackoff.Delay(0, Initial, Max, jitter: 0.5, sample: 0.5));
        var shortest = ReconnectBackoff.Delay(0, Initial, Max, jitter: 0.5, sample: Math.BitDecrement(1.0));
        Assert.InRange(shortest, Initial / 2, Initial / 2 + TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public void Ten_thousand_clients_dropped_at_once_come_back_spread_over_the_step_not_in_one_wave()
    {
        var random = new Random(20261202);
        var perTenMillis = new int[Initial.Milliseconds / 10 + 1];
        for (var client = 0; client < 10_000; client++)
        {
            var wait = ReconnectBackoff.Delay(0, Initial, Max, jitter: 0.5, random.NextDouble());
            perTenMillis[(int)(wait.TotalMilliseconds / 10)]++;
        }

        // 10,000 waits over 250 ms: about 400 in each 10 ms, none of it empty; without the spread all 10,000 share one.
        Assert.All(perTenMillis[25..50], count => Assert.InRange(count, 300, 500));
        Assert.Equal(0, perTenMillis[..25].Sum());
    }

    [Theory]
    [InlineData(-0.1, 0.5)]
    [InlineData(1.1, 0.5)]
    [InlineData(0.5, -0.1)]
    [InlineData(0.5, 1.0)]
    public void Jitter_and_sample_outside_their_ranges_are_refused(double jitter, double sample) =>
        Assert.ThrowsAny<ArgumentOutOfRangeException>(() => ReconnectBackoff.Delay(0, Initial, Max, jitter, sample));
}
