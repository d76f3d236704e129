using CsCheck;
using SecureChat.Core.Crypto;
using SecureChat.Core.Tests.TestSupport;
using SecureChat.Core.Wire;

namespace SecureChat.Core.Tests.Crypto;

public class AeadPropertyTests
{
    private static readonly Gen<CipherSuite> SupportedSuite = NSec.Cryptography.Aes256Gcm.IsSupported
        ? Gen.OneOfConst(CipherSuite.Aes256GcmX25519Ed25519Sha256, CipherSuite.Chacha20Poly1305X25519Ed25519Sha256)
        : Gen.Const(CipherSuite.Chacha20Poly1305X25519Ed25519Sha256);

    [Fact]
    public Task Random_messages_round_trip_and_any_single_bit_flip_is_rejected() => Bounded.Run(() =>
        Gen.Select(SupportedSuite, Gen.Byte.Array[32], Gen.Byte.Array[12], Gen.Byte.Array[0, 64], Gen.Byte.Array[0, 300], Gen.Int[0, int.MaxValue])
            .Sample((suite, key, nonce, ad, plaintext, flip) =>
            {
                var sealedBytes = Aead.Seal(suite, key, nonce, ad, plaintext);
                Assert.Equal(plaintext, Aead.Open(suite, key, nonce, ad, sealedBytes));

                var tampered = (byte[])sealedBytes.Clone();
                var bit = flip % (tampered.Length * 8);
                tampered[bit / 8] ^= (byte)(1 << (bit % 8));
                Assert.False(Aead.TryOpen(suite, key, nonce, ad, tampered, out var released));
                Assert.Empty(released);
            }, iter: 2_000));
}
