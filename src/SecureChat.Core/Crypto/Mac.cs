using NSec.Cryptography;

namespace SecureChat.Core.Crypto;

/// <summary>HMAC-SHA256 (RFC 2104) through NSec: the commit confirmation tag (PROTOCOL.md §8.8).</summary>
public static class Mac
{
    public const int KeySize = 32;
    public const int TagSize = 32;

    /// <summary>HMAC-SHA256(key, data), 32 bytes. The key must be 32 bytes.</summary>
    public static byte[] HmacSha256(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data)
    {
        using var imported = Import(key);
        return MacAlgorithm.HmacSha256.Mac(imported, data);
    }

    /// <summary>Constant-time check of an HMAC-SHA256 tag; false for a tag of the wrong length.</summary>
    public static bool VerifyHmacSha256(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data, ReadOnlySpan<byte> tag)
    {
        if (tag.Length != TagSize)
        {
            return false;
        }

        using var imported = Import(key);
        return MacAlgorithm.HmacSha256.Verify(imported, data, tag);
    }

    private static Key Import(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySize)
        {
            throw new ArgumentException($"HMAC-SHA256 key must be {KeySize} bytes", nameof(key));
        }

        return Key.Import(MacAlgorithm.HmacSha256, key, KeyBlobFormat.RawSymmetricKey);
    }
}
