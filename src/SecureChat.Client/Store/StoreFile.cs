using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using NSec.Cryptography;
using SecureChat.Core.Crypto;

namespace SecureChat.Client.Store;

/// <summary>
/// How hard the passphrase is stretched (Argon2id, libsodium's crypto_pwhash through NSec). Kept in the store's header, so
/// a store is always opened with the parameters it was made with.
/// </summary>
/// <param name="MemoryKiB">Memory per derivation, in KiB.</param>
/// <param name="Passes">Passes over that memory.</param>
public sealed record StoreKdf(int MemoryKiB, int Passes)
{
    /// <summary>
    /// 64 MiB, 3 passes: libsodium's INTERACTIVE memory with MODERATE's passes, about a quarter to half a second on a current
    /// core, once per start. A guess at a passphrase costs an attacker with the file the same.
    /// </summary>
    public static StoreKdf Default { get; } = new(64 * 1024, 3);

    /// <summary>1 MiB, 1 pass: for tests and simulated clients only, whose stores protect nothing.</summary>
    public static StoreKdf Weak { get; } = new(1024, 1);

    // What a header may ask for: a tampered header must not make opening take gigabytes or hours.
    internal const int MaxMemoryKiB = 1024 * 1024;
    internal const int MaxPasses = 16;

    internal bool IsAcceptable => MemoryKiB is >= 8 and <= MaxMemoryKiB && Passes is >= 1 and <= MaxPasses;
}

/// <summary>
/// One encrypted store file, written atomically. Layout (all integers little-endian):
/// <code>
///  0  8  magic "SCSTORE1"
///  8  2  format version (1)
/// 10  1  KDF (1 = Argon2id)     11  1  AEAD (1 = XChaCha20-Poly1305)
/// 12  4  Argon2 memory, KiB     16  4  Argon2 passes     20  4  Argon2 parallelism (1)
/// 24 16  salt (random, fixed for the store's life)
/// 40 16  key check: SHA-256 of the second half of the derived bytes, first 16 bytes (tells a wrong passphrase from damage)
/// 56 24  nonce (fresh random per write)
/// 80  …  ciphertext of the contents with its 16-byte tag; the 80 header bytes are its associated data
/// </code>
/// Argon2id derives 64 bytes from the passphrase and salt: the first 32 are the AEAD key, the last 32 only feed the key check.
/// A write goes to a temporary file in the same folder, is flushed to the disk (fsync), renamed over the store, and the folder
/// is fsynced, so the store on disk is always one complete write: the old one or the new one.
/// </summary>
public sealed class StoreFile : IDisposable
{
    public const int HeaderSize = 80;
    public const int MaxFileBytes = 64 * 1024 * 1024;
    private const int SaltSize = 16;
    private const int CheckSize = 16;
    private const int NonceSize = 24;
    private const int TagSize = 16;
    private const ushort FormatVersion = 1;
    private static readonly byte[] Magic = "SCSTORE1"u8.ToArray();
    private static readonly AeadAlgorithm Aead = AeadAlgorithm.XChaCha20Poly1305;

    private readonly Key _key;
    private readonly byte[] _headerPrefix; // bytes 0..56: everything but the nonce
    private bool _disposed;

    private StoreFile(string path, Key key, byte[] headerPrefix)
    {
        Path = path;
        _key = key;
        _headerPrefix = headerPrefix;
    }

    public string Path { get; }

    public static bool Exists(string path) => File.Exists(path);

