using System.Buffers.Binary;
using System.Text;

namespace SecureChat.Core.Crypto;

/// <summary>
/// Safety numbers, in the style of libsignal's displayable fingerprints: each identity
/// key is hashed (iterated SHA-256 with the client id) into 30 decimal digits, shown as six
/// groups of five. Two people's safety number is the two halves sorted, so both see
/// the same 60 digits.
/// </summary>
public static class Fingerprint
{
    public const int Iterations = 5200;
    private const int DigitGroups = 6;

    /// <summary>30 digits in six groups of five, for one identity.</summary>
    public static string ForIdentity(string clientId, ReadOnlySpan<byte> identityKey)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        var hash = IteratedHash(clientId, identityKey);
        var builder = new StringBuilder(35);
        for (var group = 0; group < DigitGroups; group++)
        {
            // Five bytes give a 40-bit number; modulo 100000 gives five digits with negligible bias.
            var chunk = hash.AsSpan(group * 5, 5);
            ulong value = 0;
            foreach (var b in chunk)
            {
                value = (value << 8) | b;
            }

            if (group > 0)
            {
                builder.Append(' ');
            }

            builder.Append((value % 100000).ToString("D5", System.Globalization.CultureInfo.InvariantCulture));
        }

        return builder.ToString();
    }

    /// <summary>The 60-digit number two people compare aloud: both halves, sorted.</summary>
    public static string SafetyNumber(string idA, ReadOnlySpan<byte> keyA, string idB, ReadOnlySpan<byte> keyB)
    {
        var a = ForIdentity(idA, keyA);
        var b = ForIdentity(idB, keyB);
        return string.CompareOrdinal(a, b) <= 0 ? $"{a} {b}" : $"{b} {a}";
    }

    private static byte[] IteratedHash(string clientId, ReadOnlySpan<byte> identityKey)
    {
        var idBytes = Encoding.UTF8.GetBytes(clientId);
        if (idBytes.Length > ushort.MaxValue)
        {
            // The length is encoded in 16 bits; a longer id would silently alias a shorter one.
            throw new ArgumentException("client id too long for a fingerprint", nameof(clientId));
        }

        var labelBytes = Encoding.UTF8.GetBytes(Labels.Fingerprint);
        var seed = new byte[labelBytes.Length + 1 + 2 + identityKey.Length + idBytes.Length];
        var span = seed.AsSpan();
        labelBytes.CopyTo(span);
        span = span[(labelBytes.Length + 1)..];
        BinaryPrimitives.WriteUInt16BigEndian(span, (ushort)idBytes.Length);
        span = span[2..];
        idBytes.CopyTo(span);
        identityKey.CopyTo(span[idBytes.Length..]);

        var hash = Hashing.Sha256(seed);
        var buffer = new byte[hash.Length + identityKey.Length];
        for (var i = 0; i < Iterations; i++)
        {
            hash.CopyTo(buffer, 0);
            identityKey.CopyTo(buffer.AsSpan(hash.Length));
            hash = Hashing.Sha256(buffer);
        }

        return hash;
    }
}
