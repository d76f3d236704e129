using Akka.Actor;
using SecureChat.Client.Connection;
using SecureChat.Client.Session;
using SecureChat.Client.Store;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;

namespace SecureChat.Client;

/// <summary>
/// What a client starts with (<see cref="ChatClient.Start(ClientOptions, ActorSystem?)"/>): who it is, how it
/// reaches the server (and which servers it moves to when that one fails), whom it already trusts, and its session settings.
/// </summary>
public sealed record ClientOptions(LocalIdentity Identity, IServerConnector Connector)
{
    public string ClientId => Identity.ClientId;

    /// <summary>Pinned identity keys; by default kept in memory only (the chat command opens its pin file).</summary>
    public TrustStore Trust { get; init; } = new();

    public ClientSessionSettings Settings { get; init; } = new();

    /// <summary>
    /// Servers to move to, in this order, when the current one fails; after the last, <see cref="Connector"/> again.
    /// Empty: only <see cref="Connector"/>.
    /// </summary>
    public IReadOnlyList<IServerConnector> FailoverServers { get; init; } = [];

    /// <summary>Every server the client may use, in the order it tries them: <see cref="Connector"/> first.</summary>
    public IReadOnlyList<IServerConnector> Servers => [Connector, .. FailoverServers];

    /// <summary>The engine's limits and policies (rekey thresholds, retention) for every room of the client.</summary>
    public GroupOptions GroupOptions { get; init; } = GroupOptions.Default;

    /// <summary>
    /// The identity's encrypted local store: with it, rooms, their positions and unsent messages survive a restart (the client
    /// rejoins its stored rooms on start). Null: everything lives in memory only.
    /// </summary>
    public LocalStore? Store { get; init; }

    /// <summary>Whether the client disposes <see cref="Store"/> when it is disposed (after its rooms wrote their last state).</summary>
    public bool OwnsStore { get; init; }

    /// <summary>Whether rooms keep their last decrypted lines in <see cref="Store"/>; false clears what was kept.</summary>
    public bool KeepHistory { get; init; } = true;

    /// <summary>The session actor's name; by default a unique one.</summary>
    public string? ActorName { get; init; }

    /// <summary>Whether the client disposes <see cref="Identity"/> when it is disposed.</summary>
    public bool OwnsIdentity { get; init; }

    /// <summary>A client with a fresh identity key that lives and dies with it: a simulated or test client.</summary>
    public static ClientOptions WithNewIdentity(string clientId, IServerConnector connector) =>
        new(LocalIdentity.Generate(clientId, SystemRandomSource.Instance), connector) { OwnsIdentity = true };

    /// <summary>What the session shares with its rooms; <paramref name="owner"/> receives the client's events.</summary>
    public RoomContext ContextFor(IActorRef owner) =>
        new(ClientId, owner, Identity, Trust, SystemClock.Instance, SystemRandomSource.Instance, Settings)
        {
            GroupOptions = GroupOptions, Store = Store, KeepHistory = KeepHistory,
        };
}
