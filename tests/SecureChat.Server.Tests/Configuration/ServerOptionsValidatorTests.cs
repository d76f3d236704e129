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
}
