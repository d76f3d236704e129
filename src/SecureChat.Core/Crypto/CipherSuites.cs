using NSec.Cryptography;
using SecureChat.Core.Wire;

namespace SecureChat.Core.Crypto;

/// <summary>The wire's cipher suites: sizes, which one this machine prefers, and which it can run.</summary>
public static class CipherSuites
{
    public const int KeySize = 32;
    public const int NonceSize = 12;
    public const int TagSize = 16;

    /// <summary>AES-256-GCM where the CPU has AES-NI/PCLMUL, otherwise ChaCha20-Poly1305.</summary>
    public static CipherSuite Preferred =>
        Aes256Gcm.IsSupported ? CipherSuite.Aes256GcmX25519Ed25519Sha256 : CipherSuite.Chacha20Poly1305X25519Ed25519Sha256;

    /// <summary>The suites this machine can run (what JOIN's supported_suites lists).</summary>
    public static IReadOnlyList<CipherSuite> Supported { get; } = Aes256Gcm.IsSupported
        ? [CipherSuite.Aes256GcmX25519Ed25519Sha256, CipherSuite.Chacha20Poly1305X25519Ed25519Sha256]
        : [CipherSuite.Chacha20Poly1305X25519Ed25519Sha256];

    public static bool IsSupported(CipherSuite suite) => suite switch
    {
        CipherSuite.Aes256GcmX25519Ed25519Sha256 => Aes256Gcm.IsSupported,
        CipherSuite.Chacha20Poly1305X25519Ed25519Sha256 => true,
        _ => false,
    };
}
