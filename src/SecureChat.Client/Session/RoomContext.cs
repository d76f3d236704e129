using Akka.Actor;
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

    public GroupSession NewGroupSession(string roomId) =>
        new(Identity, roomId, TrustStore, GroupOptions, Clock, Random);
}
