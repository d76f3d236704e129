using SecureChat.Core.Wire;

namespace SecureChat.Core.Framing;

/// <summary>Writes length-prefixed envelopes to a stream (the reading side is <see cref="FrameReader"/>).</summary>
public static class FrameWriter
{
    public static async ValueTask WriteEnvelopeAsync(Stream stream, Envelope envelope, int maxFrameBytes = WireLimits.DefaultMaxFrameBytes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var frame = FrameCodec.Encode(envelope, maxFrameBytes);
        await stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
