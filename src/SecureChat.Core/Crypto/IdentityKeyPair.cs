using NSec.Cryptography;

namespace SecureChat.Core.Crypto;

/// <summary>An Ed25519 signing key: a client's long-term identity key. Dispose to erase it.</summary>
public sealed class IdentityKeyPair : IDisposable
{
    public const int PublicKeySize = 32;
    public const int SeedSize = 32;
    public const int SignatureSize = 64;

    private readonly Key _key;

    private IdentityKeyPair(Key key)
    {
        _key = key;
        PublicKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    public byte[] PublicKey { get; }

    public static IdentityKeyPair Generate() =>
        new(Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextArchiving }));

    /// <summary>Imports a 32-byte Ed25519 seed (RFC 8032 private key).</summary>
    public static IdentityKeyPair FromSeed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != SeedSize)
        {
            throw new ArgumentException($"Ed25519 seed must be {SeedSize} bytes", nameof(seed));
        }

        return new(Key.Import(SignatureAlgorithm.Ed25519, seed, KeyBlobFormat.RawPrivateKey,
            new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextArchiving }));
    }

    /// <summary>The raw seed, for the owner's key store only. Zero it after use.</summary>
    public byte[] ExportSeed() => _key.Export(KeyBlobFormat.RawPrivateKey);

    /// <summary>Signs UTF-8(label) || 0x00 || message.</summary>
    public byte[] Sign(string label, ReadOnlySpan<byte> message) =>
        SignatureAlgorithm.Ed25519.Sign(_key, Kdf.LabeledInfo(label, message));

    /// <summary>Signs the bytes as given, without a label (test vectors only).</summary>
    public byte[] SignRaw(ReadOnlySpan<byte> message) => SignatureAlgorithm.Ed25519.Sign(_key, message);

    public void Dispose() => _key.Dispose();
}

public static class Signatures
{
    /// <summary>Verifies a labelled signature; false for any malformed key or signature.</summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey, string label, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature) =>
        VerifyRaw(publicKey, Kdf.LabeledInfo(label, message), signature);

    public static bool VerifyRaw(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != IdentityKeyPair.PublicKeySize || signature.Length != IdentityKeyPair.SignatureSize)
        {
            return false;
        }

        if (!PublicKey.TryImport(SignatureAlgorithm.Ed25519, publicKey, KeyBlobFormat.RawPublicKey, out var key) || key is null)
        {
            return false;
        }

        return SignatureAlgorithm.Ed25519.Verify(key, message, signature);
    }
}
