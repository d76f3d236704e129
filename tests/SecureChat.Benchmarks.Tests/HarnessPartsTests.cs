using System.Buffers.Binary;
using SecureChat.Benchmarks.Load;
using SecureChat.Benchmarks.Processes;
using SecureChat.Benchmarks.Targets;

namespace SecureChat.Benchmarks.Tests;

public sealed class HarnessPartsTests
{
    [Fact]
    public void Stamp_survives_the_payload_round_trip()
    {
        var stamp = new Stamp(DueTicks: 123_456_789_012, LateMicros: 42, Sender: 7);
        var payload = new byte[64];

        stamp.WriteTo(payload);

        Assert.Equal(stamp, Stamp.ReadFrom(payload));
    }

    [Fact]
    public async Task Frame_splitter_finds_frames_split_across_reads_and_joined_in_one()
    {
        var bodies = new[] { new byte[] { 1, 2, 3 }, [], Enumerable.Range(0, 300).Select(i => (byte)i).ToArray() };
        var wire = new MemoryStream();
        foreach (var body in bodies)
        {
            var prefix = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(prefix, (uint)body.Length);
            wire.Write(prefix);
            wire.Write(body);
        }

        var received = new List<byte[]>();
        await new FrameSplitter(maxFrameBytes: 1024, bufferBytes: 16).RunAsync(new OneByteAtATimeStream(wire.ToArray()), frame =>
        {
            received.Add(frame.Span[FrameSplitter.PrefixBytes..].ToArray());
            return ValueTask.CompletedTask;
        }, CancellationToken.None);

        Assert.Equal(bodies, received);
    }

    [Fact]
    public async Task Frame_splitter_refuses_a_length_over_the_limit_before_reading_the_body()
    {
        var wire = new byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(wire, 2048);

        await Assert.ThrowsAsync<InvalidDataException>(() =>
            new FrameSplitter(maxFrameBytes: 1024).RunAsync(new MemoryStream(wire), _ => ValueTask.CompletedTask, CancellationToken.None));
    }

    [Fact]
    public void Process_stats_read_this_process_cpu_time_and_peak_memory_from_proc()
    {
        var sample = ProcessStats.Read(Environment.ProcessId);

        Assert.NotNull(sample);
        Assert.True(sample.Value.CpuSeconds > 0);
        Assert.True(sample.Value.PeakResidentBytes >= sample.Value.ResidentBytes);
        Assert.True(sample.Value.ResidentBytes > 1024 * 1024);
    }

    [Fact]
    public void Workload_expects_every_message_once_per_other_member()
    {
        var workload = new RelayWorkload(Rooms: 10, Members: 10, MessagesPerMember: 20_000, PayloadBytes: 256).Validate();

        Assert.Equal(100, workload.Senders);
        Assert.Equal(100L * 20_000 * 9, workload.ExpectedDeliveries);
    }

    private sealed class OneByteAtATimeStream(byte[] data) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(1, buffer.Length)], cancellationToken);
    }
}

public sealed class EnvelopeScanTests
{
    [Theory]
    [InlineData(SecureChat.Core.Wire.MessageType.Application, 256)]
    [InlineData(SecureChat.Core.Wire.MessageType.Application, 16)]
    [InlineData(SecureChat.Core.Wire.MessageType.Ping, 0)]
    public void Scan_finds_the_type_and_ciphertext_the_protobuf_parser_finds(SecureChat.Core.Wire.MessageType type, int ciphertextBytes)
    {
        var envelope = new SecureChat.Core.Wire.Envelope
        {
            Version = SecureChat.Core.Wire.WireLimits.ProtocolVersion,
            Type = type,
            SenderId = "member-with-a-longer-id@example.org",
            RoomId = "room",
            Epoch = 300,
            Sequence = 1L << 40,
            Nonce = Google.Protobuf.ByteString.CopyFrom(new byte[12]),
            Ciphertext = Google.Protobuf.ByteString.CopyFrom(Enumerable.Range(0, ciphertextBytes).Select(i => (byte)i).ToArray()),
            CipherSuite = SecureChat.Core.Wire.CipherSuite.Aes256GcmX25519Ed25519Sha256,
        };
        var bytes = Google.Protobuf.MessageExtensions.ToByteArray(envelope);

        Assert.True(Targets.SecureChat.EnvelopeScan.TryFind(bytes, out var foundType, out var ciphertext));

        Assert.Equal((int)type, foundType);
        Assert.Equal(envelope.Ciphertext.ToByteArray(), ciphertext.ToArray());
    }

    [Fact]
    public void Scan_refuses_a_truncated_envelope_instead_of_reading_past_it()
    {
        var bytes = Google.Protobuf.MessageExtensions.ToByteArray(new SecureChat.Core.Wire.Envelope
        {
            Type = SecureChat.Core.Wire.MessageType.Application,
            Ciphertext = Google.Protobuf.ByteString.CopyFrom(new byte[64]),
        });

        Assert.False(Targets.SecureChat.EnvelopeScan.TryFind(bytes.AsSpan(0, bytes.Length - 1), out _, out _));
    }
}
