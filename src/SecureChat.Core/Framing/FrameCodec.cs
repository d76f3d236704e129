using System.Buffers.Binary;
using SecureChat.Core.Wire;

namespace SecureChat.Core.Framing;

/// <summary>
/// Frames are a 4-byte big-endian length followed by that many bytes of body.
/// A length of zero or above the maximum is refused before anything is allocated.
/// </summary>
public static class FrameCodec
{
    public const int PrefixSize = 4;

    public static byte[] Encode(ReadOnlySpan<byte> body, int maxFrameBytes = WireLimits.DefaultMaxFrameBytes)
    {
        var frame = new byte[PrefixSize + body.Length];
        Write(frame, body, maxFrameBytes);
        return frame;
    }

    /// <summary>
    /// Writes the length prefix and <paramref name="body"/> into <paramref name="destination"/> (which must hold
    /// <see cref="PrefixSize"/> + body bytes) and returns the bytes written; for writers that batch frames.
    /// </summary>
    public static int Write(Span<byte> destination, ReadOnlySpan<byte> body, int maxFrameBytes = WireLimits.DefaultMaxFrameBytes)
    {
        CheckLength(body.Length, maxFrameBytes);
        BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)body.Length);
        body.CopyTo(destination[PrefixSize..]);
        return PrefixSize + body.Length;
    }

    /// <summary>Whether a body of <paramref name="length"/> bytes may be framed: not empty, not above the maximum.</summary>
    public static bool IsValidLength(long length, int maxFrameBytes) => length > 0 && length <= maxFrameBytes;

    public static byte[] Encode(Envelope envelope, int maxFrameBytes = WireLimits.DefaultMaxFrameBytes) =>
        Encode(EnvelopeCodec.Encode(envelope), maxFrameBytes);

    /// <summary>Reads and checks a length prefix; throws <see cref="WireFormatException"/> when out of bounds.</summary>
    public static int ReadLength(ReadOnlySpan<byte> prefix, int maxFrameBytes)
    {
        if (prefix.Length < PrefixSize)
        {
            throw new WireFormatException(WireError.Truncated, "frame length prefix truncated");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(prefix);
        CheckLength(length, maxFrameBytes);
        return (int)length;
    }

    /// <summary>
    /// Splits complete frames off the front of <paramref name="buffer"/>. Returns false when more
    /// bytes are needed; <paramref name="consumed"/> then is 0. Never copies more than one frame.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> buffer, int maxFrameBytes, out ReadOnlySpan<byte> body, out int consumed)
    {
        body = default;
        consumed = 0;
        if (buffer.Length < PrefixSize)
        {
            return false;
        }

        var length = ReadLength(buffer, maxFrameBytes);
        if (buffer.Length - PrefixSize < length)
        {
            return false;
        }

        body = buffer.Slice(PrefixSize, length);
        consumed = PrefixSize + length;
        return true;
    }

    private static void CheckLength(long length, int maxFrameBytes)
    {
        if (length == 0)
        {
            throw new WireFormatException(WireError.EmptyFrame, "frame length is zero");
        }

        if (length > maxFrameBytes)
        {
            throw new WireFormatException(WireError.FrameTooLarge, $"frame length {length} exceeds the maximum of {maxFrameBytes} bytes");
        }
    }
}
