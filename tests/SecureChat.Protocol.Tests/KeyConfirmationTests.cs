using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Testing.Simulation;

namespace SecureChat.Protocol.Tests;

/// <summary>
/// Key confirmation (PROTOCOL.md §8.8, issue item 1): every commit carries a MAC over the new confirmed transcript hash,
/// keyed from the new epoch secret, and a member accepts the commit only if the tag its own secret gives matches. A
/// committer that seals different secrets to different members can no longer put them in one epoch.
/// </summary>
public sealed class KeyConfirmationTests
{
    private static readonly byte[] SecretOne = Enumerable.Repeat((byte)0x11, 32).ToArray();
    private static readonly byte[] SecretTwo = Enumerable.Repeat((byte)0x22, 32).ToArray();

    [Fact]
    public void A_commit_whose_tag_is_not_the_one_its_secret_gives_is_refused_and_changes_nothing()
    {
        using var sim = Scenario.Group(71, "alice", "bob");
        var bob = sim["bob"].Session!;
        var before = (bob.Epoch, bob.EpochCode);
        var commit = Scenario.RekeyCommit(sim, "alice");

        var flipped = commit.Clone();
        flipped.ConfirmationTag = ByteString.CopyFrom([.. commit.ConfirmationTag.Span[..31], (byte)(commit.ConfirmationTag[31] ^ 1)]);
        Assert.Equal(CommitRejection.ConfirmationFailed, Assert.IsType<CommitRejected>(bob.ProcessCommit(flipped)).Reason);

        var missing = commit.Clone();
        missing.ConfirmationTag = ByteString.Empty;
        Assert.Equal(CommitRejection.Malformed, Assert.IsType<CommitRejected>(bob.ProcessCommit(missing)).Reason);
        Assert.Equal(before, (bob.Epoch, bob.EpochCode));

        Assert.IsType<CommitAccepted>(bob.ProcessCommit(commit));
    }

    [Fact]
    public void A_committer_sealing_different_secrets_to_different_members_cannot_put_them_in_one_epoch()
    {
        using var sim = Scenario.Group(72, "alice", "bob", "carol");
        var (bob, carol) = (sim["bob"].Session!, sim["carol"].Session!);

        // Alice (malicious) wraps secret one to bob and secret two to carol, in one signed commit tagged for secret one.
        var split = Scenario.HandMadeCommit(sim, "alice", member => member.ClientId == "carol" ? SecretTwo : SecretOne, SecretOne);

        Assert.IsType<CommitAccepted>(bob.ProcessCommit(split));
        Assert.Equal(CommitRejection.ConfirmationFailed, Assert.IsType<CommitRejected>(carol.ProcessCommit(split)).Reason);

        // The same secret for everyone (what an honest committer seals) is accepted by everyone.
        using var honest = Scenario.Group(72, "alice", "bob", "carol");
        var fair = Scenario.HandMadeCommit(honest, "alice", _ => SecretOne, SecretOne);
        Assert.IsType<CommitAccepted>(honest["bob"].Session!.ProcessCommit(fair));
        Assert.IsType<CommitAccepted>(honest["carol"].Session!.ProcessCommit(fair));
        Assert.Equal(honest["bob"].Session!.EpochCode, honest["carol"].Session!.EpochCode);
    }