    /// <summary>A new store at <paramref name="path"/> (nothing written yet): a random salt, the key derived from the passphrase.</summary>
    public static StoreFile Create(string path, ReadOnlySpan<byte> passphrase, StoreKdf kdf)
    {
        ArgumentNullException.ThrowIfNull(kdf);
        if (!kdf.IsAcceptable)
        {
            throw new ArgumentOutOfRangeException(nameof(kdf), "Argon2 memory must be 8 KiB … 1 GiB and passes 1 … 16");
        }

        var prefix = new byte[HeaderSize - NonceSize];
        Magic.CopyTo(prefix, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(prefix.AsSpan(8), FormatVersion);
        prefix[10] = 1;
        prefix[11] = 1;
        BinaryPrimitives.WriteInt32LittleEndian(prefix.AsSpan(12), kdf.MemoryKiB);
        BinaryPrimitives.WriteInt32LittleEndian(prefix.AsSpan(16), kdf.Passes);
        BinaryPrimitives.WriteInt32LittleEndian(prefix.AsSpan(20), 1);
        RandomNumberGenerator.Fill(prefix.AsSpan(24, SaltSize));
        var key = DeriveKey(passphrase, kdf, prefix.AsSpan(24, SaltSize), out var check);
        check.CopyTo(prefix, 40);
        return new StoreFile(path, key, prefix);
    }

    /// <summary>
    /// Opens the store at <paramref name="path"/> and decrypts its contents. Throws <see cref="StoreException"/> naming the
    /// store when the passphrase is wrong, or the file is not a store, is damaged or was altered.
    /// </summary>
    public static StoreFile Open(string path, ReadOnlySpan<byte> passphrase, out byte[] contents)
    {
        byte[] bytes;
        try
        {
            var length = new FileInfo(path).Length;
            if (length > MaxFileBytes)
            {
                throw new StoreException(path, $"is {length} bytes, more than a store may be ({MaxFileBytes})");
            }

            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StoreException(path, "could not be read: " + ex.Message, ex);
        }

        if (bytes.Length < HeaderSize + TagSize || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            throw new StoreException(path, "is not a SecureChat store, or is cut short");
        }

        var version = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
        if (version != FormatVersion || bytes[10] != 1 || bytes[11] != 1 || BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(20)) != 1)
        {
            throw new StoreException(path, $"has format {version} (KDF {bytes[10]}, AEAD {bytes[11]}); this build reads format {FormatVersion}");
        }

        var kdf = new StoreKdf(BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12)), BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(16)));
        if (!kdf.IsAcceptable)
        {
            throw new StoreException(path, "has a damaged header (key derivation parameters out of range)");
        }

        var key = DeriveKey(passphrase, kdf, bytes.AsSpan(24, SaltSize), out var check);
        var file = new StoreFile(path, key, bytes[..(HeaderSize - NonceSize)]);
        try
        {
            if (!Hashing.FixedTimeEquals(check, bytes.AsSpan(40, CheckSize)))
            {
                throw new StoreException(path, "cannot be opened with this passphrase (wrong passphrase?)");
            }

            contents = new byte[bytes.Length - HeaderSize - TagSize];
            if (!Aead.Decrypt(key, bytes.AsSpan(HeaderSize - NonceSize, NonceSize), bytes.AsSpan(0, HeaderSize), bytes.AsSpan(HeaderSize), contents))
            {
                CryptographicOperations.ZeroMemory(contents);
                throw new StoreException(path, "is damaged or was altered (its contents fail authentication); the passphrase is right");
            }

            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Encrypts <paramref name="contents"/> under a fresh nonce and replaces the store with it atomically (see the class).</summary>
    public void Write(ReadOnlySpan<byte> contents)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var bytes = new byte[HeaderSize + contents.Length + TagSize];
        _headerPrefix.CopyTo(bytes, 0);
        RandomNumberGenerator.Fill(bytes.AsSpan(HeaderSize - NonceSize, NonceSize));
        Aead.Encrypt(_key, bytes.AsSpan(HeaderSize - NonceSize, NonceSize), bytes.AsSpan(0, HeaderSize), contents, bytes.AsSpan(HeaderSize));
        WriteAtomically(Path, bytes);
    }

    /// <summary>Temporary file in the same folder, write, fsync, rename over <paramref name="path"/>, fsync the folder.</summary>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> bytes)
    {
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        var temp = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temp, options))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
        SyncFolder(folder);
    }

    /// <summary>Overwrites a file with zeros (flushed to the disk) before deleting it: as secure as a file system without copy-on-write allows.</summary>
    public static void ShredAndDelete(string path)
    {
        if (!File.Exists(path))
        {
            return;
        }

        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.None))
        {
            var zeros = new byte[Math.Max(1, (int)Math.Min(stream.Length, 1 << 20))];
            for (var left = stream.Length; left > 0; left -= zeros.Length)
            {
                stream.Write(zeros, 0, (int)Math.Min(zeros.Length, left));
            }

            stream.Flush(flushToDisk: true);
        }

        File.Delete(path);
        SyncFolder(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _key.Dispose();
        }
    }

    private static Key DeriveKey(ReadOnlySpan<byte> passphrase, StoreKdf kdf, ReadOnlySpan<byte> salt, out byte[] check)
    {
        var argon2 = PasswordBasedKeyDerivationAlgorithm.Argon2id(new Argon2Parameters
        {
            DegreeOfParallelism = 1, MemorySize = kdf.MemoryKiB, NumberOfPasses = kdf.Passes,
        });
        var derived = new byte[64];
        try
        {
            argon2.DeriveBytes(passphrase, salt, derived);
            check = Hashing.Sha256(derived.AsSpan(32))[..CheckSize];
            return Key.Import(Aead, derived.AsSpan(0, 32), KeyBlobFormat.RawSymmetricKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(derived);
        }
    }

    /// <summary>fsync of the folder, so the rename itself survives a power loss (POSIX only; elsewhere the rename is what we have).</summary>
    private static void SyncFolder(string folder)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var fd = NativeMethods.open(folder, 0 /* O_RDONLY */);
        if (fd >= 0)
        {
            _ = NativeMethods.fsync(fd);
            _ = NativeMethods.close(fd);
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
#pragma warning disable SYSLIB1054, CA2101 // three libc calls without the source generator (this project has no unsafe code); paths are UTF-8 on POSIX
        public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);
#pragma warning restore SYSLIB1054, CA2101

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
#pragma warning disable SYSLIB1054
        public static extern int fsync(int fd);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int close(int fd);
#pragma warning restore SYSLIB1054
    }
}

/// <summary>A store that cannot be used; the message names it and says why, in words for the user.</summary>
public sealed class StoreException : Exception
{
    public StoreException()
        : base("local store error")
    {
    }

    public StoreException(string message)
        : base(message)
    {
    }

    public StoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public StoreException(string path, string problem, Exception? innerException = null)
        : base($"the local store {path} {problem}", innerException)
    {
        StorePath = path;
    }

    public string? StorePath { get; }
}
