namespace SecureChat.Benchmarks.Targets.SecureChat;

/// <summary>
/// Finds the type and ciphertext of an encoded Envelope by walking the protobuf wire format, without
/// allocating: receivers read the stamp from every delivered APPLICATION, and a full parse per message would
/// make the load generator, not the server, the cost being measured (the other targets' clients only slice).
/// Anything it does not understand makes it return false, and the caller parses properly.
/// </summary>
internal static class EnvelopeScan
{
    private const int TypeField = 2;
    private const int CiphertextField = 8;

    public static bool TryFind(ReadOnlySpan<byte> envelope, out int type, out ReadOnlySpan<byte> ciphertext)
    {
        type = 0;
        ciphertext = default;
        var position = 0;
        while (position < envelope.Length)
        {
            if (!TryReadVarint(envelope, ref position, out var tag))
            {
                return false;
            }

            var field = (int)(tag >> 3);
            switch ((int)(tag & 7))
            {
                case 0:
                    if (!TryReadVarint(envelope, ref position, out var value))
                    {
                        return false;
                    }

                    if (field == TypeField)
                    {
                        type = (int)value;
                    }

                    break;
                case 1:
                    position += 8;
                    break;
                case 2:
                    if (!TryReadVarint(envelope, ref position, out var length) || length > (ulong)(envelope.Length - position))
                    {
                        return false;
                    }

                    if (field == CiphertextField)
                    {
                        ciphertext = envelope.Slice(position, (int)length);
                    }

                    position += (int)length;
                    break;
                case 5:
                    position += 4;
                    break;
                default:
                    return false;
            }
        }

        return position == envelope.Length;
    }

    private static bool TryReadVarint(ReadOnlySpan<byte> data, ref int position, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64 && position < data.Length; shift += 7)
        {
            var b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }
}
