using System.Security.Cryptography;
using NSec.Cryptography;

namespace SecureChat.Core.Crypto;

/// <summary>An X25519 private key (membership key or ephemeral key). Dispose to erase it.</summary>
public sealed class X25519KeyPair : IDisposable
{
    public const int PublicKeySize = 32;
    public const int PrivateKeySize = 32;
    public const int SharedSecretSize = 32;

    private readonly Key _key;

    private X25519KeyPair(Key key)
    {
        _key = key;
        PublicKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    public byte[] PublicKey { get; }

    // Exportable more than once: a client that keeps its rooms across restarts writes its membership keys to its encrypted
    // store whenever the room's state changes (GroupSession.ExportState).
    private static KeyCreationParameters Exportable => new() { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };

    public static X25519KeyPair Generate() => new(Key.Create(KeyAgreementAlgorithm.X25519, Exportable));

    /// <summary>Imports a raw 32-byte private scalar (key stores, deterministic tests, test vectors).</summary>
    public static X25519KeyPair FromPrivateKey(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != PrivateKeySize)
        {
            throw new ArgumentException($"X25519 private key must be {PrivateKeySize} bytes", nameof(privateKey));
        }

        return new(Key.Import(KeyAgreementAlgorithm.X25519, privateKey, KeyBlobFormat.RawPrivateKey, Exportable));
    }

    /// <summary>The raw private key, for the owner's key store only. Zero it after use.</summary>
    public byte[] ExportPrivateKey() => _key.Export(KeyBlobFormat.RawPrivateKey);

    /// <summary>
    /// Raw X25519 shared secret with <paramref name="peerPublicKey"/>. Throws
    /// <see cref="KeyAgreementException"/> when the peer key is malformed or the result is all zero
    /// (a low-order point: the peer contributed nothing).
    /// </summary>
    public byte[] Agree(ReadOnlySpan<byte> peerPublicKey)
    {
        if (peerPublicKey.Length != PublicKeySize)
        {
            throw new KeyAgreementException($"X25519 public key must be {PublicKeySize} bytes");
        }

        if (!NSec.Cryptography.PublicKey.TryImport(KeyAgreementAlgorithm.X25519, peerPublicKey, KeyBlobFormat.RawPublicKey, out var peer) || peer is null)
        {
            throw new KeyAgreementException("X25519 public key rejected");
        }

        using var shared = KeyAgreementAlgorithm.X25519.Agree(_key, peer,
            new SharedSecretCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport })
            ?? throw new KeyAgreementException("X25519 shared secret is all zero");
        var raw = shared.Export(SharedSecretBlobFormat.RawSharedSecret);
        if (CryptographicOperations.FixedTimeEquals(raw, new byte[SharedSecretSize]))
        {
            CryptographicOperations.ZeroMemory(raw);
            throw new KeyAgreementException("X25519 shared secret is all zero");
        }

        return raw;
    }

    public void Dispose() => _key.Dispose();
}

public sealed class KeyAgreementException : Exception
{
    public KeyAgreementException()
        : base("key agreement failed")
    {
    }

    public KeyAgreementException(string message)
        : base(message)
    {
    }

    public KeyAgreementException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
