using Google.Protobuf;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Testing.Simulation;

namespace SecureChat.Protocol.Tests;

public sealed class IdentityTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "securechat-protocol-tests-" + Guid.NewGuid().ToString("N"));
    private readonly SeededRandomSource _random = new(41);

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public void A_bundle_verifies_only_under_its_own_identity_and_within_its_lifetime()
    {
        using var alice = LocalIdentity.Generate("alice", _random);
        using var bob = LocalIdentity.Generate("bob", _random);
        using var key = alice.CreateMembershipKey("room-1", 1, 1_000, 10_000, _random);

        Assert.Equal(BundleRejection.None, Bundles.VerifyFor(key.Bundle, "alice", "room-1", 5_000, out var member));
        Assert.Equal(key.KeyPair.PublicKey, member!.MembershipKey);
        Assert.Equal(BundleRejection.WrongClient, Bundles.VerifyFor(key.Bundle, "bob", "room-1", 5_000, out _));
        Assert.Equal(BundleRejection.Expired, Bundles.VerifyFor(key.Bundle, "alice", "room-1", 11_000, out _));
        Assert.Equal(BundleRejection.WrongRoom, Bundles.VerifyFor(key.Bundle, "alice", "room-2", 5_000, out _));

        // Signed by the wrong identity: alice's content with bob's signature.
        var content = key.Bundle.Content.ToByteArray();
        var wrongSigner = new SignedBundle
        {
            Content = key.Bundle.Content,
            Signature = ByteString.CopyFrom(bob.IdentityKey.Sign(Core.Crypto.Labels.BundleSignature, content)),
        };
        Assert.Equal(BundleRejection.BadSignature, Bundles.Verify(wrongSigner, "room-1", null, out _));

        // The same bytes signed with another label (a commit signature) are not a bundle signature.
        var wrongLabel = new SignedBundle
        {
            Content = key.Bundle.Content,
            Signature = ByteString.CopyFrom(alice.IdentityKey.Sign(Core.Crypto.Labels.CommitSignature, content)),
        };
        Assert.Equal(BundleRejection.BadSignature, Bundles.Verify(wrongLabel, "room-1", null, out _));

        var weak = alice.MakeBundle("room-1", new byte[32], 2, 1_000, 10_000);
        Assert.Equal(BundleRejection.WeakMembershipKey, Bundles.VerifyFor(weak, "alice", "room-1", 5_000, out _));
        Assert.Equal(BundleRejection.Malformed, Bundles.Verify(new SignedBundle { Content = ByteString.CopyFrom(1, 2, 3) }, "room-1", null, out _));

        // A lifetime that runs backwards, or longer than 90 days, is no lifetime.
        var backwards = alice.MakeBundle("room-1", key.KeyPair.PublicKey, 3, 10_000, 1_000);
        Assert.Equal(BundleRejection.BadLifetime, Bundles.Verify(backwards, "room-1", null, out _));
        var tooLong = alice.MakeBundle("room-1", key.KeyPair.PublicKey, 4, 1_000, 1_000 + Bundles.MaxLifetimeMs + 1);
        Assert.Equal(BundleRejection.BadLifetime, Bundles.Verify(tooLong, "room-1", null, out _));
        var longest = alice.MakeBundle("room-1", key.KeyPair.PublicKey, 5, 1_000, 1_000 + Bundles.MaxLifetimeMs);
        Assert.Equal(BundleRejection.None, Bundles.Verify(longest, "room-1", null, out _));
    }

    [Fact]
    public void The_relay_refuses_a_join_whose_bundle_is_signed_by_another_identity()
    {
        using var sim = new GroupSimulation(42);
        var mallory = sim.Client("mallory");
        using var alice = LocalIdentity.Generate("alice", _random);
        var stolen = alice.CreateMembershipKey(sim.Relay.RoomId, 1, sim.Clock.UtcNowMs, 10_000, _random);
        sim.Relay.Submit(mallory, new Envelope
        {
            Version = WireLimits.ProtocolVersion, Type = MessageType.Join, SenderId = "mallory", RoomId = sim.Relay.RoomId,
            Join = new Join { Bundle = stolen.Bundle },
        });
        mallory.IsConnected = true;
        mallory.Join(sim.Relay); // give mallory a session so it handles the error
        mallory.Inbox.Clear();
        sim.Relay.ProcessNext("mallory");
        Assert.Equal(ErrorCode.BadBundle, mallory.Inbox.Single().Error.Code);
        stolen.Dispose();
    }

    [Fact]
    public void The_identity_store_is_created_owner_only_on_first_use_and_reloads_the_same_key()
    {
        using var created = IdentityStore.LoadOrCreate(_folder, "alice", _random);
        var path = Path.Combine(_folder, IdentityStore.FileName);
        Assert.True(File.Exists(path));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_folder));
        }

        using var loaded = IdentityStore.LoadOrCreate(_folder, "alice", _random);
        Assert.Equal(created.PublicIdentityKey, loaded.PublicIdentityKey);
        Assert.Equal(created.Fingerprint, loaded.Fingerprint);
        Assert.Throws<IdentityStoreException>(() => IdentityStore.LoadOrCreate(_folder, "bob", _random));

        File.WriteAllText(path, "SC1-IDENTITY\nclient_id=alice\ned25519_seed=not-base64\n");
        Assert.Throws<IdentityStoreException>(() => IdentityStore.Load(path));
    }

    [Fact]
    public void Trust_store_pins_first_use_flags_changes_until_accepted_and_persists_pins()
    {
        var store = TrustStore.Open(_folder);
        byte[] first = [.. Enumerable.Repeat((byte)1, 32)], second = [.. Enumerable.Repeat((byte)2, 32)];
        Assert.Equal(TrustDecision.FirstSeen, store.Observe("bob", first));
        Assert.Equal(TrustDecision.Matches, store.Observe("bob", first));
        Assert.Equal(TrustDecision.Changed, store.Observe("bob", second));
        Assert.False(store.IsTrusted("bob", second));
        Assert.Equal("bob", store.PendingChanges.Single().ClientId);

        // An unaccepted change is not persisted: after a restart it is detected again.
        Assert.Equal(TrustDecision.Changed, TrustStore.Open(_folder).Observe("bob", second));
        Assert.True(store.Accept("bob"));
        Assert.True(store.IsTrusted("bob", second));
        Assert.Empty(store.PendingChanges);
        Assert.Equal(TrustDecision.Matches, TrustStore.Open(_folder).Observe("bob", second));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_folder, TrustStore.FileName)));
        }
    }

    [Fact]
    public void Every_changed_key_seen_for_an_id_stays_pending_until_that_key_itself_is_accepted()
    {
        var store = new TrustStore();
        byte[] pinned = [.. Enumerable.Repeat((byte)1, 32)], second = [.. Enumerable.Repeat((byte)2, 32)], third = [.. Enumerable.Repeat((byte)3, 32)];
        store.Observe("bob", pinned);
        store.Observe("bob", second);
        store.Observe("bob", third);
        store.Observe("bob", second); // seen again: listed once, now the newest

        Assert.Equal([third, second], store.PendingChangesFor("bob").Select(c => c.NewKey));
        Assert.All(store.PendingChangesFor("bob"), c => Assert.Equal(pinned, c.PinnedKey));
        Assert.Empty(store.PendingChangesFor("carol"));

        // The user compared the second key's fingerprint and accepts exactly that one; the third stays pending.
        store.Accept("bob", second);

        Assert.True(store.IsTrusted("bob", second));
        Assert.False(store.IsTrusted("bob", third));
        var left = Assert.Single(store.PendingChangesFor("bob"));
        Assert.Equal(second, left.PinnedKey);
        Assert.Equal(third, left.NewKey);
        for (var i = 0; i < TrustStore.MaxPendingKeysPerClient + 3; i++)
        {
            store.Observe("bob", [.. Enumerable.Repeat((byte)(10 + i), 32)]);
        }

        Assert.Equal(TrustStore.MaxPendingKeysPerClient, store.PendingChangesFor("bob").Count);
    }

    [Fact]
    public void A_changed_identity_key_is_reported_blocks_sending_until_accepted_and_marks_its_messages()
    {
        using var sim = Scenario.Group(43, "alice", "bob", "carol");
        var bob = sim["bob"];
        bob.Leave(sim.Relay);
        bob.ResetIdentity();
        bob.Join(sim.Relay);
        sim.RunUntilQuiet();

        var alice = sim["alice"];
        var change = alice.CommitOutcomes.OfType<CommitAccepted>().Last().KeyChanges.Single();
        Assert.Equal("bob", change.ClientId);
        Assert.Equal(bob.Identity.PublicIdentityKey, change.NewKey);
        Assert.NotEqual(change.PinnedFingerprint, change.NewFingerprint);

        var refused = Assert.IsType<SendRefused>(alice.Session!.Encrypt("to everyone"));
        Assert.Equal(SendRefusal.BlockedByKeyChange, refused.Reason);
        Assert.Equal(["bob"], refused.BlockingMembers);

        // Receiving still works, flagged.
        var fromBob = Scenario.Seal(sim, "bob", "it's really me");
        Assert.True(Assert.IsType<MessageDelivered>(alice.Session.Decrypt(fromBob)).SenderKeyUnaccepted);

        Assert.True(alice.Trust.Accept("bob"));
        Assert.Empty(alice.Session.BlockingKeyChanges);
        Assert.IsType<MessageSealed>(alice.Session.Encrypt("welcome back"));
    }

    [Fact]
    public void A_pin_that_moves_after_a_successful_send_blocks_the_next_send_until_accepted_again()
    {
        using var sim = Scenario.Group(44, "alice", "bob", "carol");
        var alice = sim["alice"];
        var bobKey = sim["bob"].Identity.PublicIdentityKey;
        Assert.IsType<MessageSealed>(alice.Session!.Encrypt("first"));
        Assert.IsType<MessageSealed>(alice.Session.Encrypt("second, roster already checked"));

        // The user pins another key for bob (say, from another room); no commit happens in this room.
        alice.Trust.Accept("bob", [.. Enumerable.Repeat((byte)7, 32)]);

        var refused = Assert.IsType<SendRefused>(alice.Session.Encrypt("must not go out"));
        Assert.Equal(SendRefusal.BlockedByKeyChange, refused.Reason);
        Assert.Equal(["bob"], refused.BlockingMembers);
        Assert.IsType<SendRefused>(alice.Session.Encrypt("still blocked"));

        alice.Trust.Accept("bob", bobKey);
        Assert.IsType<MessageSealed>(alice.Session.Encrypt("unblocked"));
    }

    [Fact]
    public void The_pins_version_moves_exactly_when_a_pin_is_added_or_replaced()
    {
        var store = new TrustStore();
        byte[] first = [.. Enumerable.Repeat((byte)1, 32)], second = [.. Enumerable.Repeat((byte)2, 32)];
        var start = store.PinsVersion;

        store.Observe("bob", first);
        var afterFirstSeen = store.PinsVersion;
        store.Observe("bob", first);
        store.Observe("bob", second);
        var afterMatchAndChange = store.PinsVersion;
        store.Accept("bob");
        var afterAccept = store.PinsVersion;
        store.Accept("carol", first);
        var afterExplicitAccept = store.PinsVersion;
        Assert.False(store.Accept("dave"));

        Assert.NotEqual(start, afterFirstSeen);
        Assert.Equal(afterFirstSeen, afterMatchAndChange);
        Assert.NotEqual(afterMatchAndChange, afterAccept);
        Assert.NotEqual(afterAccept, afterExplicitAccept);
        Assert.Equal(afterExplicitAccept, store.PinsVersion);
    }

    [Fact]
    public void Safety_numbers_match_on_both_sides()
    {
        using var alice = LocalIdentity.Generate("alice", _random);
        using var bob = LocalIdentity.Generate("bob", _random);
        var fromAlice = alice.SafetyNumberWith("bob", bob.PublicIdentityKey);
        Assert.Equal(fromAlice, bob.SafetyNumberWith("alice", alice.PublicIdentityKey));
        Assert.Matches("^[0-9]{5}( [0-9]{5}){11}$", fromAlice);
    }
}
