using System.Security.Cryptography;
using System.Text;

namespace SecureChat.Core.Crypto;

public static class Hashing
{
    public const int Sha256Size = 32;

    public static byte[] Sha256(ReadOnlySpan<byte> data) => NSec.Cryptography.HashAlgorithm.Sha256.Hash(data);

    /// <summary>SHA-256 over UTF-8(label) || 0x00 || data: a hash that cannot be confused with one made for another purpose.</summary>
    public static byte[] LabeledSha256(string label, ReadOnlySpan<byte> data)
    {
        var info = Kdf.LabeledInfo(label, data);
        try
        {
            return Sha256(info);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(info);
        }
    }

    /// <summary>Constant-time comparison for secrets, MACs and hashes.</summary>
    public static bool FixedTimeEquals(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right) =>
        CryptographicOperations.FixedTimeEquals(left, right);

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
