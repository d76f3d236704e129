using Google.Protobuf;
using SecureChat.Core.Wire;

namespace SecureChat.Protocol.Relay;

/// <summary>The envelopes the relay speaks (the server and the test relays alike). The relay's sender id is always empty.</summary>
public static class ServerFrames
{
    public const int MaxReasonLength = 200;

    /// <param name="messageLog">The server's rooms keep a message log (STORED follows RELAYED; a resume replays messages).</param>
    public static ByteString Welcome(string clientId, uint maxFrameBytes, uint maxRooms, uint maxMembers, bool messageLog = false) => Encode(new Envelope
    {
        Type = MessageType.Welcome,
        Welcome = new Welcome
        {
            ClientId = clientId, MaxFrameBytes = maxFrameBytes, MaxRoomsPerConnection = maxRooms, MaxMembersPerRoom = maxMembers, MessageLog = messageLog,
        },
    });

    /// <param name="lastSeq">The room's last message number (PROTOCOL.md §4.4.1).</param>
    /// <param name="missed">The history gap: messages after the resumer's position it will not get.</param>
    /// <param name="catchingUp">RESUMED: a catch-up chunk ended; the next follows the member's ACK.</param>
    public static ByteString Joined(string roomId, ulong currentEpoch, int memberCount, JoinMode mode, PublicRoomState? state = null,
        bool recovered = false, ulong lastSeq = 0, ulong missed = 0, bool catchingUp = false) => Encode(new Envelope
    {
        Type = MessageType.Joined,
        RoomId = roomId,
        Epoch = currentEpoch,
        Joined = new Joined
        {
            CurrentEpoch = currentEpoch, MemberCount = (uint)memberCount, Mode = mode, State = state, Recovered = recovered, LastSeq = lastSeq,
            Missed = missed, CatchingUp = catchingUp,
        },
    });

    /// <summary>A request to commit; the envelope's epoch is the epoch asked for (PROTOCOL.md §3).</summary>
    public static ByteString CommitRequest(string roomId, CommitRequest request) => Encode(new Envelope
    {
        Type = MessageType.CommitRequest,
        RoomId = roomId,
        Epoch = request.NewEpoch,
        CommitRequest = request,
    });

    /// <summary>The accepted commit as every member receives it, the committer's echo included.</summary>
    public static ByteString Commit(string roomId, string committerId, ulong epoch, CipherSuite suite, SignedCommit commit) =>
        Encode(CommitEnvelope(roomId, committerId, epoch, suite, commit));

    /// <summary>The length of <see cref="Commit"/>'s envelope, without encoding it: what a committer checks against the frame limit.</summary>
    public static int CommitSize(string roomId, string committerId, ulong epoch, CipherSuite suite, SignedCommit commit)
    {
        var envelope = CommitEnvelope(roomId, committerId, epoch, suite, commit);
        envelope.Version = WireLimits.ProtocolVersion;
        return envelope.CalculateSize();
    }

    private static Envelope CommitEnvelope(string roomId, string committerId, ulong epoch, CipherSuite suite, SignedCommit commit) => new()
    {
        Type = MessageType.Commit,
        SenderId = committerId,
        RoomId = roomId,
        Epoch = epoch,
        CipherSuite = suite,
        Commit = commit,
    };

    /// <summary>A member's invite the room kept, echoed to its inviter (PROTOCOL.md §4.5).</summary>
    public static ByteString Invite(string roomId, SignedInvite invite) => Encode(new Envelope
    {
        Type = MessageType.Invite,
        RoomId = roomId,
        Invite = invite,
    });

    /// <summary>
    /// An ERROR; for COMMIT_REJECTED <paramref name="epoch"/> is the refused commit's epoch, for a refused APPLICATION
    /// <paramref name="epoch"/> and <paramref name="sequence"/> are the message's (PROTOCOL.md §3).
    /// </summary>
    public static ByteString Error(ErrorCode code, string reason, bool fatal, string roomId = "", ulong epoch = 0, ulong sequence = 0) => Encode(new Envelope
    {
        Type = MessageType.Error,
        RoomId = roomId,
        Epoch = epoch,
        Sequence = sequence,
        Error = new Error { Code = code, Reason = reason.Length <= MaxReasonLength ? reason : reason[..MaxReasonLength], Fatal = fatal },
    });

    /// <summary>
    /// RELAYED: the room handed the sender's APPLICATION of <paramref name="epoch"/> and generation <paramref name="sequence"/> to
    /// every other member connected at that moment, as number <paramref name="roomSeq"/> of its message log (0: the room keeps
    /// none). Built from the room's cached <paramref name="prefix"/> (<see cref="RelayedPrefix"/>): one small array per
    /// relayed message, the same bytes the Envelope would encode to.
    /// </summary>
    public static ByteString Relayed(byte[] prefix, ulong epoch, ulong sequence, ulong roomSeq = 0) => Acknowledgement(prefix, epoch, sequence, roomSeq);

