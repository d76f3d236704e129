using SecureChat.Client.Connection;
using SecureChat.Core.Wire;

namespace SecureChat.Client.Session;

/// <summary>Why a session stopped reconnecting: a failure that trying again cannot heal (<see cref="ReconnectRule"/>).</summary>
public enum StopCause
{
    /// <summary>The server refused our client certificate (it closed the connection right after the TLS handshake).</summary>
    ClientCertificateRefused,

    /// <summary>The server's certificate does not chain to our CA: another CA, or someone in between.</summary>
    ServerCertificateUntrusted,

    /// <summary>The server's certificate chains to our CA but does not name the host we connect to.</summary>
    ServerNameMismatch,

    /// <summary>Our certificate is for another id than ours (found before connecting, or the server said SENDER_MISMATCH or greeted another id).</summary>
    CertificateIdMismatch,

    /// <summary>Our certificate or CA file could not be loaded.</summary>
    CertificateUnusable,

    /// <summary>Another connection with our client id signed in (ERROR SIGNED_IN_ELSEWHERE, PROTOCOL.md §4.1.1).</summary>
    SignedInElsewhere,

    /// <summary>The server speaks another protocol version.</summary>
    UnsupportedVersion,
}

/// <summary>
/// Whether a failure of the connection is worth another attempt. Transient failures (refused TCP, a reset, a timeout, the
/// server stopping, a broken handshake) are retried with backoff; the ones below are not, because the next attempt would
/// fail the same way until a person changes something (a certificate, the server's CA, the software, the other client):
/// the session stops and says what happened (<see cref="ConnectionStopped"/>), and tries again only when asked
/// (<see cref="ClientCommands.Reconnect"/>).
/// </summary>
public static class ReconnectRule
{
    /// <summary>The stop a link failure calls for; null: transient, try again.</summary>
    /// <param name="certificateAcceptedBefore">
    /// The server greeted this session since the last connection it ended without a frame: our certificate was good there. Then
    /// one such end reads as a server that stopped between the handshake and its WELCOME (killed, restarting), and is retried;
    /// a second in a row is the refusal it looks like. Without an earlier greeting the first one stops.
    /// </param>
    public static StopCause? ForLink(LinkFailure failure, bool certificateAcceptedBefore = false) => failure switch
    {
        LinkFailure.ClosedBeforeAnyFrame when certificateAcceptedBefore => null,
        LinkFailure.ClosedBeforeAnyFrame => StopCause.ClientCertificateRefused,
        LinkFailure.ServerCertificateUntrusted => StopCause.ServerCertificateUntrusted,
        LinkFailure.ServerNameMismatch => StopCause.ServerNameMismatch,
        LinkFailure.CertificateIdMismatch => StopCause.CertificateIdMismatch,
        LinkFailure.CertificateUnusable => StopCause.CertificateUnusable,
        LinkFailure.UnsupportedVersion => StopCause.UnsupportedVersion,
        LinkFailure.ConnectionLost or LinkFailure.Unreachable or LinkFailure.TimedOut or LinkFailure.HandshakeFailed
            or LinkFailure.MalformedInput or LinkFailure.Closed => null,
        _ => null,
    };

    /// <summary>The stop a connection-level ERROR from the server calls for; null: transient (shown, then the link's end is retried).</summary>
    public static StopCause? ForServerError(ErrorCode code) => code switch
    {
        ErrorCode.SignedInElsewhere => StopCause.SignedInElsewhere,
        ErrorCode.UnsupportedVersion => StopCause.UnsupportedVersion,
        ErrorCode.SenderMismatch => StopCause.CertificateIdMismatch, // the server read another id from our certificate than we said
        _ => null,
    };
}
