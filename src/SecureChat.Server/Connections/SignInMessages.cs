using Akka.Actor;
using SecureChat.Server.Messaging;

namespace SecureChat.Server.Connections;

// What connections and the cluster-wide sign-in table (SignInActor, one sharded entity per client id) say to each other,
// on whatever nodes they are: all of it crosses nodes (IServerMessage, cluster.proto).

/// <summary>Every message for the sign-in table names its client id: the sign-ins' shard region routes on it (<see cref="SignInMessageExtractor"/>).</summary>
public interface IWithClientId : IServerMessage
{
    string ClientId { get; }
}

/// <summary>
/// From a connection to the sign-in table of <paramref name="ClientId"/>: it said HELLO as that id and is the id's connection
/// from now on (an earlier one is told <see cref="SignedInElsewhere"/>). With <paramref name="Resume"/> it had signed in already
/// and says so again to a table that forgot it (its entity moved or ended): it holds the id only if nobody signed in since, and
/// takes nothing over. Answered with <see cref="SignInRecorded"/>, from the entity (which the connection watches).
/// </summary>
public sealed record SignIn(string ClientId, IActorRef Connection, bool Resume) : IWithClientId;

/// <summary>From the sign-in table to a connection: its sign-in is recorded; the sender is the table's entity.</summary>
public sealed record SignInRecorded(string ClientId) : IServerMessage;

/// <summary>To a connection: a newer connection with its client id signed in; tell the client SIGNED_IN_ELSEWHERE and close.</summary>
public sealed record SignedInElsewhere : IServerMessage
{
    public static readonly SignedInElsewhere Instance = new();
}
