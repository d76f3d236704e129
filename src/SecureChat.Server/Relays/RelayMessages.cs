using Akka.Actor;
using Google.Protobuf;
using SecureChat.Core.Wire;
using SecureChat.Server.Messaging;

namespace SecureChat.Server.Relays;

// What a room and the relays of its members' nodes say to each other (RoomActor <-> RoomRelayActor); all may cross
// nodes. A relay subscribes through the shard region, which finds or starts the room; from the room's acknowledgement
// on it talks to that room incarnation directly and watches it. Everything the room sends a relay is numbered
// (Sequence, from 1 after the acknowledgement, which carries the last number sent before it): a relay that sees a
// number out of turn knows it missed something and says so to its members.

/// <summary>A node's relay asks the room to send it what its connections are to receive (sent through the shard region).</summary>
public sealed record SubscribeRelay(string RoomId, IActorRef Relay) : IWithRoomId;

/// <summary>
/// The room took the relay's subscription: <paramref name="Incarnation"/> tells this run of the room from any other,
/// and the relay's next message from it is numbered <paramref name="LastSequence"/> + 1. Sent by the room itself.
/// </summary>
public sealed record RelaySubscribed(string RoomId, long Incarnation, long LastSequence) : IServerMessage;

/// <summary>A member of the room at a node: its client id and its connection there.</summary>
public sealed record RelayMember(string ClientId, IActorRef Connection);

/// <summary>
/// The members on the relay's node who are to receive what the room relays (its connected roster members there),
/// replacing the list before; sent whenever it changes, so a <see cref="RelayBroadcast"/> names only its sender.
/// </summary>
public sealed record RelayRecipients(string RoomId, long Sequence, IReadOnlyList<RelayMember> Members) : IServerMessage;

/// <summary>An application envelope for every one of the relay's recipients except <paramref name="SenderId"/>: a publish crosses to a node once.</summary>
public sealed record RelayBroadcast(string RoomId, long Sequence, ByteString Frame, string SenderId) : IServerMessage;

/// <summary>One frame for some connections at the relay's node (a JOINED, a COMMIT_REQUEST, a commit for everyone there).</summary>
public sealed record RelayFrame(string RoomId, long Sequence, ByteString Frame, IReadOnlyList<IActorRef> Connections) : IServerMessage;

/// <summary>The room refused a connection's request (see <see cref="RoomError"/>; <paramref name="MessageSequence"/> is its Sequence: the refused message's).</summary>
public sealed record RelayRefusal(string RoomId, long Sequence, IActorRef Connection, ErrorCode Code, string Reason, bool NotInRoom, ulong Epoch,
    ulong MessageSequence = 0) : IServerMessage;
