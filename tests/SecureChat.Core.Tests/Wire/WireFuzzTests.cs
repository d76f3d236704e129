using CsCheck;
using Google.Protobuf;
using SecureChat.Core.Tests.TestSupport;
using SecureChat.Core.Wire;

namespace SecureChat.Core.Tests.Wire;

/// <summary>
/// Hostile bytes into every protobuf parser: the only outcome besides success is a
/// <see cref="WireFormatException"/>; no other exception, no hang, no allocation out of proportion.
/// CsCheck prints the seed of a failing case so it can be replayed.
/// </summary>
public class WireFuzzTests
{
    private const int Iterations = 5_000;

    private static readonly byte[][] ValidEncodings =
    [
        .. Envelopes.AllTypes.Select(t => Envelopes.Valid(t).ToByteArray()),
        Envelopes.Bundle().ToByteArray(),
        Envelopes.Bundle().Content.ToByteArray(),
        Envelopes.Commit().ToByteArray(),
        Envelopes.Plaintext().ToByteArray(),
    ];

    private static readonly Action<byte[]>[] Parsers =
    [
        bytes => EnvelopeCodec.Decode(bytes),
        bytes => WireParsing.Parse(Envelope.Parser, bytes),
        bytes => WireParsing.Parse(SignedBundle.Parser, bytes),
        bytes => WireParsing.Parse(BundleContent.Parser, bytes),
        bytes => WireParsing.Parse(SignedCommit.Parser, bytes),
        bytes => WireParsing.Parse(CommitContent.Parser, bytes),
        bytes => WireParsing.Parse(ApplicationPlaintext.Parser, bytes),
        bytes => WireParsing.TryParse(CommitContent.Parser, bytes, out _),
    ];

    /// <summary>Random bytes, and valid encodings with bytes overwritten or garbage length varints spliced in.</summary>
    private static readonly Gen<byte[]> HostileBytes = Gen.Frequency(
        (2, Gen.Byte.Array[0, 512]),
        (3, Gen.Select(Gen.Int[0, ValidEncodings.Length - 1], Gen.Int[0, 4096], Gen.Byte.Array[1, 4], (which, position, noise) =>
        {
            var bytes = (byte[])ValidEncodings[which].Clone();
            var at = position % bytes.Length;
            for (var i = 0; i < noise.Length && at + i < bytes.Length; i++)
            {
                bytes[at + i] ^= noise[i] == 0 ? (byte)1 : noise[i];
            }

            return bytes;
        })),
        (2, Gen.Select(Gen.Int[0, ValidEncodings.Length - 1], Gen.Int[0, 4096], Gen.UInt, SpliceGarbageLength)));

    /// <summary>Inserts a length-delimited field (number 2..15) whose varint length is garbage, up to ~4 GiB.</summary>
    private static byte[] SpliceGarbageLength(int which, int position, uint length)
    {
        var source = ValidEncodings[which];
        var at = position % (source.Length + 1);
        var tag = (byte)((((length % 14) + 2) << 3) | 2);
        var varint = new byte[10];
        var output = new CodedOutputStream(varint);
        output.WriteUInt32(length);
        output.Flush();
        var varintLength = (int)output.Position;
        return [.. source.AsSpan(0, at), tag, .. varint.AsSpan(0, varintLength), .. source.AsSpan(at)];
    }

    [Fact]
    public Task Hostile_bytes_into_every_parser_end_only_in_wire_format_exception() => Bounded.Run(() =>
        Gen.Select(HostileBytes, Gen.Int[0, Parsers.Length - 1]).Sample((bytes, parser) =>
        {
            var allocated = Fuzz.OnlyWireFormatErrors(() => Parsers[parser](bytes));
            Assert.True(allocated < Fuzz.AllocationBudget, $"parser {parser} allocated {allocated} bytes for {bytes.Length} input bytes");
        }, iter: Iterations * 4));

    [Fact]
    public Task Every_truncation_of_every_valid_encoding_ends_only_in_wire_format_exception() => Bounded.Run(() =>
    {
        var cases = 0;
        foreach (var encoding in ValidEncodings)
        {
            for (var length = 0; length <= encoding.Length; length++)
            {
                var truncated = encoding[..length];
                foreach (var parse in Parsers)
                {
                    Fuzz.OnlyWireFormatErrors(() => parse(truncated));
                    cases++;
                }
            }
        }

        Assert.True(cases > 1000, $"only {cases} truncation cases");
    });

    [Fact]
    public Task Valid_envelopes_with_random_field_values_round_trip_or_are_refused_with_invalid_envelope() => Bounded.Run(() =>
        Gen.Select(Gen.Int[1, 11], Gen.UInt[0, 2], Gen.String[0, 70], Gen.String[0, 70], Gen.Byte.Array[0, 20]).Sample((type, version, sender, room, nonce) =>
        {
            var envelope = Envelopes.Valid((MessageType)type);
            envelope.Version = version;
            envelope.SenderId = sender;
            envelope.RoomId = room;
            envelope.Nonce = ByteString.CopyFrom(nonce);
            try
            {
                Assert.Equal(envelope, EnvelopeCodec.Decode(envelope.ToByteArray()));
                Assert.Equal(WireLimits.ProtocolVersion, version);
                Assert.True(sender.Length == 0 || EnvelopeCodec.IsValidId(sender));
            }
            catch (WireFormatException ex)
            {
                Assert.True(ex.Error is WireError.InvalidEnvelope or WireError.UnsupportedVersion, ex.Error.ToString());
            }
        }, iter: Iterations));
}
