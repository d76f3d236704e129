using Google.Protobuf;

namespace SecureChat.Core.Wire;

/// <summary>
/// The one way to parse untrusted protobuf bytes: whatever is wrong with them, the caller sees a
/// <see cref="WireFormatException"/> (<see cref="WireError.Unparsable"/>), never a parser-specific exception.
/// </summary>
public static class WireParsing
{
    public static T Parse<T>(MessageParser<T> parser, ReadOnlySpan<byte> bytes)
        where T : IMessage<T>
    {
        ArgumentNullException.ThrowIfNull(parser);
        try
        {
            return parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw Unparsable<T>(ex);
        }
        catch (System.Text.DecoderFallbackException ex)
        {
            // Invalid UTF-8 in a string field: Google.Protobuf 3.36 wraps this, older versions let it through.
            throw Unparsable<T>(ex);
        }
    }

    public static T Parse<T>(MessageParser<T> parser, ByteString bytes)
        where T : IMessage<T>
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return Parse(parser, bytes.Span);
    }

    /// <summary>Parses or returns false; never throws for bad bytes.</summary>
    public static bool TryParse<T>(MessageParser<T> parser, ReadOnlySpan<byte> bytes, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out T? message)
        where T : class, IMessage<T>
    {
        try
        {
            message = Parse(parser, bytes);
            return true;
        }
        catch (WireFormatException)
        {
            message = null;
            return false;
        }
    }

    private static WireFormatException Unparsable<T>(Exception inner) =>
        new(WireError.Unparsable, $"{typeof(T).Name} is not valid protobuf", inner);
}