    [Fact]
    public void Given_each_their_own_tag_the_two_sides_are_two_histories_and_a_re_encrypted_message_is_refused_as_forged()
    {
        using var sim = Scenario.Group(73, "alice", "bob", "carol");
        var (bob, carol) = (sim["bob"].Session!, sim["carol"].Session!);
        var split = Scenario.HandMadeCommit(sim, "alice", member => member.ClientId == "carol" ? SecretTwo : SecretOne, SecretOne);

        // The tag is outside the signature, so the colluding relay gives carol the tag her secret gives: both accept...
        Assert.IsType<CommitAccepted>(bob.ProcessCommit(split));
        Assert.IsType<CommitAccepted>(carol.ProcessCommit(Scenario.Retag(split, SecretTwo)));

        // ... but the tag is inside the transcript hash: they are on two histories, and their codes differ (v1: silently).
        Assert.Equal(bob.Epoch, carol.Epoch);
        Assert.NotEqual(bob.EpochCode, carol.EpochCode);
        Assert.False(bob.TranscriptHash.AsSpan().SequenceEqual(carol.TranscriptHash));
        var fromCarol = Assert.IsType<MessageSealed>(carol.Encrypt("for bob, signed by carol")).Envelope;
        Assert.Equal(DecryptRejection.OtherHistory, Assert.IsType<MessageRejected>(bob.Decrypt(fromCarol)).Reason);

        // Alice knows both secrets: she opens carol's message and seals it again under bob's epoch and header. Carol's
        // signature covers carol's transcript hash, not bob's, so bob refuses it as forged (v1 delivered it as carol's).
        var reencrypted = ReEncrypt(fromCarol, SecretTwo, carol.TranscriptHash, SecretOne, bob.TranscriptHash);
        Assert.Equal(DecryptRejection.Forged, Assert.IsType<MessageRejected>(bob.Decrypt(reencrypted)).Reason);
    }

    [Fact]
    public void The_relay_can_compute_the_transcript_hash_but_not_forge_a_tag_that_confirms()
    {
        using var sim = Scenario.Group(74, "alice", "bob");
        var commit = Scenario.RekeyCommit(sim, "alice");
        var content = Scenario.Content(commit);

        // TH_e from public bytes only (what the relay records) equals what the members derive.
        var transcriptHash = KeySchedule.TranscriptHashOf(commit, content.PreviousTranscriptHash.Span);
        Assert.IsType<CommitAccepted>(sim["bob"].Session!.ProcessCommit(commit));
        Assert.Equal(transcriptHash, sim["bob"].Session!.TranscriptHash);

        // A tag made with any other key does not confirm.
        var guessed = Scenario.Retag(commit, SecretOne);
        Assert.Equal(CommitRejection.ConfirmationFailed, Assert.IsType<CommitRejected>(sim["alice"].Session!.ProcessCommit(guessed)).Reason);
    }

    /// <summary>What a committer that knows both epoch secrets can do with a message of one side for the other side.</summary>
    private static Envelope ReEncrypt(Envelope envelope, byte[] fromSecret, byte[] fromTranscript, byte[] toSecret, byte[] toTranscript)
    {
        var fromKey = MessageKey(envelope, fromSecret, fromTranscript);
        var plaintext = Aead.Open(envelope.CipherSuite, fromKey, envelope.Nonce.Span, HeaderAad.Encode(envelope, fromTranscript), envelope.Ciphertext.Span);
        var forged = envelope.Clone();
        forged.HistoryTag = ByteString.CopyFrom(toTranscript[..WireLimits.HistoryTagBytes]);
        var toKey = MessageKey(forged, toSecret, toTranscript);
        forged.Ciphertext = ByteString.CopyFrom(Aead.Seal(forged.CipherSuite, toKey, forged.Nonce.Span, HeaderAad.Encode(forged, toTranscript), plaintext));
        return forged;
    }

    private static byte[] MessageKey(Envelope envelope, byte[] epochSecret, byte[] transcriptHash)
    {
        var context = KeySchedule.EpochContext(envelope.RoomId, envelope.Epoch, transcriptHash);
        var chain = KeySchedule.SenderChainKey(KeySchedule.EpochKey(epochSecret, transcriptHash, context), context, envelope.SenderId);
        for (ulong g = 0; g < envelope.Sequence; g++)
        {
            chain = KeySchedule.NextChainKey(chain, g);
        }

        return KeySchedule.MessageKey(chain, envelope.Sequence);
    }
}
