using System.Buffers.Binary;
using System.Diagnostics;

namespace SecureChat.Benchmarks.Load;

/// <summary>
/// The 16 bytes at the start of every benchmark payload: when the message was due to be sent
/// (<see cref="Stopwatch"/> ticks of the load generator, so latency is measured on one clock), which
/// sender sent it and its sequence number. Every target carries them opaquely inside its own framing.
/// </summary>
internal readonly record struct Stamp(long SentTicks, int Sender, int Sequence)
{
    public const int Size = 16;

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteInt64LittleEndian(destination, SentTicks);
        BinaryPrimitives.WriteInt32LittleEndian(destination[8..], Sender);
        BinaryPrimitives.WriteInt32LittleEndian(destination[12..], Sequence);
    }

    public static Stamp ReadFrom(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadInt64LittleEndian(source),
        BinaryPrimitives.ReadInt32LittleEndian(source[8..]),
        BinaryPrimitives.ReadInt32LittleEndian(source[12..]));
}
