using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SecureChat.Core.Crypto;

/// <summary>
/// libsodium's one-shot AEAD functions, called directly. Why not NSec here: NSec keys are meant to be
/// long-lived, so <c>Key.Import</c> puts every key in <c>sodium_malloc</c> memory (mmap, guard pages,
/// mprotect, mlock, then munmap on dispose), about 35 µs of system calls. The ratchet uses a fresh key
/// per message, so that cost dominated every Seal/Open. These are the same primitives from the same
/// native library NSec loads ("libsodium" from the libsodium package), so nothing is hand-rolled.
/// </summary>
internal static unsafe partial class LibSodium
{
    private const string Library = "libsodium";

    static LibSodium()
    {
        // Idempotent and thread-safe in libsodium; NSec may already have run it. Below zero means no usable
        // random source or CPU feature detection, and no primitive may be trusted after that.
        if (sodium_init() < 0)
        {
            throw new InvalidOperationException("libsodium failed to initialise");
        }

        Aes256GcmIsAvailable = crypto_aead_aes256gcm_is_available() != 0;
    }

    public static bool Aes256GcmIsAvailable { get; }

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    private static partial int sodium_init();

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    private static partial int crypto_aead_aes256gcm_is_available();

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int crypto_aead_aes256gcm_encrypt(byte* c, ulong* clen, byte* m, ulong mlen,
        byte* ad, ulong adlen, byte* nsec, byte* npub, byte* k);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int crypto_aead_aes256gcm_decrypt(byte* m, ulong* mlen, byte* nsec, byte* c, ulong clen,
        byte* ad, ulong adlen, byte* npub, byte* k);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int crypto_aead_chacha20poly1305_ietf_encrypt(byte* c, ulong* clen, byte* m, ulong mlen,
        byte* ad, ulong adlen, byte* nsec, byte* npub, byte* k);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int crypto_aead_chacha20poly1305_ietf_decrypt(byte* m, ulong* mlen, byte* nsec, byte* c, ulong clen,
        byte* ad, ulong adlen, byte* npub, byte* k);
}
