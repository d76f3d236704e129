using SecureChat.Protocol.Infrastructure;

namespace SecureChat.Testing.Simulation;

/// <summary>Hands out exactly the bytes a test vector prescribes, in order; running out is a test failure.</summary>
public sealed class ScriptedRandomSource(params byte[][] chunks) : IRandomSource
{
    private readonly Queue<byte[]> _chunks = new(chunks);

    public int Remaining => _chunks.Count;

    public void Fill(Span<byte> destination)
    {
        var next = _chunks.Count > 0 ? _chunks.Dequeue() : throw new InvalidOperationException("scripted randomness exhausted");
        if (next.Length != destination.Length)
        {
            throw new InvalidOperationException($"scripted chunk of {next.Length} bytes where {destination.Length} were asked");
        }

        next.CopyTo(destination);
    }
}
