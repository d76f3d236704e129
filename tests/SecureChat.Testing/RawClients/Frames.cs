using Google.Protobuf;
using SecureChat.Core.Wire;

namespace SecureChat.Testing.RawClients;

/// <summary>Client-side envelopes for tests.</summary>
public static class Frames
{
    public static Envelope Hello(string sender) => new() { Version = WireLimits.ProtocolVersion, Type = MessageType.Hello, SenderId = sender, Hello = new Hello { ClientSoftware = "tests" } };

    public static Envelope Ping(string sender, ulong sequence) => new() { Version = WireLimits.ProtocolVersion, Type = MessageType.Ping, SenderId = sender, Sequence = sequence };

    /// <summary>A JOIN; with <paramref name="knownEpoch"/> and the sender's roster entry as <paramref name="bundle"/>, a resume.</summary>
    public static Envelope Join(string sender, string room, SignedBundle bundle, ulong knownEpoch = 0) => new()
    {
        Version = WireLimits.ProtocolVersion,
        Type = MessageType.Join,
        SenderId = sender,
        RoomId = room,
        Join = new Join { Bundle = bundle, PreferredSuite = CipherSuite.Aes256GcmX25519Ed25519Sha256, KnownEpoch = knownEpoch },
    };

    /// <summary>A LEAVE; without <paramref name="leave"/> it carries an unsigned placeholder (enough for a server that only relays it).</summary>
    public static Envelope Leave(string sender, string room, SignedLeave? leave = null) => new()
    {
        Version = WireLimits.ProtocolVersion,
        Type = MessageType.Leave,
        SenderId = sender,
        RoomId = room,
        Leave = leave ?? new SignedLeave
        {
            Content = new LeaveContent { RoomId = room, ClientId = sender, BundleHash = ByteString.CopyFrom(new byte[32]) }.ToByteString(),
            Signature = ByteString.CopyFrom(new byte[64]),
        },
    };

    public static Envelope Commit(string sender, string room, ulong epoch, SignedCommit commit) => new()
    {
        Version = WireLimits.ProtocolVersion,
        Type = MessageType.Commit,
        SenderId = sender,
        RoomId = room,
        Epoch = epoch,
        Commit = commit,
    };

    /// <summary>An APPLICATION frame: random "ciphertext" of the given size (the server never opens it).</summary>
    public static Envelope Application(string sender, string room, ulong epoch, ulong sequence, int ciphertextBytes = 64) => new()
    {
        Version = WireLimits.ProtocolVersion,
        Type = MessageType.Application,
        SenderId = sender,
        RoomId = room,
        Epoch = epoch,
        Sequence = sequence,
        CipherSuite = CipherSuite.Aes256GcmX25519Ed25519Sha256,
        Nonce = ByteString.CopyFrom(new byte[12]),
        HistoryTag = ByteString.CopyFrom(new byte[8]),
        Ciphertext = ByteString.CopyFrom(System.Security.Cryptography.RandomNumberGenerator.GetBytes(ciphertextBytes)),
    };

    public static ByteString Bytes(this Envelope envelope) => envelope.ToByteString();

    /// <summary>An APPLICATION as a room with a message log relays it: the sender's envelope with its number in the log (PROTOCOL.md §4.4.1).</summary>
    public static Envelope Numbered(this Envelope envelope, ulong roomSeq)
    {
        var relayed = envelope.Clone();
        relayed.RoomSeq = roomSeq;
        return relayed;
    }

    public static Envelope Parse(ByteString bytes) => Envelope.Parser.ParseFrom(bytes);
}
