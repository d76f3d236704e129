using Akka.Actor;
using SecureChat.Client.Store;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;

namespace SecureChat.Client.Session;

/// <summary>
/// What a session and its rooms share: who we are, whom we tell, and the engine's dependencies.
/// Passed once at actor creation, never as a message.
/// </summary>
public sealed record RoomContext(
    string ClientId,
    IActorRef Owner,
    LocalIdentity Identity,
    TrustStore TrustStore,
    IClock Clock,
    IRandomSource Random,
    ClientSessionSettings Settings)
{
    public GroupOptions GroupOptions { get; init; } = GroupOptions.Default;

    /// <summary>Where the rooms keep their state across restarts; null: in memory only.</summary>
    public LocalStore? Store { get; init; }

    /// <summary>Whether rooms keep their last decrypted lines in <see cref="Store"/> (<see cref="LocalStore.MaxHistoryLines"/>).</summary>
    public bool KeepHistory { get; init; } = true;

    public GroupSession NewGroupSession(string roomId) =>
        new(Identity, roomId, TrustStore, GroupOptions, Clock, Random);

    /// <summary>A stored session back (<see cref="GroupSession.ImportState"/>).</summary>
    public GroupSession ImportGroupSession(ReadOnlyMemory<byte> state) =>
        GroupSession.ImportState(state.Span, Identity, TrustStore, GroupOptions, Clock, Random);
}
