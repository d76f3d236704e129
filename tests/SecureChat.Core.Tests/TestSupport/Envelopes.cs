using Google.Protobuf;
using SecureChat.Core.Wire;

namespace SecureChat.Core.Tests.TestSupport;

/// <summary>One valid envelope of every message type, with the payload that type carries.</summary>
internal static class Envelopes
{
    public static Envelope Valid(MessageType type)
    {
        var envelope = new Envelope { Version = WireLimits.ProtocolVersion, Type = type, SenderId = "alice@example", RoomId = "room-1" };
        switch (type)
        {
            case MessageType.Hello:
                envelope.Hello = new Hello { ClientSoftware = "securechat-tests/1" };
                envelope.RoomId = string.Empty;
                break;
            case MessageType.Welcome:
                envelope.SenderId = string.Empty;
                envelope.RoomId = string.Empty;
                envelope.Welcome = new Welcome { ClientId = "alice@example", MaxFrameBytes = 65536, MaxRoomsPerConnection = 8, MaxMembersPerRoom = 64 };
                break;
            case MessageType.Join:
                envelope.Join = new Join { Bundle = Bundle(), PreferredSuite = CipherSuite.Chacha20Poly1305X25519Ed25519Sha256 };
                break;
            case MessageType.Joined:
                envelope.Joined = new Joined { CurrentEpoch = 3, MemberCount = 2 };
                break;
            case MessageType.Leave:
                envelope.Leave = new SignedLeave { Content = new LeaveContent { RoomId = "room-1", ClientId = "alice@example", Epoch = 3 }.ToByteString(), Signature = ByteString.CopyFrom(new byte[64]) };
                break;
            case MessageType.Invite:
                envelope.Invite = new SignedInvite { Content = new InviteContent { RoomId = "room-1", InviteeId = "bob", InviterId = "alice@example" }.ToByteString(), Signature = ByteString.CopyFrom(new byte[64]) };
                break;
            case MessageType.CommitRequest:
                envelope.CommitRequest = new CommitRequest
                {
                    NewEpoch = 4, Adds = { new Add { Bundle = Bundle() } }, Removes = { new Remove { ClientId = "bob", Reason = RemoveReason.Removed } },
                    DeadlineMs = 5000, Suite = CipherSuite.Aes256GcmX25519Ed25519Sha256,
                };
                break;
            case MessageType.Commit:
                envelope.Epoch = 4;
                envelope.Commit = new SignedCommit { Content = Commit().ToByteString(), Signature = ByteString.CopyFrom(new byte[64]), ConfirmationTag = ByteString.CopyFrom(new byte[32]) };
                break;
            case MessageType.Application:
                envelope.Epoch = 4;
                envelope.Sequence = 17;
                envelope.CipherSuite = CipherSuite.Chacha20Poly1305X25519Ed25519Sha256;
                envelope.Nonce = ByteString.CopyFrom(Enumerable.Range(0, 12).Select(i => (byte)i).ToArray());
                envelope.HistoryTag = ByteString.CopyFrom(new byte[8]);
                envelope.Ciphertext = ByteString.CopyFrom(new byte[40]);
                break;
            case MessageType.Error:
                envelope.Error = new Error { Code = ErrorCode.RateLimited, Reason = "slow down", Fatal = false };
                break;
            case MessageType.Relayed or MessageType.Stored:
                envelope.SenderId = string.Empty;
                envelope.Epoch = 4;
                envelope.Sequence = 17;
                envelope.RoomSeq = 65_553;
                break;
            case MessageType.Ack:
                envelope.RoomSeq = 65_553;
                break;
            case MessageType.Ping:
            case MessageType.Pong:
                envelope.RoomId = string.Empty;
                envelope.Sequence = 9;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type));
        }

        return envelope;
    }

    public static IEnumerable<MessageType> AllTypes => Enum.GetValues<MessageType>().Where(t => t != MessageType.Unspecified);

    public static SignedBundle Bundle() => new()
    {
        Content = new BundleContent
        {
            ClientId = "alice@example",
            IdentityKey = ByteString.CopyFrom(new byte[32]),
            MembershipKey = ByteString.CopyFrom(Enumerable.Repeat((byte)9, 32).ToArray()),
            KeyId = 1,
            CreatedAtMs = 1_700_000_000_000,
            ExpiresAtMs = 1_700_086_400_000,
            RoomId = "room-1",
        }.ToByteString(),
        Signature = ByteString.CopyFrom(new byte[64]),
    };

    public static CommitContent Commit() => new()
    {
        RoomId = "room-1",
        Epoch = 4,
        PreviousTranscriptHash = ByteString.CopyFrom(new byte[32]),
        CommitterId = "alice@example",
        Kind = CommitKind.Member,
        Operations = { new Operation { Remove = new Remove { ClientId = "bob", Reason = RemoveReason.Removed } }, new Operation { Add = new Add { Bundle = Bundle() } } },
        Policy = new RoomPolicy { Admission = Admission.Open, AbsenceLimitMs = 14L * 24 * 3_600_000 },
        Suite = CipherSuite.Chacha20Poly1305X25519Ed25519Sha256,
        Roster = { Bundle() },
        Wraps = { new Wrap { RecipientId = "alice@example", RecipientKeyId = 1, EphemeralKey = ByteString.CopyFrom(new byte[32]), SealedSecret = ByteString.CopyFrom(new byte[48]) } },
        CreatedAtMs = 1_700_000_000_000,
        CommitterSent = new EpochCount { Epoch = 3, Count = 5 },
    };

    public static ApplicationPlaintext Plaintext() => new()
    {
        SentAtMs = 1_700_000_000_000,
        Body = ByteString.CopyFromUtf8("hello, room"),
        Signature = ByteString.CopyFrom(new byte[64]),
        Padding = ByteString.CopyFrom(new byte[13]),
        Previous = new EpochCount { Epoch = 3, Count = 2 },
    };
}
