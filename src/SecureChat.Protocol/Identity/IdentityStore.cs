using System.Security.Cryptography;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Infrastructure;

namespace SecureChat.Protocol.Identity;

/// <summary>
/// The local key store: one file per folder holding the client id and the Ed25519 identity seed,
/// created on first use with owner-only permissions (0600; the folder 0700) on Unix.
/// File format (UTF-8 text, LF line ends):
/// <code>
/// SC1-IDENTITY
/// client_id=&lt;id&gt;
/// ed25519_seed=&lt;base64 of 32 bytes&gt;
/// </code>
/// </summary>
public static class IdentityStore
{
    public const string FileName = "identity.key";
    private const string Magic = "SC1-IDENTITY";

    /// <summary>Loads the identity in <paramref name="folder"/>, or creates it there on first use.</summary>
    public static LocalIdentity LoadOrCreate(string folder, string clientId, IRandomSource random)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(random);
        var path = Path.Combine(folder, FileName);
        if (File.Exists(path))
        {
            var loaded = Load(path);
            if (!string.Equals(loaded.ClientId, clientId, StringComparison.Ordinal))
            {
                loaded.Dispose();
                throw new IdentityStoreException("the key store belongs to another client id");
            }

            return loaded;
        }

        if (!EnvelopeCodec.IsValidId(clientId))
        {
            throw new ArgumentException("client id must be 1-64 characters of [A-Za-z0-9._@-]", nameof(clientId));
        }

        CreateOwnerOnlyDirectory(folder);
        var identity = LocalIdentity.Generate(clientId, random);
        Save(path, identity);
        return identity;
    }

    public static LocalIdentity Load(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (IOException ex)
        {
            throw new IdentityStoreException("the key store could not be read", ex);
        }

        if (lines.Length < 3 || lines[0] != Magic || !lines[1].StartsWith("client_id=", StringComparison.Ordinal)
            || !lines[2].StartsWith("ed25519_seed=", StringComparison.Ordinal))
        {
            throw new IdentityStoreException("the key store is not in the SC1-IDENTITY format");
        }

        var clientId = lines[1]["client_id=".Length..];
        byte[] seed;
        try
        {
            seed = Convert.FromBase64String(lines[2]["ed25519_seed=".Length..]);
        }
        catch (FormatException ex)
        {
            throw new IdentityStoreException("the key store's seed is not base64", ex);
        }

        try
        {
            if (seed.Length != IdentityKeyPair.SeedSize || !EnvelopeCodec.IsValidId(clientId))
            {
                throw new IdentityStoreException("the key store holds a malformed identity");
            }

            return new LocalIdentity(clientId, IdentityKeyPair.FromSeed(seed));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    private static void Save(string path, LocalIdentity identity)
    {
        var seed = identity.IdentityKey.ExportSeed();
        var text = $"{Magic}\nclient_id={identity.ClientId}\ned25519_seed={Convert.ToBase64String(seed)}\n";
        CryptographicOperations.ZeroMemory(seed);
        var temp = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        if (File.Exists(temp))
        {
            File.Delete(temp);
        }

        using (var stream = new FileStream(temp, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(text);
        }

        File.Move(temp, path, overwrite: false);
    }

    internal static void CreateOwnerOnlyDirectory(string folder)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(folder);
        }
        else
        {
            Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }
}

public sealed class IdentityStoreException : Exception
{
    public IdentityStoreException()
        : base("key store error")
    {
    }

    public IdentityStoreException(string message)
        : base(message)
    {
    }

    public IdentityStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
