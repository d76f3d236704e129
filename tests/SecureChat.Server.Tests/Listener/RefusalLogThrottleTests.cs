using SecureChat.Server.Listener;

namespace SecureChat.Server.Tests.Listener;

public sealed class RefusalLogThrottleTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 2, 6, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_first_refusal_of_a_reason_is_logged_then_none_until_the_interval_has_passed_and_that_line_counts_the_rest()
    {
        var throttle = new RefusalLogThrottle(TimeSpan.FromSeconds(10));

        Assert.True(throttle.ShouldLog(AdmissionRefusal.AddressHandshakeLimit, Start, out var first));
        Assert.Equal(0, first);
        for (var i = 1; i <= 500; i++)
        {
            Assert.False(throttle.ShouldLog(AdmissionRefusal.AddressHandshakeLimit, Start.AddMilliseconds(i * 19), out _));
        }

        Assert.True(throttle.ShouldLog(AdmissionRefusal.AddressHandshakeLimit, Start.AddSeconds(10), out var unlogged));
        Assert.Equal(500, unlogged);
        Assert.False(throttle.ShouldLog(AdmissionRefusal.AddressHandshakeLimit, Start.AddSeconds(11), out _));
    }

    [Fact]
    public void Each_reason_has_its_own_interval()
    {
        var throttle = new RefusalLogThrottle(TimeSpan.FromSeconds(10));

        Assert.True(throttle.ShouldLog(AdmissionRefusal.ConnectionLimit, Start, out _));
        Assert.True(throttle.ShouldLog(AdmissionRefusal.HandshakeBudget, Start.AddSeconds(1), out _));
        Assert.False(throttle.ShouldLog(AdmissionRefusal.ConnectionLimit, Start.AddSeconds(2), out _));
    }
}
