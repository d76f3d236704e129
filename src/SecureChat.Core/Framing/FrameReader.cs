using SecureChat.Core.Wire;

namespace SecureChat.Core.Framing;

/// <summary>
/// Reads length-prefixed frames from a stream. The body buffer is allocated only after the
/// prefix has been checked, so one frame never costs more than the maximum, whatever the
/// prefix claims; and it grows as the body arrives (from 64 KiB, doubling), so a peer that
/// claims a large frame and sends little of it holds little memory, however large the limit.
/// </summary>
public sealed class FrameReader
{
    private const int FirstBodyChunkBytes = 64 * 1024;

    private readonly Stream _stream;
    private readonly byte[] _prefix = new byte[FrameCodec.PrefixSize];

    public FrameReader(Stream stream, int maxFrameBytes = WireLimits.DefaultMaxFrameBytes)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFrameBytes, 1);
        _stream = stream;
        MaxFrameBytes = maxFrameBytes;
    }

    public int MaxFrameBytes { get; }

    /// <summary>
    /// The next frame body, or null when the stream ended cleanly between frames.
    /// Throws <see cref="WireFormatException"/> for a bad prefix or a stream that ends mid-frame.
    /// </summary>
    public async ValueTask<byte[]?> ReadFrameAsync(CancellationToken cancellationToken = default)
    {
        var prefixRead = await FillAsync(_prefix, cancellationToken).ConfigureAwait(false);
        if (prefixRead == 0)
        {
            return null;
        }

        if (prefixRead < FrameCodec.PrefixSize)
        {
            throw new WireFormatException(WireError.Truncated, "stream ended inside a frame length prefix");
        }

        var length = FrameCodec.ReadLength(_prefix, MaxFrameBytes);
        var body = new byte[Math.Min(length, FirstBodyChunkBytes)];
        var bodyRead = 0;
        while (true)
        {
            bodyRead += await FillAsync(body.AsMemory(bodyRead), cancellationToken).ConfigureAwait(false);
            if (bodyRead < body.Length)
            {
                throw new WireFormatException(WireError.Truncated, $"stream ended after {bodyRead} of {length} frame bytes");
            }

            if (bodyRead == length)
            {
                return body;
            }

            Array.Resize(ref body, (int)Math.Min(length, 2L * body.Length));
        }
    }

    /// <summary>The next frame parsed as a validated envelope, or null at a clean end of stream.</summary>
    public async ValueTask<Envelope?> ReadEnvelopeAsync(CancellationToken cancellationToken = default)
    {
        var body = await ReadFrameAsync(cancellationToken).ConfigureAwait(false);
        return body is null ? null : EnvelopeCodec.Decode(body);
    }

    private async ValueTask<int> FillAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = await _stream.ReadAsync(buffer[total..], cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }
}
