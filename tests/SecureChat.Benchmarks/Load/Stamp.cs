using System.Buffers.Binary;
using System.Diagnostics;

namespace SecureChat.Benchmarks.Load;

/// <summary>
/// The 16 bytes at the start of every benchmark payload: when the message was due (<see cref="Stopwatch"/>
/// ticks of the load generator, so latency is measured on one clock), how much later the generator actually
/// queued it (open loop: the pacer's own lateness; closed loop: 0), and which sender sent it. Every target
/// carries them opaquely inside its own framing.
/// </summary>
internal readonly record struct Stamp(long DueTicks, int LateMicros, int Sender)
{
    public const int Size = 16;

    /// <summary>A stamp for a message queued now that was due at <paramref name="dueTicks"/>.</summary>
    public static Stamp Now(long dueTicks, int sender)
    {
        var late = (Stopwatch.GetTimestamp() - dueTicks) * 1_000_000 / Stopwatch.Frequency;
        return new Stamp(dueTicks, (int)Math.Clamp(late, 0, int.MaxValue), sender);
    }

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteInt64LittleEndian(destination, DueTicks);
        BinaryPrimitives.WriteInt32LittleEndian(destination[8..], LateMicros);
        BinaryPrimitives.WriteInt32LittleEndian(destination[12..], Sender);
    }

    public static Stamp ReadFrom(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadInt64LittleEndian(source),
        BinaryPrimitives.ReadInt32LittleEndian(source[8..]),
        BinaryPrimitives.ReadInt32LittleEndian(source[12..]));
}
