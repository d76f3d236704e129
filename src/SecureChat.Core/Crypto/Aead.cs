using System.Security.Cryptography;
using SecureChat.Core.Wire;

namespace SecureChat.Core.Crypto;

/// <summary>
/// Authenticated encryption with associated data over the suite's AEAD. The output is
/// ciphertext with the 16-byte tag appended. Calls libsodium directly (see <see cref="LibSodium"/>).
/// </summary>
public static class Aead
{
    public static byte[] Seal(CipherSuite suite, ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce,
        ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext)
    {
        var aesGcm = UsesAesGcm(suite);
        CheckSizes(key, nonce);
        var output = new byte[checked(plaintext.Length + CipherSuites.TagSize)];
        unsafe
        {
            fixed (byte* c = output)
            fixed (byte* m = plaintext)
            fixed (byte* ad = associatedData)
            fixed (byte* npub = nonce)
            fixed (byte* k = key)
            {
                var result = aesGcm
                    ? LibSodium.crypto_aead_aes256gcm_encrypt(c, null, m, (ulong)plaintext.Length, ad, (ulong)associatedData.Length, null, npub, k)
                    : LibSodium.crypto_aead_chacha20poly1305_ietf_encrypt(c, null, m, (ulong)plaintext.Length, ad, (ulong)associatedData.Length, null, npub, k);
                if (result != 0)
                {
                    throw new CryptographicException("AEAD encryption failed");
                }
            }
        }

        return output;
    }

    /// <summary>Decrypts or throws <see cref="AuthenticationFailedException"/>; never returns partial plaintext.</summary>
    public static byte[] Open(CipherSuite suite, ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce,
        ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> ciphertextWithTag)
    {
        if (!TryOpen(suite, key, nonce, associatedData, ciphertextWithTag, out var plaintext))
        {
            throw new AuthenticationFailedException();
        }

        return plaintext;
    }

    public static bool TryOpen(CipherSuite suite, ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce,
        ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> ciphertextWithTag, out byte[] plaintext)
    {
        var aesGcm = UsesAesGcm(suite);
        CheckSizes(key, nonce);
        plaintext = [];
        if (ciphertextWithTag.Length < CipherSuites.TagSize)
        {
            return false;
        }

        var buffer = new byte[ciphertextWithTag.Length - CipherSuites.TagSize];
        int result;
        unsafe
        {
            fixed (byte* m = buffer)
            fixed (byte* c = ciphertextWithTag)
            fixed (byte* ad = associatedData)
            fixed (byte* npub = nonce)
            fixed (byte* k = key)
            {
                result = aesGcm
                    ? LibSodium.crypto_aead_aes256gcm_decrypt(m, null, null, c, (ulong)ciphertextWithTag.Length, ad, (ulong)associatedData.Length, npub, k)
                    : LibSodium.crypto_aead_chacha20poly1305_ietf_decrypt(m, null, null, c, (ulong)ciphertextWithTag.Length, ad, (ulong)associatedData.Length, npub, k);
            }
        }

        if (result != 0)
        {
            // libsodium already clears it on failure; this does not rely on that.
            CryptographicOperations.ZeroMemory(buffer);
            return false;
        }

        plaintext = buffer;
        return true;
    }

    /// <summary>AES-256-GCM for its suite (only where <see cref="CipherSuites.IsSupported"/> says the CPU runs it), else ChaCha20-Poly1305.</summary>
    private static bool UsesAesGcm(CipherSuite suite)
    {
        if (!CipherSuites.IsSupported(suite))
        {
            throw new NotSupportedException($"cipher suite {suite} is not supported on this machine");
        }

        return suite == CipherSuite.Aes256GcmX25519Ed25519Sha256;
    }

    private static void CheckSizes(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce)
    {
        if (key.Length != CipherSuites.KeySize)
        {
            throw new ArgumentException($"AEAD key must be {CipherSuites.KeySize} bytes", nameof(key));
        }

        if (nonce.Length != CipherSuites.NonceSize)
        {
            throw new ArgumentException($"AEAD nonce must be {CipherSuites.NonceSize} bytes", nameof(nonce));
        }
    }
}
