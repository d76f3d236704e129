using SecureChat.Client.Session;
using SecureChat.Core.Wire;

namespace SecureChat.Client.Rooms;

/// <summary>What the admission timer should do after an input.</summary>
public enum AdmissionTimer
{
    Unchanged,

    /// <summary>Start (or restart) a single timer of <see cref="ClientRoom.AdmissionTimeout"/>; on expiry call <see cref="ClientRoom.AdmissionOverdue"/>.</summary>
    Start,

    Cancel,
}

/// <summary>
/// What one input to a <see cref="ClientRoom"/> asks its driver to do: frames to send to the server in this
/// order, events to report to the user in this order, the admission timer, and whether the room is finished.
/// The room reuses one instance: it is valid until the room's next input, so read (or copy) it first.
/// </summary>
public sealed class RoomEffects
{
    private readonly List<Envelope> _outbound = [];
    private readonly List<ClientEvent> _events = [];

    internal RoomEffects()
    {
    }

    /// <summary>Frames for the server, in order.</summary>
    public IReadOnlyList<Envelope> Outbound => _outbound;

    /// <summary>Events for the user, in order.</summary>
    public IReadOnlyList<ClientEvent> Events => _events;

    public AdmissionTimer Timer { get; private set; }

    /// <summary>
    /// When set: call <see cref="ClientRoom.AcksOverdue"/> after this delay (a single timer; the room asks for the next
    /// one itself, so a new request replaces nothing still set).
    /// </summary>
    public TimeSpan? AckCheckIn { get; private set; }

    /// <summary>The room was left: it takes no more input, and its driver may stop.</summary>
    public bool Closed { get; private set; }

    internal void Clear()
    {
        _outbound.Clear();
        _events.Clear();
        Timer = AdmissionTimer.Unchanged;
        AckCheckIn = null;
        Closed = false;
    }

    internal void Send(Envelope envelope) => _outbound.Add(envelope);

    internal void Report(ClientEvent e) => _events.Add(e);

    /// <summary>The last request wins: a start after a cancel restarts the timer, a cancel after a start stops it.</summary>
    internal void SetTimer(AdmissionTimer timer) => Timer = timer;

    internal void SetAckCheck(TimeSpan delay) => AckCheckIn = delay;

    internal void Close() => Closed = true;
}
