using CsCheck;
using NSec.Cryptography;
using SecureChat.Core.Crypto;
using SecureChat.Core.Tests.TestSupport;
using SecureChat.Core.Wire;

namespace SecureChat.Core.Tests.Crypto;

/// <summary>
/// Aead calls libsodium directly instead of through NSec keys; NSec's AEAD over an imported key is the
/// reference it must match byte for byte, and tampering anywhere must still release nothing.
/// </summary>
public class AeadEquivalenceTests
{
    private static readonly Gen<CipherSuite> SupportedSuite = Aes256Gcm.IsSupported
        ? Gen.OneOfConst(CipherSuite.Aes256GcmX25519Ed25519Sha256, CipherSuite.Chacha20Poly1305X25519Ed25519Sha256)
        : Gen.Const(CipherSuite.Chacha20Poly1305X25519Ed25519Sha256);

    private static readonly Gen<(CipherSuite Suite, byte[] Key, byte[] Nonce, byte[] Ad, byte[] Plaintext)> Inputs =
        Gen.Select(SupportedSuite, Gen.Byte.Array[CipherSuites.KeySize], Gen.Byte.Array[CipherSuites.NonceSize],
            Gen.Byte.Array[0, 80], Gen.Byte.Array[0, 600]);

    public static TheoryData<CipherSuite> Suites => TestSupport.Suites.Supported;

    [Fact]
    public void Libsodium_and_nsec_agree_on_aes_gcm_availability() =>
        Assert.Equal(Aes256Gcm.IsSupported, LibSodium.Aes256GcmIsAvailable);

    [Fact]
    public Task Seal_matches_nsec_and_open_round_trips() => Bounded.Run(() =>
        Inputs.Sample(input =>
        {
            var sealedBytes = Aead.Seal(input.Suite, input.Key, input.Nonce, input.Ad, input.Plaintext);

            Assert.Equal(NSecSeal(input.Suite, input.Key, input.Nonce, input.Ad, input.Plaintext), sealedBytes);
            Assert.True(Aead.TryOpen(input.Suite, input.Key, input.Nonce, input.Ad, sealedBytes, out var opened));
            Assert.Equal(input.Plaintext, opened);
        }, iter: 2_000));

    [Fact]
    public Task Open_accepts_what_nsec_sealed() => Bounded.Run(() =>
        Inputs.Sample(input =>
        {
            var sealedByNSec = NSecSeal(input.Suite, input.Key, input.Nonce, input.Ad, input.Plaintext);
            Assert.Equal(input.Plaintext, Aead.Open(input.Suite, input.Key, input.Nonce, input.Ad, sealedByNSec));
        }, iter: 1_000));

    [Fact]
    public Task A_flipped_bit_in_ciphertext_tag_ad_or_nonce_fails_and_releases_nothing() => Bounded.Run(() =>
        Gen.Select(Inputs, Gen.Int[0, 2], Gen.Int[0, int.MaxValue]).Sample((input, part, flip) =>
        {
            var sealedBytes = Aead.Seal(input.Suite, input.Key, input.Nonce, input.Ad, input.Plaintext);
            var ciphertext = sealedBytes;
            var ad = input.Ad;
            var nonce = input.Nonce;
            switch (part)
            {
                case 0:
                    ciphertext = FlipBit(sealedBytes, flip);
                    break;
                case 1 when ad.Length > 0:
                    ad = FlipBit(ad, flip);
                    break;
                default:
                    nonce = FlipBit(nonce, flip);
                    break;
            }

            Assert.False(Aead.TryOpen(input.Suite, input.Key, nonce, ad, ciphertext, out var released));
            Assert.Empty(released);
        }, iter: 2_000));

    [Theory]
    [MemberData(nameof(Suites))]
    public void Empty_plaintext_with_empty_ad_matches_nsec_and_only_its_tag_opens(CipherSuite suite)
    {
        var key = Enumerable.Range(7, CipherSuites.KeySize).Select(i => (byte)i).ToArray();
        var nonce = new byte[CipherSuites.NonceSize];

        var sealedBytes = Aead.Seal(suite, key, nonce, [], []);

        Assert.Equal(NSecSeal(suite, key, nonce, [], []), sealedBytes);
        Assert.True(Aead.TryOpen(suite, key, nonce, [], sealedBytes, out var opened));
        Assert.Empty(opened);
        Assert.False(Aead.TryOpen(suite, key, nonce, [], FlipBit(sealedBytes, 0), out var released));
        Assert.Empty(released);
        Assert.False(Aead.TryOpen(suite, key, nonce, [0], sealedBytes, out _));
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Empty_ad_with_a_plaintext_matches_nsec(CipherSuite suite)
    {
        var key = Enumerable.Range(40, CipherSuites.KeySize).Select(i => (byte)i).ToArray();
        var nonce = Enumerable.Range(1, CipherSuites.NonceSize).Select(i => (byte)i).ToArray();
        var plaintext = "no header at all"u8.ToArray();

        var sealedBytes = Aead.Seal(suite, key, nonce, ReadOnlySpan<byte>.Empty, plaintext);

        Assert.Equal(NSecSeal(suite, key, nonce, [], plaintext), sealedBytes);
        Assert.Equal(plaintext, Aead.Open(suite, key, nonce, default, sealedBytes));
    }

    private static byte[] NSecSeal(CipherSuite suite, byte[] key, byte[] nonce, byte[] ad, byte[] plaintext)
    {
        AeadAlgorithm algorithm = suite == CipherSuite.Aes256GcmX25519Ed25519Sha256 ? AeadAlgorithm.Aes256Gcm : AeadAlgorithm.ChaCha20Poly1305;
        using var nsecKey = Key.Import(algorithm, key, KeyBlobFormat.RawSymmetricKey);
        return algorithm.Encrypt(nsecKey, nonce, ad, plaintext);
    }

    private static byte[] FlipBit(byte[] source, int flip)
    {
        var copy = (byte[])source.Clone();
        var bit = flip % (copy.Length * 8);
        copy[bit / 8] ^= (byte)(1 << (bit % 8));
        return copy;
    }
}
