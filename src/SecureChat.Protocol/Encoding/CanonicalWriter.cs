using System.Buffers;
using System.Buffers.Binary;

namespace SecureChat.Protocol.Encoding;

/// <summary>
/// Builds the canonical byte strings that are hashed, signed or used as KDF context (PROTOCOL.md §"Encodings").
/// Integers are big-endian; strings are u16 length || UTF-8.
/// </summary>
internal sealed class CanonicalWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new(256);

    public CanonicalWriter Bytes(ReadOnlySpan<byte> bytes)
    {
        _buffer.Write(bytes);
        return this;
    }

    public CanonicalWriter U8(byte value)
    {
        Span<byte> b = [value];
        return Bytes(b);
    }

    public CanonicalWriter U16(ushort value)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(b, value);
        return Bytes(b);
    }

    public CanonicalWriter U32(uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        return Bytes(b);
    }

    public CanonicalWriter U64(ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b, value);
        return Bytes(b);
    }

    /// <summary>u16 length || UTF-8 bytes.</summary>
    public CanonicalWriter Str16(string value)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(value);
        if (bytes.Length > ushort.MaxValue)
        {
            throw new ArgumentException("string too long for a u16 length prefix", nameof(value));
        }

        U16((ushort)bytes.Length);
        return Bytes(bytes);
    }

    /// <summary>u32 length || bytes.</summary>
    public CanonicalWriter Bytes32(ReadOnlySpan<byte> bytes)
    {
        U32((uint)bytes.Length);
        return Bytes(bytes);
    }

    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();
}
