namespace SecureChat.Client.Connection;

/// <summary>
/// What ended a link, as far as the link itself can tell (<see cref="LinkEvents.LinkDown.Kind"/>). Whether the session
/// tries again is <see cref="Session.ReconnectRule"/>'s decision, not the link's.
/// </summary>
public enum LinkFailure
{
    /// <summary>The connection was up and ended: the server closed it, reset it, or a read or write failed.</summary>
    ConnectionLost,

    /// <summary>No TCP connection: refused, no route, name not resolved.</summary>
    Unreachable,

    /// <summary>The TCP connection or the TLS handshake did not finish within the connect timeout.</summary>
    TimedOut,

    /// <summary>The TLS handshake failed without our refusing the server (the server hung up mid-handshake, a protocol mismatch).</summary>
    HandshakeFailed,

    /// <summary>We refused the server's certificate: it does not chain to our CA, or lacks serverAuth.</summary>
    ServerCertificateUntrusted,

    /// <summary>We refused the server's certificate: it chains to our CA but does not name the host we connect to.</summary>
    ServerNameMismatch,

    /// <summary>
    /// The server closed the connection right after the TLS handshake, before sending a single frame. In TLS 1.3 the server
    /// checks our certificate after our side of the handshake has finished, and the reference server then closes without an
    /// alert: this is how a refused client certificate looks from here (a server that stops sends SERVER_SHUTDOWN first).
    /// </summary>
    ClosedBeforeAnyFrame,

    /// <summary>Found before connecting: our certificate's CN is not our client id.</summary>
    CertificateIdMismatch,

    /// <summary>Found before connecting: our certificate (or the CA we check the server against) could not be loaded.</summary>
    CertificateUnusable,

    /// <summary>The server sent a frame of another protocol version.</summary>
    UnsupportedVersion,

    /// <summary>The server sent a frame that does not parse, or one over the size limit.</summary>
    MalformedInput,

    /// <summary>We closed it (disposed).</summary>
    Closed,
}
