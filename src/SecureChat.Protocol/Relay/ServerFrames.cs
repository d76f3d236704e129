using Google.Protobuf;
using SecureChat.Core.Wire;

namespace SecureChat.Protocol.Relay;

/// <summary>The envelopes the relay speaks (the server and the test relays alike). The relay's sender id is always empty.</summary>
public static class ServerFrames
{
    public const int MaxReasonLength = 200;

    public static ByteString Welcome(string clientId, uint maxFrameBytes, uint maxRooms, uint maxMembers) => Encode(new Envelope
    {
        Type = MessageType.Welcome,
        Welcome = new Welcome { ClientId = clientId, MaxFrameBytes = maxFrameBytes, MaxRoomsPerConnection = maxRooms, MaxMembersPerRoom = maxMembers },
    });

    public static ByteString Joined(string roomId, ulong currentEpoch, int memberCount, JoinMode mode, PublicRoomState? state = null,
        bool recovered = false) => Encode(new Envelope
    {
        Type = MessageType.Joined,
        RoomId = roomId,
        Epoch = currentEpoch,
        Joined = new Joined { CurrentEpoch = currentEpoch, MemberCount = (uint)memberCount, Mode = mode, State = state, Recovered = recovered },
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
    public static ByteString Commit(string roomId, string committerId, ulong epoch, CipherSuite suite, SignedCommit commit) => Encode(new Envelope
    {
        Type = MessageType.Commit,
        SenderId = committerId,
        RoomId = roomId,
        Epoch = epoch,
        CipherSuite = suite,
        Commit = commit,
    });

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
    /// every other member connected at that moment. Built from the room's cached <paramref name="prefix"/>
    /// (<see cref="RelayedPrefix"/>): one small array per relayed message, the same bytes the Envelope would encode to.
    /// </summary>
    public static ByteString Relayed(byte[] prefix, ulong epoch, ulong sequence)
    {
        ArgumentNullException.ThrowIfNull(prefix);

        // proto3 leaves zero fields out; Envelope's own encoding writes fields in number order, as here.
        var size = prefix.Length
                   + (epoch == 0 ? 0 : 1 + CodedOutputStream.ComputeUInt64Size(epoch))
                   + (sequence == 0 ? 0 : 1 + CodedOutputStream.ComputeUInt64Size(sequence));
        var frame = new byte[size];
        prefix.CopyTo(frame, 0);
        var position = prefix.Length;
        if (epoch != 0)
        {
            position = WriteVarintField(frame, position, Envelope.EpochFieldNumber, epoch);
        }

        if (sequence != 0)
        {
            WriteVarintField(frame, position, Envelope.SequenceFieldNumber, sequence);
        }

        return UnsafeByteOperations.UnsafeWrap(frame);
    }

    /// <summary>What every RELAYED frame of a room starts with: version, type and room id, encoded once per room.</summary>
    public static byte[] RelayedPrefix(string roomId) =>
        new Envelope { Version = WireLimits.ProtocolVersion, Type = MessageType.Relayed, RoomId = roomId }.ToByteArray();

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