    /// <summary>
    /// STORED: the sender's APPLICATION of <paramref name="epoch"/> and generation <paramref name="sequence"/> is durable in the
    /// room's message log as <paramref name="roomSeq"/> (PROTOCOL.md §4.4.1); built from <see cref="StoredPrefix"/>.
    /// </summary>
    public static ByteString Stored(byte[] prefix, ulong epoch, ulong sequence, ulong roomSeq) => Acknowledgement(prefix, epoch, sequence, roomSeq);

    /// <summary>What every RELAYED frame of a room starts with: version, type and room id, encoded once per room.</summary>
    public static byte[] RelayedPrefix(string roomId) =>
        new Envelope { Version = WireLimits.ProtocolVersion, Type = MessageType.Relayed, RoomId = roomId }.ToByteArray();

    /// <summary>What every STORED frame of a room starts with.</summary>
    public static byte[] StoredPrefix(string roomId) =>
        new Envelope { Version = WireLimits.ProtocolVersion, Type = MessageType.Stored, RoomId = roomId }.ToByteArray();

    /// <summary>
    /// A relayed APPLICATION as a member of a room with a message log receives it: the sender's bytes, unchanged, followed by
    /// the field <c>room_seq</c> (protobuf reads the fields of concatenated encodings as one message).
    /// </summary>
    public static ByteString WithRoomSeq(ByteString envelope, ulong roomSeq)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        var frame = new byte[envelope.Length + 1 + CodedOutputStream.ComputeUInt64Size(roomSeq)];
        envelope.Span.CopyTo(frame);
        WriteVarintField(frame, envelope.Length, Envelope.RoomSeqFieldNumber, roomSeq);
        return UnsafeByteOperations.UnsafeWrap(frame);
    }

    // proto3 leaves zero fields out; Envelope's own encoding writes fields in number order, as here.
    private static ByteString Acknowledgement(byte[] prefix, ulong epoch, ulong sequence, ulong roomSeq)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var size = prefix.Length + VarintFieldSize(epoch) + VarintFieldSize(sequence) + VarintFieldSize(roomSeq);
        var frame = new byte[size];
        prefix.CopyTo(frame, 0);
        var position = prefix.Length;
        if (epoch != 0)
        {
            position = WriteVarintField(frame, position, Envelope.EpochFieldNumber, epoch);
        }

        if (sequence != 0)
        {
            position = WriteVarintField(frame, position, Envelope.SequenceFieldNumber, sequence);
        }

        if (roomSeq != 0)
        {
            WriteVarintField(frame, position, Envelope.RoomSeqFieldNumber, roomSeq);
        }

        return UnsafeByteOperations.UnsafeWrap(frame);
    }

    private static int VarintFieldSize(ulong value) => value == 0 ? 0 : 1 + CodedOutputStream.ComputeUInt64Size(value);

    public static ByteString Relayed(string roomId, ulong epoch, ulong sequence) => Relayed(RelayedPrefix(roomId), epoch, sequence);

    /// <summary>
    /// ERROR UNSUPPORTED_VERSION for a peer that spoke <paramref name="peerVersion"/>, sent in the peer's own version number
    /// (PROTOCOL.md §2): the envelope fields and the error payload are numbered alike in every version, so it can read it.
    /// </summary>
    public static ByteString VersionRefused(uint peerVersion, bool fatal)
    {
        var envelope = new Envelope
        {
            Type = MessageType.Error,
            Error = new Error { Code = ErrorCode.UnsupportedVersion, Reason = EnvelopeCodec.VersionRefusal(peerVersion, "server"), Fatal = fatal },
        };
        envelope.Version = peerVersion;
        return envelope.ToByteString();
    }

    public static ByteString Ping(ulong sequence) => Encode(new Envelope { Type = MessageType.Ping, Sequence = sequence });

    public static ByteString Pong(ulong sequence) => Encode(new Envelope { Type = MessageType.Pong, Sequence = sequence });

    /// <summary>A field of wire type varint (tag then value, both base-128 little-endian groups); returns the position after it.</summary>
    private static int WriteVarintField(byte[] frame, int position, int fieldNumber, ulong value)
    {
        position = WriteVarint(frame, position, WireFormat.MakeTag(fieldNumber, WireFormat.WireType.Varint));
        return WriteVarint(frame, position, value);
    }

    private static int WriteVarint(byte[] frame, int position, ulong value)
    {
        while (value >= 0x80)
        {
            frame[position++] = (byte)(value | 0x80);
            value >>= 7;
        }

        frame[position++] = (byte)value;
        return position;
    }

    private static ByteString Encode(Envelope envelope)
    {
        envelope.Version = WireLimits.ProtocolVersion;
        return envelope.ToByteString();
    }
}
