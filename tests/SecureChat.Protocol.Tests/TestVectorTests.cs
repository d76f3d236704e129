using System.Text;
using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Testing.Simulation;

namespace SecureChat.Protocol.Tests;

/// <summary>
/// The worked example of PROTOCOL.md §Test vectors, computed by driving two real sessions with scripted
/// randomness, checked step by step against <see cref="KeySchedule"/>, and then required to appear verbatim in
/// PROTOCOL.md ("name = hex" lines), so the document cannot drift from the code.
/// </summary>
public sealed class TestVectorTests
{
    private const long Now = 1_767_225_600_000; // 2026-01-01T00:00:00Z
    private const string Room = "vector-room";
    private const CipherSuite Suite = CipherSuite.Chacha20Poly1305X25519Ed25519Sha256;

    private static byte[] Fill(byte start, int length = 32) => Enumerable.Range(0, length).Select(i => (byte)(start + i)).ToArray();

    [Fact]
    public void The_worked_example_in_PROTOCOL_md_matches_the_engine()
    {
        var values = new List<(string Name, string Hex)>();
        void Add(string name, ReadOnlySpan<byte> bytes) => values.Add((name, Convert.ToHexString(bytes).ToLowerInvariant()));

        var clock = new ManualClock(Now);
        var trustA = new TrustStore();
        var trustB = new TrustStore();
        using var alice = new LocalIdentity("alice", IdentityKeyPair.FromSeed(Fill(0x01)));
        using var bob = new LocalIdentity("bob", IdentityKeyPair.FromSeed(Fill(0x41)));
        byte[] aliceScalar = Fill(0x11), bobScalar = Fill(0x51), epochSecret = Fill(0x80), ephemeralA = Fill(0x21), ephemeralB = Fill(0x61), nonce = Fill(0xA0, 12);

        var aliceRandom = new ScriptedRandomSource(aliceScalar, epochSecret, ephemeralA, ephemeralB, nonce);
        var bobRandom = new ScriptedRandomSource(bobScalar);
        using var aliceSession = new GroupSession(alice, Room, trustA, GroupOptions.Default, clock, aliceRandom);
        using var bobSession = new GroupSession(bob, Room, trustB, GroupOptions.Default, clock, bobRandom);

        Add("alice.ik", alice.PublicIdentityKey);
        Add("bob.ik", bob.PublicIdentityKey);
        Add("alice.bundle.content", aliceSession.JoinBundle.Content.Span);
        Add("alice.bundle.signature", aliceSession.JoinBundle.Signature.Span);
        Add("bob.bundle.content", bobSession.JoinBundle.Content.Span);

        // The relay asks alice to create the room with both joiners.
        var request = new CommitRequest { NewEpoch = 1, Suite = Suite };
        request.Adds.Add(aliceSession.JoinBundle);
        request.Adds.Add(bobSession.JoinBundle);
        var commit = Assert.IsType<CommitCreated>(aliceSession.CreateCommit(request)).Commit;
        var content = CommitContent.Parser.ParseFrom(commit.Content);

        Bundles.Verify(aliceSession.JoinBundle, null, out var aliceMember);
        Bundles.Verify(bobSession.JoinBundle, null, out var bobMember);
        var rosterHash = KeySchedule.RosterHash([aliceMember!, bobMember!]);
        Add("roster_hash", rosterHash);

        using (var ephemeral = X25519KeyPair.FromPrivateKey(ephemeralB))
        {
            Add("wrap.bob.ephemeral", ephemeral.PublicKey);
            var context = KeySchedule.WrapContext(Room, 1, KeySchedule.InitialTranscriptHash, rosterHash, Suite, "alice", alice.PublicIdentityKey, bobMember!, ephemeral.PublicKey);
            Add("wrap.bob.context", context);
            var shared = ephemeral.Agree(bobMember!.MembershipKey);
            Add("wrap.bob.shared", shared);
            Add("wrap.bob.okm", Kdf.Derive(Labels.WrapKey, shared, rosterHash, context, 44));
            var expectedWrap = KeySchedule.SealWrap(ephemeral, epochSecret, Room, 1, KeySchedule.InitialTranscriptHash, rosterHash, Suite, "alice", alice.PublicIdentityKey, bobMember!);
            Assert.Equal(expectedWrap, content.Wraps[1]);
            Add("wrap.bob.sealed_secret", expectedWrap.SealedSecret.Span);
        }

        Add("commit.content", commit.Content.Span);
        Add("commit.signature", commit.Signature.Span);
        var th1 = KeySchedule.TranscriptHash(KeySchedule.InitialTranscriptHash, commit.Content.Span);
        Add("th_1", th1);
        var epochContext = KeySchedule.EpochContext(Room, 1, th1);
        Add("epoch_context", epochContext);
        var epochKey = KeySchedule.EpochKey(epochSecret, th1, epochContext);
        Add("epoch_key", epochKey);
        var chain0 = KeySchedule.SenderChainKey(epochKey, epochContext, "alice");
        Add("ck.alice.0", chain0);
        var messageKey = KeySchedule.MessageKey(chain0, 0);
        Add("mk.alice.0", messageKey);
        Add("ck.alice.1", KeySchedule.NextChainKey(chain0, 0));
        var epochCode = KeySchedule.EpochCode(epochKey, epochContext);
        values.Add(("epoch_code", epochCode));

        // Both sides apply the commit (bob as a joiner, alice on the relay's echo) and agree.
        var bobAccepted = Assert.IsType<CommitAccepted>(bobSession.ProcessCommit(commit));
        var aliceAccepted = Assert.IsType<CommitAccepted>(aliceSession.ProcessCommit(commit));
        Assert.True(aliceAccepted.OwnCommit);
        Assert.Equal(epochCode, bobAccepted.EpochCode);
        Assert.Equal(epochCode, aliceSession.EpochCode);
        Assert.Equal(th1, bobSession.TranscriptHash);

        // Alice sends generation 0.
        var envelope = Assert.IsType<MessageSealed>(aliceSession.Encrypt("hello, bob")).Envelope;
        var aad = HeaderAad.Encode(envelope, th1);
        Add("message.aad", aad);
        var opened = Aead.Open(Suite, messageKey, nonce, aad, envelope.Ciphertext.Span);
        Add("message.plaintext", opened);
        var plaintext = ApplicationPlaintext.Parser.ParseFrom(opened);
        Add("message.signature", plaintext.Signature.Span);
        Add("message.ciphertext", envelope.Ciphertext.Span);
        Add("message.envelope", envelope.ToByteArray());
        Assert.Equal("hello, bob", Assert.IsType<MessageDelivered>(bobSession.Decrypt(envelope)).Text);
        Assert.Equal(0, aliceRandom.Remaining);

        var document = File.ReadAllText(ProtocolDocument());
        var missing = values.Select(v => $"{v.Name} = {v.Hex}").Where(line => !document.Contains(line, StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0, "PROTOCOL.md lacks these test-vector lines:\n" + string.Join("\n", missing));
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
