namespace SecureChat.Server.Rooms;

/// <summary>The limits and deadlines a room works with (bound from <c>ServerOptions</c>).</summary>
public sealed record RoomSettings(int MaxMembers, TimeSpan CommitTimeout, TimeSpan EmptyRoomGracePeriod, TimeProvider Clock)
{
    public static RoomSettings Default { get; } = new(100, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30), TimeProvider.System);
}
