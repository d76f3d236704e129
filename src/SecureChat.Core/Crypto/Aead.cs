using System.Security.Cryptography;
using NSec.Cryptography;
using SecureChat.Core.Wire;

namespace SecureChat.Core.Crypto;

/// <summary>
/// Authenticated encryption with associated data over the suite's AEAD. The output is
/// ciphertext with the 16-byte tag appended.
/// </summary>
public static class Aead
{
    public static byte[] Seal(CipherSuite suite, ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce,
        ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext)
    {
        var algorithm = CipherSuites.Algorithm(suite);
        CheckSizes(key, nonce);
        using var nsecKey = ImportKey(algorithm, key);
        return algorithm.Encrypt(nsecKey, nonce, associatedData, plaintext);
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
        var algorithm = CipherSuites.Algorithm(suite);
        CheckSizes(key, nonce);
        plaintext = [];
        if (ciphertextWithTag.Length < CipherSuites.TagSize)
        {
            return false;
        }

        using var nsecKey = ImportKey(algorithm, key);
        var buffer = new byte[ciphertextWithTag.Length - CipherSuites.TagSize];
        if (!algorithm.Decrypt(nsecKey, nonce, associatedData, ciphertextWithTag, buffer))
        {
            CryptographicOperations.ZeroMemory(buffer);
            return false;
        }

        plaintext = buffer;
        return true;
    }

    private static Key ImportKey(AeadAlgorithm algorithm, ReadOnlySpan<byte> key) =>
        Key.Import(algorithm, key, KeyBlobFormat.RawSymmetricKey);

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
