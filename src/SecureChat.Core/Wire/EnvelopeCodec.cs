using System.Text;
using Google.Protobuf;

namespace SecureChat.Core.Wire;

/// <summary>Envelope bytes to and from <see cref="Envelope"/>, with the bounds every receiver enforces.</summary>
public static class EnvelopeCodec
{
    public static byte[] Encode(Envelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        return envelope.ToByteArray();
    }

    /// <summary>Parses and validates; any failure is a <see cref="WireFormatException"/>.</summary>
    public static Envelope Decode(ReadOnlySpan<byte> bytes)
    {
        var envelope = WireParsing.Parse(Envelope.Parser, bytes);
        Validate(envelope);
        return envelope;
    }

    public static void Validate(Envelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        if (envelope.Version != WireLimits.ProtocolVersion)
        {
            // Every version numbers the envelope's fields 1 to 9 and the error payload as v1 did, so a peer refusing our
            // version can say so in its own: its error is read leniently and handed to the caller (PROTOCOL.md §2).
            var foreign = envelope.Type == MessageType.Error && envelope.PayloadCase == Envelope.PayloadOneofCase.Error ? envelope.Error : null;
            throw new WireFormatException(envelope.Version, VersionRefusal(envelope.Version, "peer")) { ForeignError = foreign };
        }

        if (envelope.Type == MessageType.Unspecified || !Enum.IsDefined(envelope.Type))
        {
            throw Invalid("unknown message type");
        }

        CheckId(envelope.SenderId, "sender id", allowEmpty: true);
        CheckId(envelope.RoomId, "room id", allowEmpty: true);
        CheckPayloadMatchesType(envelope);

        switch (envelope.Type)
        {
            case MessageType.Application:
                CheckId(envelope.RoomId, "room id", allowEmpty: false);
                if (envelope.Nonce.Length != WireLimits.NonceBytes)
                {
                    throw Invalid($"nonce must be {WireLimits.NonceBytes} bytes");
                }

                if (envelope.Ciphertext.Length < 16)
                {
                    throw Invalid("ciphertext shorter than its tag");
                }

                if (envelope.HistoryTag.Length != WireLimits.HistoryTagBytes)
                {
                    throw Invalid($"history tag must be {WireLimits.HistoryTagBytes} bytes");
                }

                break;
            case MessageType.Join:
                RequirePayload(envelope, Envelope.PayloadOneofCase.Join);
                CheckId(envelope.RoomId, "room id", allowEmpty: false);
                break;
            case MessageType.Leave:
                RequirePayload(envelope, Envelope.PayloadOneofCase.Leave);
                CheckId(envelope.RoomId, "room id", allowEmpty: false);
                break;
            case MessageType.Invite:
                RequirePayload(envelope, Envelope.PayloadOneofCase.Invite);
                CheckId(envelope.RoomId, "room id", allowEmpty: false);
                break;
            case MessageType.Relayed or MessageType.Ack:
                CheckId(envelope.RoomId, "room id", allowEmpty: false);
                break;
            case MessageType.Stored:
                CheckId(envelope.RoomId, "room id", allowEmpty: false);
                CheckStoredOrder(envelope);
                break;
            case MessageType.Commit:
                RequirePayload(envelope, Envelope.PayloadOneofCase.Commit);
                CheckId(envelope.RoomId, "room id", allowEmpty: false);
                break;
            case MessageType.CommitRequest:
                RequirePayload(envelope, Envelope.PayloadOneofCase.CommitRequest);
                break;
            case MessageType.Error:
                RequirePayload(envelope, Envelope.PayloadOneofCase.Error);
                break;
            case MessageType.Welcome:
                RequirePayload(envelope, Envelope.PayloadOneofCase.Welcome);
                break;
            case MessageType.Joined:
                RequirePayload(envelope, Envelope.PayloadOneofCase.Joined);
                break;
            default:
                break;
        }
    }

    /// <summary>
    /// The reason text for refusing another protocol version, naming both (PROTOCOL.md §2): e.g. "protocol version 1
    /// is not supported; this server speaks version 2". <paramref name="self"/> is "server", "client" or "peer".
    /// </summary>
    public static string VersionRefusal(uint peerVersion, string self) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"protocol version {peerVersion} is not supported; this {self} speaks version {WireLimits.ProtocolVersion}");

    /// <summary>What a client reports when the server's frames name another version: "the server speaks protocol version N; this client speaks 2".</summary>
    public static string VersionMismatch(uint serverVersion) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"the server speaks protocol version {serverVersion}; this client speaks {WireLimits.ProtocolVersion}");

    /// <summary>Client and room ids: 1..64 bytes of UTF-8, printable, no spaces or control characters.</summary>
    public static bool IsValidId(string id) =>
        id.Length > 0 && Encoding.UTF8.GetByteCount(id) <= WireLimits.MaxIdBytes && id.All(IsIdChar);

    private static bool IsIdChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '@';

    private static void CheckId(string id, string what, bool allowEmpty)
    {
        if (id.Length == 0 && allowEmpty)
        {
            return;
        }

        if (!IsValidId(id))
        {
            throw Invalid($"{what} must be 1-{WireLimits.MaxIdBytes} characters of [A-Za-z0-9._@-]");
        }
    }

    // A payload that belongs to another type would be ignored by one reader and acted on by another.
    private static void CheckPayloadMatchesType(Envelope envelope)
    {
        var allowed = envelope.Type switch
        {
            MessageType.Hello => Envelope.PayloadOneofCase.Hello,
            MessageType.Welcome => Envelope.PayloadOneofCase.Welcome,
            MessageType.Join => Envelope.PayloadOneofCase.Join,
            MessageType.Joined => Envelope.PayloadOneofCase.Joined,
            MessageType.CommitRequest => Envelope.PayloadOneofCase.CommitRequest,
            MessageType.Commit => Envelope.PayloadOneofCase.Commit,
            MessageType.Error => Envelope.PayloadOneofCase.Error,
            MessageType.Invite => Envelope.PayloadOneofCase.Invite,
            MessageType.Leave => Envelope.PayloadOneofCase.Leave,
            MessageType.Stored => Envelope.PayloadOneofCase.Stored,
            _ => Envelope.PayloadOneofCase.None,
        };
        if (envelope.PayloadCase != Envelope.PayloadOneofCase.None && envelope.PayloadCase != allowed)
        {
            throw Invalid($"{envelope.Type} frame carries a {envelope.PayloadCase} payload");
        }
    }

    // A STORED's earlier messages come in number order, each below the one the envelope names.
    private static void CheckStoredOrder(Envelope envelope)
    {
        if (envelope.PayloadCase != Envelope.PayloadOneofCase.Stored)
        {
            return;
        }

        ulong previous = 0;
        foreach (var earlier in envelope.Stored.Earlier)
        {
            if (earlier.RoomSeq <= previous || earlier.RoomSeq >= envelope.RoomSeq)
            {
                throw Invalid("a STORED's earlier messages must be numbered in increasing order, below the one it names");
            }

            previous = earlier.RoomSeq;
        }
    }

    private static void RequirePayload(Envelope envelope, Envelope.PayloadOneofCase expected)
    {
        if (envelope.PayloadCase != expected)
        {
            throw Invalid($"{envelope.Type} frame without its {expected} payload");
        }
    }

    private static WireFormatException Invalid(string message) => new(WireError.InvalidEnvelope, message);
}
