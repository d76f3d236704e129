using SecureChat.Protocol.Identity;

namespace SecureChat.Client.Store;

/// <summary>
/// Moves what earlier versions kept in plaintext files in the identity folder — the identity key
/// (<see cref="IdentityStore.FileName"/>) and the pins (<see cref="TrustStore.FileName"/>) — into a new encrypted
/// <see cref="LocalStore"/>, then overwrites and deletes those files. Runs once: afterwards the files are gone.
/// </summary>
public static class IdentityMigration
{
    /// <summary>True when <paramref name="folder"/> still has plaintext files to migrate.</summary>
    public static bool IsNeeded(string folder) =>
        File.Exists(Path.Combine(folder, IdentityStore.FileName)) || File.Exists(Path.Combine(folder, TrustStore.FileName));

    /// <summary>
    /// A new store in <paramref name="folder"/> holding the plaintext identity (or a new one when only pins exist) and pins;
    /// once it is on the disk the plaintext files are shredded. <paramref name="notice"/> says what happened, for the user (once).
    /// </summary>
    public static LocalStore Migrate(string folder, string clientId, ReadOnlySpan<byte> passphrase, StoreKdf? kdf, out string notice)
    {
        var identityPath = Path.Combine(folder, IdentityStore.FileName);
        var pinsPath = Path.Combine(folder, TrustStore.FileName);
        LocalIdentity identity;
        try
        {
            identity = File.Exists(identityPath)
                ? IdentityStore.Load(identityPath)
                : LocalIdentity.Generate(clientId, Protocol.Infrastructure.SystemRandomSource.Instance);
        }
        catch (IdentityStoreException ex)
        {
            throw new StoreException(identityPath, "(the old plaintext key file) cannot be migrated: " + ex.Message, ex);
        }

        using (identity)
        {
            if (!string.Equals(identity.ClientId, clientId, StringComparison.Ordinal))
            {
                throw new StoreException(identityPath, $"(the old plaintext key file) belongs to '{identity.ClientId}', not '{clientId}'");
            }

            IReadOnlyList<KeyValuePair<string, byte[]>> pins;
            try
            {
                pins = File.Exists(pinsPath) ? TrustStore.Open(folder).Pins : [];
            }
            catch (IdentityStoreException ex)
            {
                throw new StoreException(pinsPath, "(the old plaintext pin file) cannot be migrated: " + ex.Message, ex);
            }

            var store = LocalStore.Create(folder, identity, passphrase, kdf);
            try
            {
                store.SetPins(pins);
                store.Commit();
            }
            catch
            {
                store.Dispose();
                File.Delete(store.Path);
                throw;
            }

            StoreFile.ShredAndDelete(identityPath);
            StoreFile.ShredAndDelete(pinsPath);
            notice = $"moved your identity key and {pins.Count} pinned key(s) from plaintext files into the encrypted store {store.Path}; "
                + "the plaintext files were overwritten and deleted";
            return store;
        }
    }
}
