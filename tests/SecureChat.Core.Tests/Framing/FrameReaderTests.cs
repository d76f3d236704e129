using SecureChat.Core.Framing;
using SecureChat.Core.Tests.TestSupport;
using SecureChat.Core.Wire;

namespace SecureChat.Core.Tests.Framing;

public class FrameReaderTests
{
    [Fact]
    public async Task A_frame_round_trips_and_then_clean_eof_gives_null()
    {
        using var stream = new MemoryStream(FrameCodec.Encode([1, 2, 3]));
        var reader = new FrameReader(stream);

        Assert.Equal([1, 2, 3], await reader.ReadFrameAsync());
        Assert.Null(await reader.ReadFrameAsync());
        Assert.Null(await reader.ReadFrameAsync());
    }

    [Fact]
    public async Task An_empty_stream_is_a_clean_eof()
    {
        using var stream = new MemoryStream();
        Assert.Null(await new FrameReader(stream).ReadFrameAsync());
    }

    [Fact]
    public async Task Several_frames_in_one_stream_come_out_in_order()
    {
        using var stream = new MemoryStream([.. FrameCodec.Encode([1]), .. FrameCodec.Encode([2, 2]), .. FrameCodec.Encode(new byte[1000])]);
        var reader = new FrameReader(stream);

        Assert.Equal([1], await reader.ReadFrameAsync());
        Assert.Equal([2, 2], await reader.ReadFrameAsync());
        Assert.Equal(1000, (await reader.ReadFrameAsync())!.Length);
        Assert.Null(await reader.ReadFrameAsync());
    }

    [Fact]
    public async Task Frames_split_across_one_byte_reads_are_reassembled()
    {
        var first = Enumerable.Range(0, 50).Select(i => (byte)i).ToArray();
        byte[] data = [.. FrameCodec.Encode(first), .. FrameCodec.Encode([9, 8, 7])];
        await using var stream = new OneBytePerReadStream(data);
        var reader = new FrameReader(stream);

        Assert.Equal(first, await reader.ReadFrameAsync());
        Assert.Equal([9, 8, 7], await reader.ReadFrameAsync());
        Assert.Null(await reader.ReadFrameAsync());
        Assert.True(stream.Reads >= data.Length, $"only {stream.Reads} reads for {data.Length} bytes");
    }

    [Fact]
    public async Task A_zero_length_prefix_is_an_empty_frame()
    {
        using var stream = new MemoryStream([0, 0, 0, 0, 1, 2]);
        var thrown = await Assert.ThrowsAsync<WireFormatException>(async () => await new FrameReader(stream).ReadFrameAsync());
        Assert.Equal(WireError.EmptyFrame, thrown.Error);
    }

    [Fact]
    public async Task A_huge_prefix_is_refused_before_reading_or_allocating_the_body()
    {
        await using var stream = new PrefixOnlyStream([0xFF, 0xFF, 0xFF, 0xFF]);
        var reader = new FrameReader(stream, WireLimits.DefaultMaxFrameBytes);

        // Everything below completes synchronously on this thread, so the per-thread counter sees all of it.
        var before = GC.GetAllocatedBytesForCurrentThread();
        var thrown = await Assert.ThrowsAsync<WireFormatException>(async () => await reader.ReadFrameAsync());
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(WireError.FrameTooLarge, thrown.Error);
        Assert.True(allocated < WireLimits.DefaultMaxFrameBytes, $"allocated {allocated} bytes for a refused 4 GiB prefix");
    }

    [Fact]
    public async Task A_claimed_frame_of_the_limit_costs_only_what_has_arrived_of_it()
    {
        // 1 MiB claimed, 10 bytes sent: the body buffer grows as bytes arrive, it is not the claim's size at once.
        using var stream = new MemoryStream([0x00, 0x10, 0x00, 0x00, .. new byte[10]]);
        var reader = new FrameReader(stream, WireLimits.DefaultMaxFrameBytes);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var thrown = await Assert.ThrowsAsync<WireFormatException>(async () => await reader.ReadFrameAsync());
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(WireError.Truncated, thrown.Error);
        Assert.True(allocated < 128 * 1024, $"allocated {allocated} bytes for a 1 MiB claim with 10 bytes sent");
    }

