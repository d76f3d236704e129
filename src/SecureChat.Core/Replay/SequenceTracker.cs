namespace SecureChat.Core.Replay;

/// <summary>Per-room outgoing sequence numbers: strictly increasing from 0, independent per room.</summary>
public sealed class SequenceTracker
{
    private readonly Dictionary<string, ulong> _next = new(StringComparer.Ordinal);

    /// <summary>Returns the next number for the room and advances it.</summary>
    public ulong Next(string roomId)
    {
        ArgumentNullException.ThrowIfNull(roomId);
        _next.TryGetValue(roomId, out var value);
        if (value == ulong.MaxValue)
        {
            throw new InvalidOperationException("sequence space exhausted; the room must be rekeyed");
        }

        _next[roomId] = value + 1;
        return value;
    }

    public ulong Peek(string roomId) => _next.TryGetValue(roomId, out var value) ? value : 0;

    /// <summary>Starts a room over at 0 (after a new epoch).</summary>
    public void Reset(string roomId) => _next.Remove(roomId);
}
