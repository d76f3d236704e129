namespace SecureChat.Core.Replay;

/// <summary>One <see cref="ReplayWindow"/> per (room, epoch, sender); windows are independent.</summary>
public sealed class ReplayGuard
{
    private readonly Dictionary<(string Room, ulong Epoch, string Sender), ReplayWindow> _windows = new();
    private readonly int _windowSize;

    public ReplayGuard(int windowSize = ReplayWindow.DefaultSize)
    {
        // Refuse a bad size here, not at the first message of some sender.
        if (windowSize <= 0 || windowSize % 64 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(windowSize), "window size must be a positive multiple of 64");
        }

        _windowSize = windowSize;
    }

    public int WindowCount => _windows.Count;

    public ReplayVerdict Check(string roomId, ulong epoch, string senderId, ulong sequence) =>
        Window(roomId, epoch, senderId).Check(sequence);

    public ReplayVerdict Peek(string roomId, ulong epoch, string senderId, ulong sequence) =>
        _windows.TryGetValue((roomId, epoch, senderId), out var window) ? window.Peek(sequence) : ReplayVerdict.Accepted;

    /// <summary>Drops the windows of epochs before <paramref name="oldestKeptEpoch"/> in a room.</summary>
    public void ForgetEpochsBefore(string roomId, ulong oldestKeptEpoch)
    {
        foreach (var key in _windows.Keys.Where(k => k.Room == roomId && k.Epoch < oldestKeptEpoch).ToList())
        {
            _windows.Remove(key);
        }
    }

    public void ForgetRoom(string roomId)
    {
        foreach (var key in _windows.Keys.Where(k => k.Room == roomId).ToList())
        {
            _windows.Remove(key);
        }
    }

    private ReplayWindow Window(string roomId, ulong epoch, string senderId)
    {
        ArgumentNullException.ThrowIfNull(roomId);
        ArgumentNullException.ThrowIfNull(senderId);
        var key = (roomId, epoch, senderId);
        if (!_windows.TryGetValue(key, out var window))
        {
            window = new ReplayWindow(_windowSize);
            _windows[key] = window;
        }

        return window;
    }
}
