using NSec.Cryptography;
using SecureChat.Core.Wire;

namespace SecureChat.Core.Tests.TestSupport;

internal static class Suites
{
    /// <summary>Every suite this machine can run; AES-256-GCM is left out only where the CPU lacks AES-NI.</summary>
    public static TheoryData<CipherSuite> Supported
    {
        get
        {
            var data = new TheoryData<CipherSuite> { CipherSuite.Chacha20Poly1305X25519Ed25519Sha256 };
            if (Aes256Gcm.IsSupported)
            {
                data.Add(CipherSuite.Aes256GcmX25519Ed25519Sha256);
            }

            return data;
        }
    }
}

/// <summary>A fact that is skipped, with the reason, on a CPU without AES-GCM support.</summary>
internal sealed class AesGcmFactAttribute : FactAttribute
{
    public AesGcmFactAttribute()
    {
        if (!Aes256Gcm.IsSupported)
        {
            Skip = "this CPU has no AES-NI/PCLMUL, so libsodium offers no AES-256-GCM";
        }
    }
}
