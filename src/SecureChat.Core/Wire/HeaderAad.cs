using System.Buffers.Binary;
using System.Text;
using SecureChat.Core.Crypto;

namespace SecureChat.Core.Wire;

/// <summary>
/// The canonical byte encoding of an application message header, used as AEAD associated
/// data (never the protobuf bytes, whose encoding is not unique). All integers big-endian:
/// <code>
/// UTF-8("SC2/msg-ad") || 0x00
/// || u32 version || u32 cipher_suite
/// || u16 len(room) || room || u64 epoch
/// || u16 len(sender) || sender || u64 sequence (generation)
/// || u8 len(nonce) || nonce
/// || u8 len(history_tag) || history_tag   (8 bytes: the first bytes of the transcript hash, as the envelope carries them)
/// || u8 len(context) || context   (the epoch's transcript hash, 32 bytes)
/// </code>
/// </summary>
public static class HeaderAad
{
    public static byte[] Encode(Envelope envelope, ReadOnlySpan<byte> context)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        return Encode(envelope.Version, envelope.CipherSuite, envelope.RoomId, envelope.Epoch, envelope.SenderId,
            envelope.Sequence, envelope.Nonce.Span, envelope.HistoryTag.Span, context);
    }

    public static byte[] Encode(uint version, CipherSuite suite, string roomId, ulong epoch, string senderId,
        ulong sequence, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> historyTag, ReadOnlySpan<byte> context)
    {
        ArgumentNullException.ThrowIfNull(roomId);
        ArgumentNullException.ThrowIfNull(senderId);
        var label = Encoding.UTF8.GetBytes(Labels.MessageAssociatedData);
        var room = Encoding.UTF8.GetBytes(roomId);
        var sender = Encoding.UTF8.GetBytes(senderId);
        if (room.Length > ushort.MaxValue || sender.Length > ushort.MaxValue || nonce.Length > byte.MaxValue
            || historyTag.Length > byte.MaxValue || context.Length > byte.MaxValue)
        {
            throw new ArgumentException("header field too long for the associated-data encoding");
        }

        var buffer = new byte[label.Length + 1 + 4 + 4 + 2 + room.Length + 8 + 2 + sender.Length + 8 + 1 + nonce.Length + 1 + historyTag.Length + 1 + context.Length];
        var writer = new SpanWriter(buffer);
        writer.Write(label);
        writer.WriteByte(0);
        writer.WriteUInt32(version);
        writer.WriteUInt32((uint)suite);
        writer.WriteUInt16((ushort)room.Length);
        writer.Write(room);
        writer.WriteUInt64(epoch);
        writer.WriteUInt16((ushort)sender.Length);
        writer.Write(sender);
        writer.WriteUInt64(sequence);
        writer.WriteByte((byte)nonce.Length);
        writer.Write(nonce);
        writer.WriteByte((byte)historyTag.Length);
        writer.Write(historyTag);
        writer.WriteByte((byte)context.Length);
        writer.Write(context);
        return buffer;
    }

    private ref struct SpanWriter(Span<byte> buffer)
    {
        private readonly Span<byte> _buffer = buffer;
        private int _offset;

        public void Write(ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(_buffer[_offset..]);
            _offset += bytes.Length;
        }

        public void WriteByte(byte value) => _buffer[_offset++] = value;

        public void WriteUInt16(ushort value)
        {
            BinaryPrimitives.WriteUInt16BigEndian(_buffer[_offset..], value);
            _offset += 2;
        }

        public void WriteUInt32(uint value)
        {
            BinaryPrimitives.WriteUInt32BigEndian(_buffer[_offset..], value);
            _offset += 4;
        }

        public void WriteUInt64(ulong value)
        {
            BinaryPrimitives.WriteUInt64BigEndian(_buffer[_offset..], value);
            _offset += 8;
        }
    }
}
