using SecureChat.Server.Configuration;

namespace SecureChat.Server.Tests.Configuration;

public sealed class ServerOptionsValidatorTests
{
    private readonly ServerOptionsValidator _validator = new();

    [Fact]
    public void The_defaults_are_valid()
    {
        Assert.True(_validator.Validate(null, new ServerOptions()).Succeeded);
    }

    [Fact]
    public void An_outbound_byte_bound_smaller_than_one_largest_frame_is_refused()
    {
        var options = new ServerOptions { MaxFrameBytes = 1024 * 1024, OutboundQueueBytes = 512 * 1024 };

        var result = _validator.Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("OutboundQueueBytes", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Out_of_range_limits_and_non_positive_timeouts_are_refused()
    {
        var options = new ServerOptions { OutboundQueueBytes = 1024, CommitTimeout = TimeSpan.Zero };

        var result = _validator.Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("OutboundQueueBytes", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("CommitTimeout", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void A_rekey_limit_below_one_is_refused()
    {
        var result = _validator.Validate(null, new ServerOptions { RekeysPerMemberPerMinute = 0 });

        Assert.True(result.Failed);
        Assert.Contains("RekeysPerMemberPerMinute", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Rooms_get_the_frame_limit_of_the_connections_and_the_rekey_limit()
    {
        var settings = new ServerOptions { MaxFrameBytes = 32 * 1024, RekeysPerMemberPerMinute = 3 }.ToRoomSettings(TimeProvider.System);

        Assert.Equal((32 * 1024, 3), (settings.MaxFrameBytes, settings.RekeysPerMemberPerMinute));
    }
}
