using System.Security.Cryptography;
using SecureChat.Core.Crypto;
using SecureChat.Core.Tests.TestSupport;
using SecureChat.Core.Wire;

namespace SecureChat.Core.Tests.Crypto;

public class AeadTests
{
    private static readonly byte[] Key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private static readonly byte[] Nonce = Enumerable.Range(100, 12).Select(i => (byte)i).ToArray();
    private static readonly byte[] AssociatedData = "SC1/msg-ad header"u8.ToArray();
    private static readonly byte[] Plaintext = "attack at dawn"u8.ToArray();

    public static TheoryData<CipherSuite> Suites => TestSupport.Suites.Supported;

    [Fact]
    public void Suite_support_follows_the_cpu_and_chacha_is_always_there()
    {
        Assert.True(CipherSuites.IsSupported(CipherSuite.Chacha20Poly1305X25519Ed25519Sha256));
        Assert.Equal(NSec.Cryptography.Aes256Gcm.IsSupported, CipherSuites.IsSupported(CipherSuite.Aes256GcmX25519Ed25519Sha256));
        Assert.False(CipherSuites.IsSupported(CipherSuite.Unspecified));
        Assert.True(CipherSuites.IsSupported(CipherSuites.Preferred));
    }

    [Fact]
    public void Unspecified_suite_is_refused()
    {
        Assert.Throws<NotSupportedException>(() => Aead.Seal(CipherSuite.Unspecified, Key, Nonce, AssociatedData, Plaintext));
        Assert.Throws<NotSupportedException>(() => Aead.Open(CipherSuite.Unspecified, Key, Nonce, AssociatedData, new byte[32]));
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Seal_then_open_round_trips(CipherSuite suite)
    {
        var sealedBytes = Aead.Seal(suite, Key, Nonce, AssociatedData, Plaintext);

        Assert.Equal(Plaintext.Length + CipherSuites.TagSize, sealedBytes.Length);
        Assert.NotEqual(Plaintext, sealedBytes.AsSpan(0, Plaintext.Length).ToArray());
        Assert.Equal(Plaintext, Aead.Open(suite, Key, Nonce, AssociatedData, sealedBytes));
        Assert.True(Aead.TryOpen(suite, Key, Nonce, AssociatedData, sealedBytes, out var plaintext));
        Assert.Equal(Plaintext, plaintext);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Empty_plaintext_and_empty_associated_data_round_trip(CipherSuite suite)
    {
        var sealedBytes = Aead.Seal(suite, Key, Nonce, [], []);

        Assert.Equal(CipherSuites.TagSize, sealedBytes.Length);
        Assert.Empty(Aead.Open(suite, Key, Nonce, [], sealedBytes));
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Large_plaintext_round_trips(CipherSuite suite)
    {
        var plaintext = RandomNumberGenerator.GetBytes(70_000);
        var sealedBytes = Aead.Seal(suite, Key, Nonce, AssociatedData, plaintext);
        Assert.Equal(plaintext, Aead.Open(suite, Key, Nonce, AssociatedData, sealedBytes));
    }

    [AesGcmFact]
    public void The_two_suites_produce_different_ciphertexts_and_do_not_open_each_other()
    {
        var aes = Aead.Seal(CipherSuite.Aes256GcmX25519Ed25519Sha256, Key, Nonce, AssociatedData, Plaintext);
        var chacha = Aead.Seal(CipherSuite.Chacha20Poly1305X25519Ed25519Sha256, Key, Nonce, AssociatedData, Plaintext);

        Assert.NotEqual(aes, chacha);
        Assert.False(Aead.TryOpen(CipherSuite.Chacha20Poly1305X25519Ed25519Sha256, Key, Nonce, AssociatedData, aes, out _));
        Assert.False(Aead.TryOpen(CipherSuite.Aes256GcmX25519Ed25519Sha256, Key, Nonce, AssociatedData, chacha, out _));
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Every_flipped_bit_in_ciphertext_or_tag_is_rejected(CipherSuite suite)
    {
        var sealedBytes = Aead.Seal(suite, Key, Nonce, AssociatedData, Plaintext);
        var checkedBits = 0;
        for (var bit = 0; bit < sealedBytes.Length * 8; bit++)
        {
            var tampered = FlipBit(sealedBytes, bit);
            Assert.Throws<AuthenticationFailedException>(() => Aead.Open(suite, Key, Nonce, AssociatedData, tampered));
            checkedBits++;
        }

        Assert.Equal((Plaintext.Length + CipherSuites.TagSize) * 8, checkedBits);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Every_flipped_bit_in_the_nonce_is_rejected(CipherSuite suite)
    {
        var sealedBytes = Aead.Seal(suite, Key, Nonce, AssociatedData, Plaintext);
        for (var bit = 0; bit < Nonce.Length * 8; bit++)
        {
            var nonce = FlipBit(Nonce, bit);
            Assert.Throws<AuthenticationFailedException>(() => Aead.Open(suite, Key, nonce, AssociatedData, sealedBytes));
        }
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Every_flipped_bit_in_the_associated_data_is_rejected(CipherSuite suite)
    {
        var sealedBytes = Aead.Seal(suite, Key, Nonce, AssociatedData, Plaintext);
        for (var bit = 0; bit < AssociatedData.Length * 8; bit++)
        {
            var ad = FlipBit(AssociatedData, bit);
            Assert.Throws<AuthenticationFailedException>(() => Aead.Open(suite, Key, Nonce, ad, sealedBytes));
        }
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Every_flipped_bit_in_the_key_is_rejected(CipherSuite suite)
    {
        var sealedBytes = Aead.Seal(suite, Key, Nonce, AssociatedData, Plaintext);
        for (var bit = 0; bit < Key.Length * 8; bit++)
        {
            var key = FlipBit(Key, bit);
            Assert.Throws<AuthenticationFailedException>(() => Aead.Open(suite, key, Nonce, AssociatedData, sealedBytes));
        }
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Added_or_removed_associated_data_is_rejected(CipherSuite suite)
    {
        var sealedBytes = Aead.Seal(suite, Key, Nonce, AssociatedData, Plaintext);
        Assert.Throws<AuthenticationFailedException>(() => Aead.Open(suite, Key, Nonce, [], sealedBytes));
        Assert.Throws<AuthenticationFailedException>(() => Aead.Open(suite, Key, Nonce, [.. AssociatedData, 0], sealedBytes));
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void A_random_wrong_key_is_rejected(CipherSuite suite)
    {
        var sealedBytes = Aead.Seal(suite, Key, Nonce, AssociatedData, Plaintext);
        var wrongKey = RandomNumberGenerator.GetBytes(CipherSuites.KeySize);
        Assert.Throws<AuthenticationFailedException>(() => Aead.Open(suite, wrongKey, Nonce, AssociatedData, sealedBytes));
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Ciphertext_truncated_at_any_length_is_rejected(CipherSuite suite)
    {
        var sealedBytes = Aead.Seal(suite, Key, Nonce, AssociatedData, Plaintext);
        for (var length = 0; length < sealedBytes.Length; length++)
        {
            var truncated = sealedBytes[..length];
            Assert.Throws<AuthenticationFailedException>(() => Aead.Open(suite, Key, Nonce, AssociatedData, truncated));
        }

        Assert.Throws<AuthenticationFailedException>(() => Aead.Open(suite, Key, Nonce, AssociatedData, [.. sealedBytes, 0]));
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void A_failed_open_releases_no_plaintext(CipherSuite suite)
    {
        var sealedBytes = Aead.Seal(suite, Key, Nonce, AssociatedData, Plaintext);
        var tampered = FlipBit(sealedBytes, sealedBytes.Length * 8 - 1);

        Assert.False(Aead.TryOpen(suite, Key, Nonce, AssociatedData, tampered, out var plaintext));
        Assert.Empty(plaintext);
        Assert.False(Aead.TryOpen(suite, Key, Nonce, AssociatedData, sealedBytes.AsSpan(0, 5), out var shortPlaintext));
        Assert.Empty(shortPlaintext);
        var thrown = Assert.Throws<AuthenticationFailedException>(() => Aead.Open(suite, Key, Nonce, AssociatedData, tampered));
        Assert.Equal("authentication failed", thrown.Message);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Invalid_key_sizes_throw_argument_exception(CipherSuite suite)
    {
        foreach (var size in new[] { 0, 16, 31, 33, 64 })
        {
            var key = new byte[size];
            Assert.Throws<ArgumentException>(() => Aead.Seal(suite, key, Nonce, AssociatedData, Plaintext));
            Assert.Throws<ArgumentException>(() => Aead.Open(suite, key, Nonce, AssociatedData, new byte[32]));
            Assert.Throws<ArgumentException>(() => Aead.TryOpen(suite, key, Nonce, AssociatedData, new byte[32], out _));
        }
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Invalid_nonce_sizes_throw_argument_exception(CipherSuite suite)
    {
        foreach (var size in new[] { 0, 8, 11, 13, 16, 24 })
        {
            var nonce = new byte[size];
            Assert.Throws<ArgumentException>(() => Aead.Seal(suite, Key, nonce, AssociatedData, Plaintext));
            Assert.Throws<ArgumentException>(() => Aead.Open(suite, Key, nonce, AssociatedData, new byte[32]));
        }
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Sealing_is_deterministic_for_the_same_inputs_and_differs_per_nonce(CipherSuite suite)
    {
        var first = Aead.Seal(suite, Key, Nonce, AssociatedData, Plaintext);
        var second = Aead.Seal(suite, Key, Nonce, AssociatedData, Plaintext);
        var otherNonce = Aead.Seal(suite, Key, FlipBit(Nonce, 0), AssociatedData, Plaintext);

        Assert.Equal(first, second);
        Assert.NotEqual(first, otherNonce);
    }

    [Fact]
    public void Random_nonces_drawn_ten_thousand_times_never_collide()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 10_000; i++)
        {
            var nonce = RandomNumberGenerator.GetBytes(CipherSuites.NonceSize);
            Assert.True(seen.Add(Convert.ToHexString(nonce)), $"nonce collision after {i} draws");
        }

        Assert.Equal(10_000, seen.Count);
    }

    private static byte[] FlipBit(byte[] source, int bit)
    {
        var copy = (byte[])source.Clone();
        copy[bit / 8] ^= (byte)(1 << (bit % 8));
        return copy;
    }
}
