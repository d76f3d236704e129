using SecureChat.Core.Framing;
using SecureChat.Core.Tests.TestSupport;
using SecureChat.Core.Wire;

namespace SecureChat.Core.Tests.Framing;

public class FrameCodecTests
{
    [Fact]
    public void Encode_writes_a_big_endian_length_then_the_body()
    {
        var frame = FrameCodec.Encode([0xAA, 0xBB, 0xCC]);
        Assert.Equal("00000003aabbcc", Hex.Encode(frame));
    }

    [Fact]
    public void Write_appends_frames_one_after_another_into_a_batch_buffer()
    {
        var batch = new byte[16];

        var first = FrameCodec.Write(batch, [0xAA, 0xBB]);
        var second = FrameCodec.Write(batch.AsSpan(first), [0xCC]);

        Assert.Equal(6, first);
        Assert.Equal(5, second);
        Assert.Equal("00000002aabb00000001cc", Hex.Encode(batch.AsSpan(0, first + second).ToArray()));
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(1, true)]
    [InlineData(65536, true)]
    [InlineData(65537, false)]
    public void IsValidLength_accepts_exactly_what_Write_accepts(int length, bool valid)
    {
        Assert.Equal(valid, FrameCodec.IsValidLength(length, 65536));
        var write = () => FrameCodec.Write(new byte[length + FrameCodec.PrefixSize], new byte[length], 65536);
        if (valid)
        {
            Assert.Equal(length + FrameCodec.PrefixSize, write());
        }
        else
        {
            Assert.Throws<WireFormatException>(() => write());
        }
    }

    [Fact]
    public void Encode_then_try_decode_round_trips()
    {
        var body = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray();
        var frame = FrameCodec.Encode(body);

        Assert.True(FrameCodec.TryDecode(frame, WireLimits.DefaultMaxFrameBytes, out var decoded, out var consumed));
        Assert.Equal(body, decoded.ToArray());
        Assert.Equal(frame.Length, consumed);
    }

    [Fact]
    public void Envelope_frames_decode_to_the_same_envelope()
    {
        var envelope = Envelopes.Valid(MessageType.Application);
        var frame = FrameCodec.Encode(envelope);

        Assert.True(FrameCodec.TryDecode(frame, WireLimits.DefaultMaxFrameBytes, out var body, out _));
        Assert.Equal(envelope, EnvelopeCodec.Decode(body));
    }

    [Fact]
    public void Several_frames_in_one_buffer_split_one_at_a_time()
    {
        byte[] buffer = [.. FrameCodec.Encode([1]), .. FrameCodec.Encode([2, 2]), .. FrameCodec.Encode([3, 3, 3])];
        var bodies = new List<byte[]>();
        var offset = 0;
        while (FrameCodec.TryDecode(buffer.AsSpan(offset), 1024, out var body, out var consumed))
        {
            bodies.Add(body.ToArray());
            offset += consumed;
        }

        Assert.Equal(buffer.Length, offset);
        Assert.Equal([[1], [2, 2], [3, 3, 3]], bodies);
    }

    [Fact]
    public void A_partial_frame_needs_more_bytes_and_consumes_nothing()
    {
        var frame = FrameCodec.Encode([1, 2, 3, 4, 5]);
        for (var length = 0; length < frame.Length; length++)
        {
            Assert.False(FrameCodec.TryDecode(frame.AsSpan(0, length), 1024, out _, out var consumed));
            Assert.Equal(0, consumed);
        }
    }

    [Fact]
    public void Encoding_an_empty_body_is_refused()
    {
        Assert.Equal(WireError.EmptyFrame, Assert.Throws<WireFormatException>(() => FrameCodec.Encode([])).Error);
    }

    [Fact]
    public void Encoding_a_body_above_the_maximum_is_refused()
    {
        Assert.Equal(WireError.FrameTooLarge, Assert.Throws<WireFormatException>(() => FrameCodec.Encode(new byte[65], 64)).Error);
        Assert.Equal(68, FrameCodec.Encode(new byte[64], 64).Length);
    }

    [Fact]
    public void A_zero_length_prefix_is_an_empty_frame()
    {
        Assert.Equal(WireError.EmptyFrame, Assert.Throws<WireFormatException>(() => FrameCodec.ReadLength([0, 0, 0, 0], 1024)).Error);
        Assert.Equal(WireError.EmptyFrame, Assert.Throws<WireFormatException>(() => FrameCodec.TryDecode([0, 0, 0, 0, 9], 1024, out _, out _)).Error);
    }

    [Theory]
    [InlineData("00100001")] // the default limit (1 MiB) + 1
    [InlineData("7fffffff")]
    [InlineData("80000000")]
    [InlineData("ffffffff")]
    public void A_prefix_above_the_maximum_is_too_large(string prefixHex)
    {
        var prefix = Hex.Decode(prefixHex);
        var thrown = Assert.Throws<WireFormatException>(() => FrameCodec.ReadLength(prefix, WireLimits.DefaultMaxFrameBytes));
        Assert.Equal(WireError.FrameTooLarge, thrown.Error);
        Assert.Equal(ErrorCode.FrameTooLarge, thrown.ToErrorCode());

        // TryDecode refuses as soon as it has the prefix, without waiting for the claimed body.
        Assert.Equal(WireError.FrameTooLarge, Assert.Throws<WireFormatException>(() => FrameCodec.TryDecode(prefix, WireLimits.DefaultMaxFrameBytes, out _, out _)).Error);
    }

    [Fact]
    public void Exactly_the_maximum_is_allowed()
    {
        Assert.Equal(65536, FrameCodec.ReadLength([0x00, 0x01, 0x00, 0x00], 65536));
    }

    [Fact]
    public void A_short_prefix_is_truncated()
    {
        Assert.Equal(WireError.Truncated, Assert.Throws<WireFormatException>(() => FrameCodec.ReadLength([0, 0, 1], 1024)).Error);
    }
}
