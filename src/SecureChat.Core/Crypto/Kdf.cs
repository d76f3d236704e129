using System.Text;
using NSec.Cryptography;

namespace SecureChat.Core.Crypto;

/// <summary>
/// HKDF-SHA256 (RFC 5869). <see cref="Derive"/> binds every output to a label:
/// info = UTF-8(label) || 0x00 || context, so outputs for different purposes never collide.
/// </summary>
public static class Kdf
{
    public const int MaxOutput = 255 * 32;

    public static byte[] Extract(ReadOnlySpan<byte> inputKeyMaterial, ReadOnlySpan<byte> salt) =>
        KeyDerivationAlgorithm.HkdfSha256.Extract(inputKeyMaterial, salt);

    public static byte[] Expand(ReadOnlySpan<byte> pseudorandomKey, ReadOnlySpan<byte> info, int length) =>
        KeyDerivationAlgorithm.HkdfSha256.Expand(pseudorandomKey, info, length);

    /// <summary>Extract-then-expand with a raw info string (as RFC 5869 and Wycheproof state it).</summary>
    public static byte[] Hkdf(ReadOnlySpan<byte> inputKeyMaterial, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> info, int length) =>
        KeyDerivationAlgorithm.HkdfSha256.DeriveBytes(inputKeyMaterial, salt, info, length);

    public static byte[] Derive(string label, ReadOnlySpan<byte> inputKeyMaterial, ReadOnlySpan<byte> salt,
        ReadOnlySpan<byte> context, int length) =>
        Hkdf(inputKeyMaterial, salt, LabeledInfo(label, context), length);

    /// <summary>UTF-8(label) || 0x00 || context.</summary>
    public static byte[] LabeledInfo(string label, ReadOnlySpan<byte> context)
    {
        ArgumentException.ThrowIfNullOrEmpty(label);
        var labelBytes = Encoding.UTF8.GetBytes(label);
        var info = new byte[labelBytes.Length + 1 + context.Length];
        labelBytes.CopyTo(info, 0);
        context.CopyTo(info.AsSpan(labelBytes.Length + 1));
        return info;
    }
}
