using Google.Protobuf;
using SecureChat.Core.Wire;

namespace SecureChat.Testing.RawClients;

/// <summary>Client-side envelopes for tests.</summary>
public static class Frames
{
    public static Envelope Hello(string sender) => new() { Version = 1, Type = MessageType.Hello, SenderId = sender, Hello = new Hello { ClientSoftware = "tests" } };

    public static Envelope Ping(string sender, ulong sequence) => new() { Version = 1, Type = MessageType.Ping, SenderId = sender, Sequence = sequence };

    public static Envelope Join(string sender, string room, SignedBundle bundle) => new()
    {
        Version = 1,
        Type = MessageType.Join,
        SenderId = sender,
        RoomId = room,
        Join = new Join { Bundle = bundle, PreferredSuite = CipherSuite.Aes256GcmX25519Ed25519Sha256 },
    };

    public static Envelope Leave(string sender, string room) => new() { Version = 1, Type = MessageType.Leave, SenderId = sender, RoomId = room };

    public static Envelope Commit(string sender, string room, ulong epoch, SignedCommit commit) => new()
    {
        Version = 1,
        Type = MessageType.Commit,
        SenderId = sender,
        RoomId = room,
        Epoch = epoch,
        Commit = commit,
    };

    /// <summary>An APPLICATION frame: random "ciphertext" of the given size (the server never opens it).</summary>
    public static Envelope Application(string sender, string room, ulong epoch, ulong sequence, int ciphertextBytes = 64) => new()
    {
        Version = 1,
        Type = MessageType.Application,
        SenderId = sender,
        RoomId = room,
        Epoch = epoch,
        Sequence = sequence,
        CipherSuite = CipherSuite.Aes256GcmX25519Ed25519Sha256,
        Nonce = ByteString.CopyFrom(new byte[12]),
        Ciphertext = ByteString.CopyFrom(System.Security.Cryptography.RandomNumberGenerator.GetBytes(ciphertextBytes)),
    };

    public static ByteString Bytes(this Envelope envelope) => envelope.ToByteString();

    public static Envelope Parse(ByteString bytes) => Envelope.Parser.ParseFrom(bytes);
}
