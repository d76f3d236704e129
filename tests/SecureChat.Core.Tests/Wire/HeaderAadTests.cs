using Google.Protobuf;
using SecureChat.Core.Tests.TestSupport;
using SecureChat.Core.Wire;

namespace SecureChat.Core.Tests.Wire;

public class HeaderAadTests
{
    private static readonly byte[] Nonce = Enumerable.Range(0, 12).Select(i => (byte)i).ToArray();
    private static readonly byte[] Context = Enumerable.Repeat((byte)0xAA, 32).ToArray();
    private static readonly byte[] Tag = Context[..8];

    private static byte[] Baseline() =>
        HeaderAad.Encode(2, CipherSuite.Aes256GcmX25519Ed25519Sha256, "room-1", 7, "alice", 42, Nonce, Tag, Context);

    [Fact]
    public void Golden_bytes_of_the_documented_encoding()
    {
        // Written out by hand from the layout in HeaderAad's doc comment; if this changes, old messages stop opening.
        const string Expected =
            "5343322f6d73672d6164" + "00" // "SC2/msg-ad" 0x00
            + "00000002" // version 2
            + "00000001" // suite 1 (AES-256-GCM)
            + "0006" + "726f6f6d2d31" // len 6, "room-1"
            + "0000000000000007" // epoch 7
            + "0005" + "616c696365" // len 5, "alice"
            + "000000000000002a" // sequence 42
            + "0c" + "000102030405060708090a0b" // nonce
            + "08" + "aaaaaaaaaaaaaaaa" // history tag
            + "20" + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; // transcript hash

        Assert.Equal(Expected, Hex.Encode(Baseline()));
    }

    [Fact]
    public void Encoding_is_deterministic_and_the_envelope_overload_agrees()
    {
        var envelope = new Envelope
        {
            Version = 2,
            Type = MessageType.Application,
            CipherSuite = CipherSuite.Aes256GcmX25519Ed25519Sha256,
            RoomId = "room-1",
            Epoch = 7,
            SenderId = "alice",
            Sequence = 42,
            Nonce = ByteString.CopyFrom(Nonce),
            HistoryTag = ByteString.CopyFrom(Tag),
            Ciphertext = ByteString.CopyFrom(new byte[40]),
        };

        Assert.Equal(Baseline(), Baseline());
        Assert.Equal(Baseline(), HeaderAad.Encode(envelope, Context));
    }

    [Fact]
    public void The_ciphertext_is_not_part_of_the_associated_data()
    {
        var envelope = Envelopes.Valid(MessageType.Application);
        var before = HeaderAad.Encode(envelope, Context);
        envelope.Ciphertext = ByteString.CopyFrom(new byte[99]);
        Assert.Equal(before, HeaderAad.Encode(envelope, Context));
    }

    [Fact]
    public void Every_field_changes_the_bytes()
    {
        var baseline = Hex.Encode(Baseline());
        var variants = new[]
        {
            HeaderAad.Encode(3, CipherSuite.Aes256GcmX25519Ed25519Sha256, "room-1", 7, "alice", 42, Nonce, Tag, Context),
            HeaderAad.Encode(2, CipherSuite.Chacha20Poly1305X25519Ed25519Sha256, "room-1", 7, "alice", 42, Nonce, Tag, Context),
            HeaderAad.Encode(2, CipherSuite.Aes256GcmX25519Ed25519Sha256, "room-2", 7, "alice", 42, Nonce, Tag, Context),
            HeaderAad.Encode(2, CipherSuite.Aes256GcmX25519Ed25519Sha256, "room-1", 8, "alice", 42, Nonce, Tag, Context),
            HeaderAad.Encode(2, CipherSuite.Aes256GcmX25519Ed25519Sha256, "room-1", 7, "alicf", 42, Nonce, Tag, Context),
            HeaderAad.Encode(2, CipherSuite.Aes256GcmX25519Ed25519Sha256, "room-1", 7, "alice", 43, Nonce, Tag, Context),
            HeaderAad.Encode(2, CipherSuite.Aes256GcmX25519Ed25519Sha256, "room-1", 7, "alice", 42, [.. Nonce[..11], 0xFF], Tag, Context),
            HeaderAad.Encode(2, CipherSuite.Aes256GcmX25519Ed25519Sha256, "room-1", 7, "alice", 42, Nonce, Tag, [.. Context[..31], 0xAB]),
            HeaderAad.Encode(2, CipherSuite.Aes256GcmX25519Ed25519Sha256, "room-1", 7, "alice", 42, Nonce, [.. Tag[..7], 0xAB], Context),
        }.Select(bytes => Hex.Encode(bytes)).ToList();

        Assert.All(variants, variant => Assert.NotEqual(baseline, variant));
        Assert.Equal(variants.Count, variants.Distinct().Count());
    }

    [Fact]
    public void Length_prefixes_prevent_field_boundary_ambiguity()
    {
        var roomAbSenderC = HeaderAad.Encode(2, CipherSuite.Aes256GcmX25519Ed25519Sha256, "ab", 7, "c", 42, Nonce, Tag, Context);
        var roomASenderBc = HeaderAad.Encode(2, CipherSuite.Aes256GcmX25519Ed25519Sha256, "a", 7, "bc", 42, Nonce, Tag, Context);
        Assert.NotEqual(roomAbSenderC, roomASenderBc);

        // Moving bytes between the nonce and the context must not give the same encoding either.
        var shortNonce = HeaderAad.Encode(2, CipherSuite.Aes256GcmX25519Ed25519Sha256, "a", 7, "b", 42, Nonce.AsSpan(0, 11), Tag, [Nonce[11], .. Context]);
        var fullNonce = HeaderAad.Encode(2, CipherSuite.Aes256GcmX25519Ed25519Sha256, "a", 7, "b", 42, Nonce, Tag, Context);
        Assert.NotEqual(shortNonce, fullNonce);
    }

    [Fact]
    public void Oversized_fields_and_nulls_are_refused()
    {
        Assert.Throws<ArgumentException>(() => HeaderAad.Encode(2, CipherSuite.Aes256GcmX25519Ed25519Sha256, "r", 7, "a", 42, new byte[256], Tag, Context));
        Assert.Throws<ArgumentException>(() => HeaderAad.Encode(2, CipherSuite.Aes256GcmX25519Ed25519Sha256, "r", 7, "a", 42, Nonce, Tag, new byte[256]));
        Assert.Throws<ArgumentException>(() => HeaderAad.Encode(2, CipherSuite.Aes256GcmX25519Ed25519Sha256, "r", 7, "a", 42, Nonce, new byte[256], Context));
        Assert.Throws<ArgumentNullException>(() => HeaderAad.Encode(2, CipherSuite.Aes256GcmX25519Ed25519Sha256, null!, 7, "a", 42, Nonce, Tag, Context));
        Assert.Throws<ArgumentNullException>(() => HeaderAad.Encode(null!, Context));
    }
}
