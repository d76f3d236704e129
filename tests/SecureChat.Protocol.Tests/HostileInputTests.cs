using CsCheck;
using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Relay;
using SecureChat.Testing.Simulation;

namespace SecureChat.Protocol.Tests;

/// <summary>Every engine input is hostile: mutated commits, envelopes and plaintexts give typed outcomes, never exceptions.</summary>
public sealed class HostileInputTests
{
    private static byte[] Mutate(byte[] bytes, int index, byte value, int mode)
    {
        index = bytes.Length == 0 ? 0 : index % bytes.Length;
        return mode switch
        {
            0 => bytes.Select((b, i) => i == index ? (byte)(b == value ? b ^ 1 : value) : b).ToArray(),
            1 => bytes[..index],
            2 => [.. bytes[..index], value, .. bytes[index..]],
            _ => [.. bytes[..index], .. bytes[Math.Min(bytes.Length, index + 1 + value % 8)..]],
        };
    }

    private static readonly Gen<(int Index, byte Value, int Mode)> Mutations = Gen.Select(Gen.Int[0, 1 << 20], Gen.Byte, Gen.Int[0, 3]);

    [Fact]
    public void Mutated_commit_bytes_are_rejected_without_exceptions_or_state_change()
    {
        using var sim = Scenario.Group(71, "alice", "bob", "carol");
        var commit = Scenario.RekeyCommit(sim, "alice");
        var content = commit.Content.ToByteArray();
        var bob = sim["bob"].Session!;
        var (epoch, code) = (bob.Epoch, bob.EpochCode);
        var relay = new RelayView(bob.RoomId, epoch, bob.Suite, bob.Roster.ToDictionary(m => m.ClientId, StringComparer.Ordinal),
            new Dictionary<string, RosterMember>(), new HashSet<string>(), 150);

        Mutations.Sample(m =>
        {
            var mutated = new SignedCommit { Content = ByteString.CopyFrom(Mutate(content, m.Index, m.Value, m.Mode)), Signature = commit.Signature };
            Assert.IsNotType<CommitAccepted>(bob.ProcessCommit(mutated));
            Assert.False(RelayRules.CheckCommit(relay, "alice", mutated).IsAccepted);
        }, iter: 400, threads: 1);

        Assert.Equal((epoch, code), (bob.Epoch, bob.EpochCode));
        Assert.IsType<CommitAccepted>(bob.ProcessCommit(commit));
    }

    [Fact]
    public void Mutated_commits_re_signed_by_a_member_never_throw()
    {
        using var sim = Scenario.Group(72, "alice", "bob", "carol");
        var commit = Scenario.RekeyCommit(sim, "alice");
        var content = commit.Content.ToByteArray();
        var alice = sim["alice"].Identity.IdentityKey;

        Mutations.Sample(m =>
        {
            // A fresh receiver per mutation would be slow; one receiver that may end up in any state is enough to
            // show that every path returns a typed outcome.
            var bytes = Mutate(content, m.Index, m.Value, m.Mode);
            var signed = new SignedCommit { Content = ByteString.CopyFrom(bytes), Signature = ByteString.CopyFrom(alice.Sign(Labels.CommitSignature, bytes)) };
            Assert.IsAssignableFrom<CommitOutcome>(sim["carol"].Session!.ProcessCommit(signed));
        }, iter: 400, threads: 1);
    }

    [Fact]
    public void Mutated_envelopes_never_throw_and_nothing_is_delivered_twice()
    {
        using var sim = Scenario.Group(73, "alice", "bob");
        var bob = sim["bob"].Session!;
        var original = Scenario.Seal(sim, "alice", "only once");
        var bytes = original.ToByteArray();
        var delivered = 0;

        Mutations.Sample(m =>
        {
            Envelope envelope;
            try
            {
                envelope = EnvelopeCodec.Decode(Mutate(bytes, m.Index, m.Value, m.Mode));
            }
            catch (WireFormatException)
            {
                return; // the codec's typed refusal; the engine never sees these bytes
            }

            if (bob.Decrypt(envelope) is MessageDelivered)
            {
                delivered++;
            }
        }, iter: 600, threads: 1);

        if (bob.Decrypt(original) is MessageDelivered)
        {
            delivered++;
        }

        Assert.Equal(1, delivered);
    }

    [Fact]
    public void Garbage_plaintexts_under_a_valid_key_are_malformed_or_forged_never_exceptions()
    {
        using var sim = Scenario.Group(74, "alice", "bob", "mallory");
        var bob = sim["bob"].Session!;
        var mallory = sim["mallory"].Session!;
        var generation = 0UL;

        Gen.Byte.Array[0, 200].Sample(plaintext =>
        {
            var envelope = new Envelope
            {
                Version = WireLimits.ProtocolVersion, Type = MessageType.Application, SenderId = "alice", RoomId = bob.RoomId, Epoch = bob.Epoch,
                Sequence = generation, CipherSuite = bob.Suite, Nonce = ByteString.CopyFrom(new byte[12]),
            };
            var key = mallory.InsiderMessageKey(bob.Epoch, "alice", generation)!;
            envelope.Ciphertext = ByteString.CopyFrom(Aead.Seal(bob.Suite, key, envelope.Nonce.Span, HeaderAad.Encode(envelope, bob.TranscriptHash), plaintext));
            var outcome = Assert.IsType<MessageRejected>(bob.Decrypt(envelope));
            Assert.Contains(outcome.Reason, new[] { DecryptRejection.Malformed, DecryptRejection.Forged });
        }, iter: 300, threads: 1);

        Assert.Equal("real", Assert.IsType<MessageDelivered>(bob.Decrypt(Scenario.Seal(sim, "alice", "real"))).Text);
    }
}
