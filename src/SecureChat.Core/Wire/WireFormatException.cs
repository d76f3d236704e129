namespace SecureChat.Core.Wire;

/// <summary>Why bytes from the network were refused. Each maps to a wire <see cref="ErrorCode"/>.</summary>
public enum WireError
{
    /// <summary>The length prefix is zero.</summary>
    EmptyFrame,

    /// <summary>The length prefix is above the configured maximum.</summary>
    FrameTooLarge,

    /// <summary>The stream ended inside a length prefix or a frame body.</summary>
    Truncated,

    /// <summary>The frame body is not a valid Envelope.</summary>
    Unparsable,

    /// <summary>The envelope parsed but breaks a documented bound (sizes, ids, missing or mismatched payload).</summary>
    InvalidEnvelope,

    /// <summary>The envelope's protocol version is not one this build speaks.</summary>
    UnsupportedVersion,
}

/// <summary>The one error type every parser in this library throws for bad input.</summary>
public sealed class WireFormatException : Exception
{
    public WireFormatException(WireError error, string message)
        : base(message)
    {
        Error = error;
    }

    /// <summary>An envelope of another protocol version: <paramref name="peerVersion"/> is the version it named.</summary>
    public WireFormatException(uint peerVersion, string message)
        : base(message)
    {
        Error = WireError.UnsupportedVersion;
        PeerVersion = peerVersion;
    }

    public WireFormatException(WireError error, string message, Exception innerException)
        : base(message, innerException)
    {
        Error = error;
    }

    public WireFormatException()
        : this(WireError.Unparsable, "malformed input")
    {
    }

    public WireFormatException(string message)
        : this(WireError.Unparsable, message)
    {
    }

    public WireFormatException(string message, Exception innerException)
        : this(WireError.Unparsable, message, innerException)
    {
    }

    public WireError Error { get; }

    /// <summary>For <see cref="WireError.UnsupportedVersion"/>: the version the peer's envelope named.</summary>
    public uint? PeerVersion { get; }

    /// <summary>For <see cref="WireError.UnsupportedVersion"/>: the ERROR the peer sent in its version, read leniently (untrusted text).</summary>
    public Error? ForeignError { get; init; }

    public ErrorCode ToErrorCode() => Error switch
    {
        WireError.FrameTooLarge => ErrorCode.FrameTooLarge,
        WireError.InvalidEnvelope => ErrorCode.InvalidArgument,
        WireError.UnsupportedVersion => ErrorCode.UnsupportedVersion,
        _ => ErrorCode.MalformedFrame,
    };
}
