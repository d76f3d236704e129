using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Testing.Simulation;

namespace SecureChat.Protocol.Tests;

/// <summary>
/// The worked example of PROTOCOL.md §17, computed by driving three real sessions with scripted randomness over three
/// epochs (a creation; an add with the committer's refresh; a remove with another committer's refresh), checked step by
/// step against <see cref="KeySchedule"/>, and then required to appear verbatim in PROTOCOL.md ("name = hex" lines), so the
/// document cannot drift from the code.
/// </summary>
public sealed class TestVectorTests
{
    private const long Now = 1_767_225_600_000; // 2026-01-01T00:00:00Z
    private const string Room = "vector-room";
    private const CipherSuite Suite = CipherSuite.Chacha20Poly1305X25519Ed25519Sha256;

    private readonly List<(string Name, string Value)> _values = [];

    private static byte[] Fill(byte start, int length = 32) => Enumerable.Range(0, length).Select(i => (byte)(start + i)).ToArray();

    private void Add(string name, ReadOnlySpan<byte> bytes) => _values.Add((name, Convert.ToHexString(bytes).ToLowerInvariant()));

    [Fact]
    public void The_worked_example_in_PROTOCOL_md_matches_the_engine()
    {
        var clock = new ManualClock(Now);
        using var alice = new LocalIdentity("alice", IdentityKeyPair.FromSeed(Fill(0x01)));
        using var bob = new LocalIdentity("bob", IdentityKeyPair.FromSeed(Fill(0x41)));
        using var carol = new LocalIdentity("carol", IdentityKeyPair.FromSeed(Fill(0xc1)));

        // Every random value each session draws, in the order it draws them.
        var aliceRandom = new ScriptedRandomSource(
            Fill(0x11),                                   // alice's join key (key id 1)
            Fill(0x80), Fill(0x21),                       // epoch 1: secret, ephemeral for alice's wrap
            Fill(0x31), Fill(0x90), Fill(0x22), Fill(0x62), Fill(0xa2), // epoch 2: alice's new key (id 2), secret, ephemerals alice, bob, carol
            Fill(0xb0, 12));                              // the message's nonce
        var bobRandom = new ScriptedRandomSource(
            Fill(0x51),                                   // bob's join key
            Fill(0x71), Fill(0xd0), Fill(0x23), Fill(0x63)); // epoch 3: bob's new key (id 2), secret, ephemerals alice, bob
        var carolRandom = new ScriptedRandomSource(Fill(0x91)); // carol's join key
        using var aliceSession = new GroupSession(alice, Room, new TrustStore(), GroupOptions.Default, clock, aliceRandom);
        using var bobSession = new GroupSession(bob, Room, new TrustStore(), GroupOptions.Default, clock, bobRandom);
        using var carolSession = new GroupSession(carol, Room, new TrustStore(), GroupOptions.Default, clock, carolRandom);

        Add("alice.ik", alice.PublicIdentityKey);
        Add("bob.ik", bob.PublicIdentityKey);
        Add("carol.ik", carol.PublicIdentityKey);
        _values.Add(("alice.fingerprint", alice.Fingerprint));
        Add("alice.bundle.content", aliceSession.JoinBundle.Content.Span);
        Add("alice.bundle.signature", aliceSession.JoinBundle.Signature.Span);
        Add("bob.bundle.content", bobSession.JoinBundle.Content.Span);
        Add("carol.bundle.content", carolSession.JoinBundle.Content.Span);

        // Epoch 1: alice creates the room.
        var create = new CommitRequest { NewEpoch = 1, Suite = Suite };
        create.Adds.Add(new Add { Bundle = aliceSession.JoinBundle });
        var commit1 = Assert.IsType<CommitCreated>(aliceSession.CreateCommit(create)).Commit;
        Assert.IsType<CommitAccepted>(aliceSession.ProcessCommit(commit1));
        var th1 = CheckCommit("commit1", commit1, KeySchedule.InitialTranscriptHash, Fill(0x80));

        // Epoch 2, one second later: alice adds bob and carol (and refreshes her own entry).
        clock.Advance(1_000);
        var admit = new CommitRequest { NewEpoch = 2 };
        admit.Adds.Add(new Add { Bundle = bobSession.JoinBundle });
        admit.Adds.Add(new Add { Bundle = carolSession.JoinBundle });
        var commit2 = Assert.IsType<CommitCreated>(aliceSession.CreateCommit(admit)).Commit;
        var content2 = CommitContent.Parser.ParseFrom(commit2.Content);
        var roster2 = content2.Roster.Select(Member).ToList();
        var rosterHash2 = KeySchedule.RosterHash(roster2);
        Add("commit2.roster_hash", rosterHash2);
        CheckWrap("commit2.wrap.bob", Fill(0x62), Fill(0x90), 2, th1, rosterHash2, alice, roster2[1], content2.Wraps[1]);
        Assert.IsType<CommitAccepted>(aliceSession.ProcessCommit(commit2));
        Assert.True(Assert.IsType<CommitAccepted>(bobSession.ProcessCommit(commit2)).JoinedGroup);
        Assert.True(Assert.IsType<CommitAccepted>(carolSession.ProcessCommit(commit2)).JoinedGroup);
        var th2 = CheckCommit("commit2", commit2, th1, Fill(0x90));
        Assert.Equal(aliceSession.EpochCode, bobSession.EpochCode);

        // Epoch 3, one second later: bob removes carol (and refreshes his own entry).
        clock.Advance(1_000);
        var commit3 = Assert.IsType<CommitCreated>(bobSession.CreateRemoveCommit(["carol"])).Commit;
        Assert.IsType<CommitAccepted>(bobSession.ProcessCommit(commit3));
        var accepted3 = Assert.IsType<CommitAccepted>(aliceSession.ProcessCommit(commit3));
        Assert.Equal([new Removal("carol", RemoveReason.Removed)], accepted3.Removals);
        Assert.True(Assert.IsType<CommitAccepted>(carolSession.ProcessCommit(commit3)).RemovedFromGroup);
        var th3 = CheckCommit("commit3", commit3, th2, Fill(0xd0));

        // The key schedule of epoch 3.
        var epochContext = KeySchedule.EpochContext(Room, 3, th3);
        Add("epoch3.context", epochContext);
        var epochKey = KeySchedule.EpochKey(Fill(0xd0), th3, epochContext);
        Add("epoch3.epoch_key", epochKey);
        var chain0 = KeySchedule.SenderChainKey(epochKey, epochContext, "alice");
        Add("epoch3.ck.alice.0", chain0);
        var messageKey = KeySchedule.MessageKey(chain0, 0);
        Add("epoch3.mk.alice.0", messageKey);
        Add("epoch3.ck.alice.1", KeySchedule.NextChainKey(chain0, 0));
        var epochCode = KeySchedule.EpochCode(epochKey, epochContext);
        Assert.Equal(epochCode, aliceSession.EpochCode);
        Assert.Equal(epochCode, bobSession.EpochCode);

        // Alice sends generation 0 of epoch 3: her first message since epoch 2, in which she sent nothing.
        var envelope = Assert.IsType<MessageSealed>(aliceSession.Encrypt("hello, bob")).Envelope;
        var aad = HeaderAad.Encode(envelope, th3);
        Add("message.aad", aad);
        var opened = Aead.Open(Suite, messageKey, Fill(0xb0, 12), aad, envelope.Ciphertext.Span);
        Add("message.plaintext", opened);
        var plaintext = ApplicationPlaintext.Parser.ParseFrom(opened);
        Assert.Equal(new EpochCount { Epoch = 2, Count = 0 }, plaintext.Previous);
        Add("message.signed", KeySchedule.MessageSignedBytes(aad, plaintext.SentAtMs, plaintext.Body.Span, plaintext.Previous, plaintext.Summary));
        Add("message.signature", plaintext.Signature.Span);
        Add("message.ciphertext", envelope.Ciphertext.Span);
        Add("message.envelope", envelope.ToByteArray());
        var delivered = Assert.IsType<MessageDelivered>(bobSession.Decrypt(envelope));
        Assert.Equal("hello, bob", delivered.Text);
        Assert.Equal(plaintext.Previous, delivered.Previous);

        // The same plaintext under AES-256-GCM (suite 1), computed by .NET's AesGcm as an independent implementation.
        var aes = new byte[opened.Length + 16];
        using (var gcm = new System.Security.Cryptography.AesGcm(messageKey, 16))
        {
            gcm.Encrypt(Fill(0xb0, 12), opened, aes.AsSpan(0, opened.Length), aes.AsSpan(opened.Length), aad);
        }

        Add("message.ciphertext.aes256gcm", aes);
        if (CipherSuites.IsSupported(CipherSuite.Aes256GcmX25519Ed25519Sha256))
        {
            Assert.Equal(aes, Aead.Seal(CipherSuite.Aes256GcmX25519Ed25519Sha256, messageKey, Fill(0xb0, 12), aad, opened));
        }

        Assert.Equal(0, aliceRandom.Remaining);
        Assert.Equal(0, bobRandom.Remaining);
        Assert.Equal(0, carolRandom.Remaining);

        var document = File.ReadAllText(ProtocolDocument());
        var missing = _values.Select(v => $"{v.Name} = {v.Value}").Where(line => !document.Contains(line, StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0, "PROTOCOL.md lacks these test-vector lines:\n" + string.Join("\n", missing));
    }

    /// <summary>The commit's bytes, its confirmed transcript hash, confirmation key, tag and transcript hash (§8.8).</summary>
    private byte[] CheckCommit(string name, SignedCommit commit, byte[] previousTranscriptHash, byte[] epochSecret)
    {
        var content = CommitContent.Parser.ParseFrom(commit.Content);
        Add($"{name}.content", commit.Content.Span);
        Add($"{name}.signature", commit.Signature.Span);
        var confirmed = KeySchedule.ConfirmedTranscriptHash(previousTranscriptHash, commit.Content.Span);
        Add($"{name}.confirmed_transcript_hash", confirmed);
        Add($"{name}.confirmation_key", KeySchedule.ConfirmationKey(epochSecret, Room, content.Epoch, confirmed));
        var tag = KeySchedule.ConfirmationTag(epochSecret, Room, content.Epoch, confirmed);
        Assert.Equal(tag, commit.ConfirmationTag.ToByteArray());
        Add($"{name}.confirmation_tag", tag);
        var transcriptHash = KeySchedule.TranscriptHash(confirmed, tag);
        Add($"{name}.transcript_hash", transcriptHash);
        var context = KeySchedule.EpochContext(Room, content.Epoch, transcriptHash);
        _values.Add(($"{name}.epoch_code", KeySchedule.EpochCode(KeySchedule.EpochKey(epochSecret, transcriptHash, context), context)));
        return transcriptHash;
    }

    private void CheckWrap(string name, byte[] ephemeralScalar, byte[] epochSecret, ulong epoch, byte[] previousTranscriptHash, byte[] rosterHash,
        LocalIdentity committer, RosterMember recipient, Wrap actual)
    {
        using var ephemeral = X25519KeyPair.FromPrivateKey(ephemeralScalar);
        Add($"{name}.ephemeral", ephemeral.PublicKey);
        var context = KeySchedule.WrapContext(Room, epoch, previousTranscriptHash, rosterHash, Suite, committer.ClientId, committer.PublicIdentityKey,
            recipient, ephemeral.PublicKey);
        Add($"{name}.context", context);
        var shared = ephemeral.Agree(recipient.MembershipKey);
        Add($"{name}.shared", shared);
        Add($"{name}.okm", Kdf.Derive(Labels.WrapKey, shared, rosterHash, context, 44));
        var expected = KeySchedule.SealWrap(ephemeral, epochSecret, Room, epoch, previousTranscriptHash, rosterHash, Suite, committer.ClientId,
            committer.PublicIdentityKey, recipient);
        Assert.Equal(expected, actual);
        Add($"{name}.sealed_secret", expected.SealedSecret.Span);
    }

    private static RosterMember Member(SignedBundle bundle)
    {
        Assert.Equal(BundleRejection.None, Bundles.Verify(bundle, Room, null, out var member));
        return member!;
    }

    internal static string ProtocolDocument()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "SecureChat.sln")))
        {
            directory = directory.Parent;
        }

        return Path.Combine(directory?.FullName ?? throw new InvalidOperationException("SecureChat.sln not found above the test assembly"),
            "src", "SecureChat.Protocol", "PROTOCOL.md");
    }

}
