namespace SecureChat.Benchmarks.Load;

/// <summary>
/// R rooms of N members; every member sends <see cref="MessagesPerMember"/> messages of
/// <see cref="PayloadBytes"/> bytes, each delivered to the N-1 other members of its room.
/// </summary>
/// <param name="RatePerSecond">Total messages sent per second across all senders (open loop); null sends as fast as the window allows (closed loop).</param>
/// <param name="Window">Closed loop: messages a sender may have in flight (sent, not yet delivered to every receiver).</param>
/// <param name="WarmupPerMember">Messages each member sends (and are awaited) before measuring; not counted.</param>
internal sealed record RelayWorkload(
    int Rooms,
    int Members,
    int MessagesPerMember,
    int PayloadBytes,
    double? RatePerSecond = null,
    int Window = 256,
    int WarmupPerMember = 0)
{
    public int Senders => Rooms * Members;

    public long ExpectedDeliveries => (long)Senders * MessagesPerMember * (Members - 1);

    /// <summary>Rooms, members and size: the same for the closed-loop run and the open-loop runs that follow it.</summary>
    public string Shape => $"R={Rooms} N={Members} S={PayloadBytes}";

    public string Mode => RatePerSecond is { } rate ? $"open {rate:0} msg/s" : "closed";

    public RelayWorkload Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Rooms, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(Members, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(MessagesPerMember, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(PayloadBytes, Stamp.Size + 16);
        ArgumentOutOfRangeException.ThrowIfLessThan(Window, 1);
        if (RatePerSecond is { } rate)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rate);
        }

        return this;
    }
}
