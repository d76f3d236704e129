using SecureChat.Client.Connection;
using SecureChat.Client.Session;
using SecureChat.Core.Wire;

namespace SecureChat.Client.Tests.Session;

/// <summary>Every link failure and every wire error code, each with the decision it must get: retry, or stop and why.</summary>
public sealed class ReconnectRuleTests
{
    private static readonly Dictionary<LinkFailure, StopCause?> LinkDecisions = new()
    {
        [LinkFailure.ConnectionLost] = null,
        [LinkFailure.Unreachable] = null,
        [LinkFailure.TimedOut] = null,
        [LinkFailure.HandshakeFailed] = null,
        [LinkFailure.MalformedInput] = null,
        [LinkFailure.Closed] = null,
        [LinkFailure.ClosedBeforeAnyFrame] = StopCause.ClientCertificateRefused,
        [LinkFailure.ServerCertificateUntrusted] = StopCause.ServerCertificateUntrusted,
        [LinkFailure.ServerNameMismatch] = StopCause.ServerNameMismatch,
        [LinkFailure.CertificateIdMismatch] = StopCause.CertificateIdMismatch,
        [LinkFailure.CertificateUnusable] = StopCause.CertificateUnusable,
        [LinkFailure.UnsupportedVersion] = StopCause.UnsupportedVersion,
    };

    private static readonly Dictionary<ErrorCode, StopCause> StoppingErrors = new()
    {
        [ErrorCode.SignedInElsewhere] = StopCause.SignedInElsewhere,
        [ErrorCode.UnsupportedVersion] = StopCause.UnsupportedVersion,
        [ErrorCode.SenderMismatch] = StopCause.CertificateIdMismatch,
    };

    [Fact]
    public void Every_link_failure_has_its_decision()
    {
        Assert.Equal(Enum.GetValues<LinkFailure>().Order(), LinkDecisions.Keys.Order()); // a new kind needs a decision here
        foreach (var (failure, expected) in LinkDecisions)
        {
            Assert.True(expected == ReconnectRule.ForLink(failure), $"{failure}: expected {expected?.ToString() ?? "retry"}, got {ReconnectRule.ForLink(failure)?.ToString() ?? "retry"}");

            // After a greeting, only the silent close gets one retry: every other decision stays the same.
            var afterGreeting = failure == LinkFailure.ClosedBeforeAnyFrame ? null : expected;
            Assert.True(afterGreeting == ReconnectRule.ForLink(failure, certificateAcceptedBefore: true), $"{failure} after a greeting");
        }
    }

    [Fact]
    public void Only_the_errors_no_retry_can_heal_stop_the_session_every_other_code_is_retried()
    {
        foreach (var code in Enum.GetValues<ErrorCode>())
        {
            var expected = StoppingErrors.TryGetValue(code, out var cause) ? cause : (StopCause?)null;
            Assert.True(expected == ReconnectRule.ForServerError(code), $"{code}: expected {expected?.ToString() ?? "retry"}");
        }

        // Named for the reader: the transient ones people meet.
        Assert.Null(ReconnectRule.ForServerError(ErrorCode.ServerShutdown));
        Assert.Null(ReconnectRule.ForServerError(ErrorCode.IdleTimeout));
        Assert.Null(ReconnectRule.ForServerError(ErrorCode.SlowConsumer));
    }

    [Fact]
    public void Every_stop_cause_is_reachable()
    {
        var reachable = LinkDecisions.Values.OfType<StopCause>().Concat(StoppingErrors.Values).ToHashSet();
        Assert.Equal(Enum.GetValues<StopCause>().Order(), reachable.Order());
    }
}