    [Theory]
    [InlineData(64 * 1024)]
    [InlineData(64 * 1024 + 1)]
    [InlineData(300_000)]
    [InlineData(1024 * 1024)]
    public async Task A_frame_larger_than_the_first_buffer_arrives_whole(int length)
    {
        var body = new byte[length];
        Random.Shared.NextBytes(body);
        using var stream = new MemoryStream([.. FrameCodec.Encode(body, WireLimits.DefaultMaxFrameBytes), .. FrameCodec.Encode([7], WireLimits.DefaultMaxFrameBytes)]);
        var reader = new FrameReader(stream, WireLimits.DefaultMaxFrameBytes);

        Assert.Equal(body, await reader.ReadFrameAsync());
        Assert.Equal([7], await reader.ReadFrameAsync());
        Assert.Null(await reader.ReadFrameAsync());
    }

    [Fact]
    public async Task A_prefix_just_above_the_maximum_is_too_large()
    {
        await using var stream = new PrefixOnlyStream([0x00, 0x00, 0x00, 0x41]);
        var thrown = await Assert.ThrowsAsync<WireFormatException>(async () => await new FrameReader(stream, 64).ReadFrameAsync());
        Assert.Equal(WireError.FrameTooLarge, thrown.Error);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task A_stream_ending_inside_the_prefix_is_truncated(int prefixBytes)
    {
        using var stream = new MemoryStream(new byte[] { 0, 0, 0, 5 }[..prefixBytes]);
        var thrown = await Assert.ThrowsAsync<WireFormatException>(async () => await new FrameReader(stream).ReadFrameAsync());
        Assert.Equal(WireError.Truncated, thrown.Error);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4)]
    public async Task A_stream_ending_inside_the_body_is_truncated(int bodyBytes)
    {
        byte[] data = [0, 0, 0, 5, .. new byte[bodyBytes]];
        using var stream = new MemoryStream(data);
        var thrown = await Assert.ThrowsAsync<WireFormatException>(async () => await new FrameReader(stream).ReadFrameAsync());
        Assert.Equal(WireError.Truncated, thrown.Error);
        Assert.Equal(ErrorCode.MalformedFrame, thrown.ToErrorCode());
    }

    [Fact]
    public async Task Read_envelope_parses_and_validates_each_frame()
    {
        var envelope = Envelopes.Valid(MessageType.Join);
        var invalid = Envelopes.Valid(MessageType.Join);
        invalid.Version = 7;
        using var stream = new MemoryStream([.. FrameCodec.Encode(envelope), .. FrameCodec.Encode(invalid)]);
        var reader = new FrameReader(stream);

        Assert.Equal(envelope, await reader.ReadEnvelopeAsync());
        var thrown = await Assert.ThrowsAsync<WireFormatException>(async () => await reader.ReadEnvelopeAsync());
        Assert.Equal(WireError.UnsupportedVersion, thrown.Error);
    }

    [Fact]
    public async Task Read_envelope_at_clean_eof_is_null()
    {
        using var stream = new MemoryStream();
        Assert.Null(await new FrameReader(stream).ReadEnvelopeAsync());
    }

    [Fact]
    public void Constructor_refuses_a_null_stream_and_a_non_positive_maximum()
    {
        using var stream = new MemoryStream();
        Assert.Throws<ArgumentNullException>(() => new FrameReader(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FrameReader(stream, 0));
        Assert.Equal(WireLimits.DefaultMaxFrameBytes, new FrameReader(stream).MaxFrameBytes);
    }
}
