using CsCheck;
using SecureChat.Core.Framing;
using SecureChat.Core.Tests.TestSupport;
using SecureChat.Core.Wire;

namespace SecureChat.Core.Tests.Framing;

/// <summary>
/// Garbage and huge length prefixes into the framing layer: only <see cref="WireFormatException"/> may
/// come out, reads over a finished stream never wait, and no refused prefix costs its claimed size.
/// </summary>
public class FramingFuzzTests
{
    private const int Iterations = 5_000;
    private const int SmallMax = 4096;

    /// <summary>Random prefixes (mostly huge), some bodies, sometimes several frames back to back.</summary>
    private static readonly Gen<byte[]> HostileStream = Gen.Frequency(
        (1, Gen.Byte.Array[0, 64]),
        (2, Gen.Select(Gen.UInt, Gen.Byte.Array[0, 64], (prefix, tail) =>
        {
            var bytes = new byte[4 + tail.Length];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes, prefix);
            tail.CopyTo(bytes, 4);
            return bytes;
        })),
        (2, Gen.Select(Gen.Byte.Array[1, 40].Array[1, 4], Gen.Int[0, 400], (bodies, cut) =>
        {
            byte[] stream = [.. bodies.SelectMany(body => FrameCodec.Encode(body, SmallMax))];
            return stream[..Math.Min(stream.Length, cut)];
        })));

    [Fact]
    public Task Try_decode_and_read_length_end_only_in_wire_format_exception() => Bounded.Run(() =>
        Gen.Select(HostileStream, Gen.OneOfConst(1, 64, SmallMax, WireLimits.DefaultMaxFrameBytes, int.MaxValue)).Sample((bytes, max) =>
        {
            var allocated = Fuzz.OnlyWireFormatErrors(() =>
            {
                var offset = 0;
                while (FrameCodec.TryDecode(bytes.AsSpan(offset), max, out var body, out var consumed))
                {
                    Assert.InRange(body.Length, 1, max);
                    Assert.Equal(body.Length + FrameCodec.PrefixSize, consumed);
                    offset += consumed;
                }
            });
            Fuzz.OnlyWireFormatErrors(() => FrameCodec.ReadLength(bytes, max));
            Assert.True(allocated < Fuzz.AllocationBudget, $"TryDecode allocated {allocated} bytes");
        }, iter: Iterations));

    [Fact]
    public Task Frame_reader_over_hostile_streams_ends_only_in_wire_format_exception_within_the_limit() => Bounded.Run(() =>
        Gen.Select(HostileStream, Gen.OneOfConst(64, SmallMax, WireLimits.DefaultMaxFrameBytes)).Sample((bytes, max) =>
        {
            using var stream = new MemoryStream(bytes);
            var reader = new FrameReader(stream, max);
            var frames = 0;
            var allocated = Fuzz.OnlyWireFormatErrors(() =>
            {
                while (Fuzz.Completed(reader.ReadFrameAsync()) is { } frame)
                {
                    Assert.InRange(frame.Length, 1, max);
                    frames++;
                }
            });

            // Each frame read may cost at most the limit; a refused prefix costs nothing near its claim.
            Assert.True(allocated < Fuzz.AllocationBudget + ((long)frames * max), $"reader allocated {allocated} bytes, max {max}");
            Assert.True(frames <= bytes.Length / (FrameCodec.PrefixSize + 1));
        }, iter: Iterations));

    [Fact]
    public Task Frame_reader_envelopes_end_only_in_wire_format_exception() => Bounded.Run(() =>
        Gen.Byte.Array[0, 300].Sample(body =>
        {
            byte[] bytes = body.Length == 0 ? [0, 0, 0, 0] : FrameCodec.Encode(body);
            using var stream = new MemoryStream(bytes);
            var reader = new FrameReader(stream);
            Fuzz.OnlyWireFormatErrors(() => Fuzz.Completed(reader.ReadEnvelopeAsync()));
        }, iter: Iterations));

    [Fact]
    public Task Every_truncation_of_a_framed_stream_is_truncated_or_a_clean_end() => Bounded.Run(() =>
    {
        byte[] stream = [.. FrameCodec.Encode(Envelopes.Valid(MessageType.Application)), .. FrameCodec.Encode(Envelopes.Valid(MessageType.Commit))];
        var firstFrameEnd = FrameCodec.ReadLength(stream, WireLimits.DefaultMaxFrameBytes) + FrameCodec.PrefixSize;
        for (var length = 0; length <= stream.Length; length++)
        {
            using var input = new MemoryStream(stream, 0, length);
            var reader = new FrameReader(input);
            var envelopes = 0;
            WireError? error = null;
            try
            {
                while (Fuzz.Completed(reader.ReadEnvelopeAsync()) is not null)
                {
                    envelopes++;
                }
            }
            catch (WireFormatException ex)
            {
                error = ex.Error;
            }

            var atBoundary = length == 0 || length == firstFrameEnd || length == stream.Length;
            Assert.Equal(atBoundary ? null : WireError.Truncated, error);
            Assert.Equal(length >= stream.Length ? 2 : length >= firstFrameEnd ? 1 : 0, envelopes);
        }
    });
}
