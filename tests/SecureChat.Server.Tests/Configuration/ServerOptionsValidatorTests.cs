using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Relay;
using SecureChat.Server.Configuration;
using SecureChat.Server.Connections;

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
    public void The_server_the_engine_and_the_rooms_share_one_default_room_size_and_its_commit_fits_the_default_frame()
    {
        var options = new ServerOptions();

        Assert.Equal(1000, WireLimits.DefaultMaxMembersPerRoom);
        Assert.Equal(WireLimits.DefaultMaxMembersPerRoom, options.MaxMembersPerRoom);
        Assert.Equal(WireLimits.DefaultMaxMembersPerRoom, options.ToConnectionSettings().MaxMembersPerRoom); // what WELCOME announces
        Assert.Equal(WireLimits.DefaultMaxMembersPerRoom, options.ToRoomSettings(TimeProvider.System).MaxMembers);
        Assert.Equal(WireLimits.DefaultMaxMembersPerRoom, ConnectionSettings.Default.MaxMembersPerRoom);
        Assert.Equal(WireLimits.DefaultMaxMembersPerRoom, RoomSettings.Default.MaxMembers);
        Assert.Equal(WireLimits.DefaultMaxMembersPerRoom, GroupOptions.Default.MaxMembers);
        Assert.Equal(WireLimits.DefaultMaxFrameBytes, GroupOptions.Default.MaxFrameBytes);
        Assert.InRange(CommitSizes.LargestCommitFrame(WireLimits.DefaultMaxMembersPerRoom), 1, WireLimits.DefaultMaxFrameBytes);
    }

    [Fact]
    public void A_room_size_whose_commit_cannot_fit_the_frame_limit_is_refused_naming_both_options()
    {
        var result = _validator.Validate(null, new ServerOptions { MaxFrameBytes = 64 * 1024 });

        Assert.True(result.Failed);
        var fitting = CommitSizes.MembersFitting(64 * 1024);
        Assert.InRange(fitting, 100, 200);
        Assert.Contains($"MaxMembersPerRoom 1000 needs frames of up to {CommitSizes.LargestCommitFrame(1000)} bytes", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains($"more than MaxFrameBytes 65536: raise MaxFrameBytes to at least {CommitSizes.LargestCommitFrame(1000)}, or lower MaxMembersPerRoom to at most {fitting}",
            result.FailureMessage, StringComparison.Ordinal);
        Assert.True(_validator.Validate(null, new ServerOptions { MaxFrameBytes = 64 * 1024, MaxMembersPerRoom = fitting }).Succeeded);
        Assert.True(_validator.Validate(null, new ServerOptions { MaxFrameBytes = 64 * 1024, MaxMembersPerRoom = fitting + 1 }).Failed);
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
