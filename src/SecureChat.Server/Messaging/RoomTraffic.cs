using Akka.Actor;
using Google.Protobuf;
using SecureChat.Core.Wire;

namespace SecureChat.Server.Messaging;

// What connections and rooms say to each other. Connections send the first four to the rooms' shard region (which routes
// on the room id); rooms answer each connection with the last two.

/// <summary>A client asks to join; the room checks its bundle and admits it through the next commit.</summary>
public sealed record JoinRoom(string RoomId, string ClientId, ByteString BundleContent, ByteString BundleSignature, CipherSuite PreferredSuite,
    IActorRef Connection) : IWithRoomId
{
    /// <summary>The suites the joiner can run (empty: both).</summary>
    public IReadOnlyList<CipherSuite> SupportedSuites { get; init; } = [];

    /// <summary>JOIN's known_epoch: for a resume, the last epoch the client applied.</summary>
    public ulong KnownEpoch { get; init; }

    /// <summary>An invite naming the joiner that it brings itself (JOIN.invite), if any.</summary>
    public SignedInvite? Invite { get; init; }

    /// <summary>JOIN's last_seq: for a resume, the highest message number the client has (0: the position it acknowledged).</summary>
    public ulong LastSeq { get; init; }
}

/// <summary>A client leaves, with its signed leave (absent when the client sent none).</summary>
public sealed record LeaveRoom(string RoomId, string ClientId, IActorRef Connection) : IWithRoomId
{
    public SignedLeave? Leave { get; init; }
}

/// <summary>A member's INVITE for the room to check and keep.</summary>
public sealed record InviteToRoom(string RoomId, string ClientId, SignedInvite Invite, IActorRef Connection) : IWithRoomId;

/// <summary>A COMMIT as the client sent it (the SignedCommit's three fields).</summary>
public sealed record SubmitCommit(string RoomId, string ClientId, ByteString Content, ByteString Signature, ByteString ConfirmationTag,
    IActorRef Connection) : IWithRoomId;

/// <summary>An APPLICATION envelope, as received, for the room to fan out unchanged; <paramref name="Sequence"/> is its sender's generation.</summary>
public sealed record PublishToRoom(string RoomId, string ClientId, ulong Epoch, ulong Sequence, ByteString Envelope, IActorRef Connection) : IWithRoomId;

/// <summary>ACK: the member has every message of the room through <paramref name="Seq"/> (PROTOCOL.md §4.4.1).</summary>
public sealed record AcknowledgePosition(string RoomId, string ClientId, ulong Seq, IActorRef Connection) : IWithRoomId;

/// <summary>ERROR CANNOT_COMMIT: the asked member cannot make the commit the room requested for <paramref name="NewEpoch"/> (PROTOCOL.md §4.3).</summary>
public sealed record DeclineCommit(string RoomId, string ClientId, ulong NewEpoch, IActorRef Connection) : IWithRoomId;

/// <summary>An envelope a room wants this client to receive.</summary>
public sealed record RoomFrame(string RoomId, ByteString Envelope) : IServerMessage;

/// <summary>
/// A room refused a request; the connection answers ERROR (not fatal) and logs it. <see cref="NotInRoom"/> means the
/// client is not (or no longer) in the room; for COMMIT_REJECTED <see cref="Epoch"/> is the refused commit's epoch, for a
/// refused APPLICATION <see cref="Epoch"/> and <see cref="Sequence"/> are the message's.
/// </summary>
public sealed record RoomError(string RoomId, ErrorCode Code, string Reason, bool NotInRoom, ulong Epoch = 0, ulong Sequence = 0) : IServerMessage;
