using Akka.Actor;

namespace SecureChat.Server.Rooms;

/// <summary>
/// How a room reaches a member's connection: through the relay of the connection's node (<paramref name="Relay"/>),
/// or straight to it when it reached the room without one (null: tests and tools that talk to a room directly).
/// The room state's connection type: two links are the same connection only through the same relay.
/// </summary>
public sealed record MemberLink(IActorRef Connection, IActorRef? Relay);
