using System.Text;
using SecureChat.Client.Store;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Testing.Honest;

namespace SecureChat.Client.Tests.Store;

/// <summary>
/// The encrypted local store as a file on disk: it reads back what was written, a wrong passphrase or any change to the file
/// is a clear error naming the store (never silent garbage), an interrupted write leaves the previous state, and the
/// plaintext files of earlier versions are migrated into it and removed.
/// </summary>
public sealed class LocalStoreTests : IDisposable
{
    private static readonly byte[] Passphrase = Encoding.UTF8.GetBytes("correct horse battery staple");
    private readonly string _folder = Path.Combine(Directory.CreateTempSubdirectory("securechat-store-").FullName, "alice");

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_folder)!, recursive: true);

    [Fact]
    public void What_is_committed_comes_back_after_reopening_and_nothing_of_it_is_in_the_file_in_plaintext()
    {
        string fingerprint;
        using (var store = LocalStore.OpenOrCreate(_folder, "alice", Passphrase, StoreKdf.Weak))
        {
            using var identity = store.LoadIdentity();
            fingerprint = identity.Fingerprint;
            store.PutRoom(new RoomRecord { RoomId = "lobby", Position = 42, History = { new HistoryLine { SenderId = "bob", Text = "a secret line" } } });
            store.Commit();
        }

        var bytes = File.ReadAllBytes(LocalStore.PathIn(_folder));
        Assert.Equal(-1, Encoding.UTF8.GetString(bytes).IndexOf("a secret line", StringComparison.Ordinal));
        Assert.Equal(-1, Encoding.UTF8.GetString(bytes).IndexOf("lobby", StringComparison.Ordinal));

        using var reopened = LocalStore.Open(_folder, "alice", Passphrase);
        using var again = reopened.LoadIdentity();
        Assert.Equal(fingerprint, again.Fingerprint);
        var room = Assert.Single(reopened.Rooms);
        Assert.Equal(("lobby", 42UL, "a secret line"), (room.RoomId, room.Position, room.History[0].Text));
    }

    [Fact]
    public void A_wrong_passphrase_is_a_clear_error_naming_the_store()
    {
        using (LocalStore.OpenOrCreate(_folder, "alice", Passphrase, StoreKdf.Weak))
        {
        }

        var error = Assert.Throws<StoreException>(() => LocalStore.Open(_folder, "alice", "wrong"u8));
        Assert.Equal($"the local store {LocalStore.PathIn(_folder)} cannot be opened with this passphrase (wrong passphrase?)", error.Message);
    }

    [Theory]
    [InlineData("flip a ciphertext byte")]
    [InlineData("flip a header byte")]
    [InlineData("cut short")]
    [InlineData("cut to the header")]
    [InlineData("empty")]
    public void A_changed_or_torn_store_is_an_error_never_silent_garbage(string damage)
    {
        using (var store = LocalStore.OpenOrCreate(_folder, "alice", Passphrase, StoreKdf.Weak))
        {
            store.PutRoom(new RoomRecord { RoomId = "lobby", Position = 7 });
            store.Commit();
        }

        var path = LocalStore.PathIn(_folder);
        var bytes = File.ReadAllBytes(path);
        bytes = damage switch
        {
            "flip a ciphertext byte" => Flip(bytes, bytes.Length - 20),
            "flip a header byte" => Flip(bytes, 60), // in the nonce: authenticated, not part of the key check
            "cut short" => bytes[..(bytes.Length - 5)],
            "cut to the header" => bytes[..StoreFile.HeaderSize],
            _ => [],
        };
        File.WriteAllBytes(path, bytes);

        var error = Assert.Throws<StoreException>(() => LocalStore.Open(_folder, "alice", Passphrase));
        Assert.StartsWith($"the local store {path} ", error.Message, StringComparison.Ordinal);
        Assert.Matches("damaged or was altered|not a SecureChat store, or is cut short", error.Message);
    }

    [Fact]
    public void A_write_interrupted_before_its_rename_leaves_the_previous_state()
    {
        using (var store = LocalStore.OpenOrCreate(_folder, "alice", Passphrase, StoreKdf.Weak))
        {
            store.PutRoom(new RoomRecord { RoomId = "lobby", Position = 7 });
            store.Commit();
        }

        // A crash mid-write leaves a partial temporary file beside the store: the store is still the last complete write.
        var path = LocalStore.PathIn(_folder);
        File.WriteAllBytes(path + ".tmp", File.ReadAllBytes(path)[..100]);

        using var reopened = LocalStore.Open(_folder, "alice", Passphrase);
        Assert.Equal(7UL, Assert.Single(reopened.Rooms).Position);
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void A_store_of_another_id_is_refused()
    {
        using (LocalStore.OpenOrCreate(_folder, "alice", Passphrase, StoreKdf.Weak))
        {
        }

        var error = Assert.Throws<StoreException>(() => LocalStore.Open(_folder, "mallory", Passphrase));
        Assert.EndsWith("belongs to 'alice', not 'mallory'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Commits_coalesce_a_burst_of_changes_into_few_writes_and_each_waits_for_its_own()
    {
        using var store = LocalStore.OpenOrCreate(_folder, "alice", Passphrase, StoreKdf.Weak);
        var before = store.Writes;
        var commits = new List<Task>();
        for (ulong i = 1; i <= 200; i++)
        {
            var position = i;
            store.UpdateRoom("lobby", r => r.Position = position);
            commits.Add(store.CommitAsync());
        }

        await Task.WhenAll(commits).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.InRange(store.Writes - before, 1, 20);
        store.Dispose();
        using var reopened = LocalStore.Open(_folder, "alice", Passphrase);
        Assert.Equal(200UL, reopened.Room("lobby")!.Position);
    }

    [Fact]
    public void Plaintext_identity_and_pins_are_migrated_into_the_store_and_removed()
    {
        using var old = IdentityStore.LoadOrCreate(_folder, "alice", SystemRandomSource.Instance);
        var trust = TrustStore.Open(_folder);
        var bobKey = new byte[32];
        bobKey[0] = 7;
        trust.Observe("bob", bobKey);
        Assert.True(IdentityMigration.IsNeeded(_folder));

        using var store = IdentityMigration.Migrate(_folder, "alice", Passphrase, StoreKdf.Weak, out var notice);

        Assert.Contains("moved your identity key and 1 pinned key(s)", notice, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_folder, IdentityStore.FileName)));
        Assert.False(File.Exists(Path.Combine(_folder, TrustStore.FileName)));
        Assert.False(IdentityMigration.IsNeeded(_folder));
        using var migrated = store.LoadIdentity();
        Assert.Equal(old.Fingerprint, migrated.Fingerprint);
        var pins = store.OpenTrustStore();
        Assert.Equal(TrustDecision.Matches, pins.Observe("bob", bobKey));
    }

    [Fact]
    public async Task A_pin_added_through_the_stores_trust_store_survives_a_restart()
    {
        var carolKey = new byte[32];
        carolKey[1] = 9;
        using (var store = LocalStore.OpenOrCreate(_folder, "alice", Passphrase, StoreKdf.Weak))
        {
            Assert.Equal(TrustDecision.FirstSeen, store.OpenTrustStore().Observe("carol", carolKey));
            await Eventually.TrueAsync(() => store.Writes >= 2, "the new pin written");
        }

        using var reopened = LocalStore.Open(_folder, "alice", Passphrase);
        Assert.Equal(TrustDecision.Matches, reopened.OpenTrustStore().Observe("carol", carolKey));
    }

    private static byte[] Flip(byte[] bytes, int index)
    {
        var copy = (byte[])bytes.Clone();
        copy[index] ^= 0x01;
        return copy;
    }
}
