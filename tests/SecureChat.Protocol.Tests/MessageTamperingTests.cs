using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Testing.Simulation;

namespace SecureChat.Protocol.Tests;

public sealed class MessageTamperingTests
{
    public static TheoryData<string, DecryptRejection?> Tamperings => new()
    {
        { "version", DecryptRejection.Malformed },
        { "type", DecryptRejection.Malformed },
        { "payload", DecryptRejection.Malformed },
        { "sender to another member", DecryptRejection.AuthenticationFailed },
        { "sender to a non-member", DecryptRejection.NotAMember },
        { "sender to the receiver", DecryptRejection.FromSelf },
        { "room", DecryptRejection.WrongRoom },
        { "epoch to a past epoch", DecryptRejection.EpochBeforeJoin },
        { "epoch to a future epoch", null },
        { "generation + 1", DecryptRejection.AuthenticationFailed },
        { "generation + 2^32", DecryptRejection.TooFarAhead },
        { "nonce bit", DecryptRejection.AuthenticationFailed },
        { "nonce length", DecryptRejection.Malformed },
        { "ciphertext bit", DecryptRejection.AuthenticationFailed },
        { "tag bit", DecryptRejection.AuthenticationFailed },
        { "ciphertext truncated", DecryptRejection.AuthenticationFailed },
        { "cipher suite", DecryptRejection.WrongSuite },
        { "history tag bit", DecryptRejection.OtherHistory },
        { "history tag length", DecryptRejection.Malformed },
    };

    [Theory]
    [MemberData(nameof(Tamperings))]
    public void Every_header_field_is_bound_and_tampering_does_not_burn_the_real_key(string field, DecryptRejection? expected)
    {
        using var sim = Scenario.Group(11, "alice", "bob", "carol");
        var bob = sim["bob"].Session!;
        var original = Scenario.Seal(sim, "alice", "meet at noon");
        var tampered = original.Clone();
        Tamper(tampered, field, bob.Suite);

        var outcome = bob.Decrypt(tampered);

        if (expected is { } reason)
        {
            Assert.Equal(reason, Assert.IsType<MessageRejected>(outcome).Reason);
        }
        else
        {
            Assert.IsType<MessageHeld>(outcome);
        }

        // The untouched message still opens once, and only once.
        Assert.Equal("meet at noon", Assert.IsType<MessageDelivered>(bob.Decrypt(original)).Text);
        Assert.Equal(DecryptRejection.Replay, Assert.IsType<MessageRejected>(bob.Decrypt(original)).Reason);
    }

    private static void Tamper(Envelope envelope, string field, CipherSuite suite)
    {
        switch (field)
        {
            case "version": envelope.Version = 1; break;
            case "history tag bit": envelope.HistoryTag = Flip(envelope.HistoryTag, 0); break;
            case "history tag length": envelope.HistoryTag = ByteString.CopyFrom(envelope.HistoryTag.Span[..7]); break;
            case "type": envelope.Type = MessageType.Commit; break;
            case "payload": envelope.Hello = new Hello { ClientSoftware = "x" }; break;
            case "sender to another member": envelope.SenderId = "carol"; break;
            case "sender to a non-member": envelope.SenderId = "mallory"; break;
            case "sender to the receiver": envelope.SenderId = "bob"; break;
            case "room": envelope.RoomId = "room-2"; break;
            case "epoch to a past epoch": envelope.Epoch = 1; break;
            case "epoch to a future epoch": envelope.Epoch += 1; break;
            case "generation + 1": envelope.Sequence += 1; break;
            case "generation + 2^32": envelope.Sequence += 1UL << 32; break;
            case "nonce bit": envelope.Nonce = Flip(envelope.Nonce, 0); break;
            case "nonce length": envelope.Nonce = ByteString.CopyFrom(envelope.Nonce.Span[..11]); break;
            case "ciphertext bit": envelope.Ciphertext = Flip(envelope.Ciphertext, 0); break;
            case "tag bit": envelope.Ciphertext = Flip(envelope.Ciphertext, envelope.Ciphertext.Length - 1); break;
            case "ciphertext truncated": envelope.Ciphertext = ByteString.CopyFrom(envelope.Ciphertext.Span[1..]); break;
            case "cipher suite":
                envelope.CipherSuite = suite == CipherSuite.Aes256GcmX25519Ed25519Sha256
                    ? CipherSuite.Chacha20Poly1305X25519Ed25519Sha256
                    : CipherSuite.Aes256GcmX25519Ed25519Sha256;
                break;
            default: throw new ArgumentOutOfRangeException(nameof(field));
        }
    }

    private static ByteString Flip(ByteString bytes, int index)
    {
        var copy = bytes.ToByteArray();
        copy[index] ^= 0x01;
        return ByteString.CopyFrom(copy);
    }

    [Fact]
    public void A_member_forging_a_message_in_another_members_name_is_caught_by_the_inner_signature()
    {
        using var sim = Scenario.Group(12, "alice", "bob", "mallory");
        var bob = sim["bob"].Session!;
        var mallory = sim["mallory"];

        // Mallory is a member, so she can derive Alice's chain and build a perfectly authenticated ciphertext ...
        var envelope = new Envelope
        {
            Version = WireLimits.ProtocolVersion, Type = MessageType.Application, SenderId = "alice", RoomId = bob.RoomId, Epoch = bob.Epoch,
            Sequence = 0, CipherSuite = bob.Suite, Nonce = ByteString.CopyFrom(new byte[12]), HistoryTag = ByteString.CopyFrom(bob.TranscriptHash[..8]),
        };
        var key = mallory.Session!.InsiderMessageKey(bob.Epoch, "alice", 0)!;
        var associatedData = HeaderAad.Encode(envelope, bob.TranscriptHash);
        var body = Hashing.Utf8("transfer the money");
        var plaintext = new ApplicationPlaintext
        {
            SentAtMs = 1,
            Body = ByteString.CopyFrom(body),
            // ... but she can only sign with her own identity key.
            Signature = ByteString.CopyFrom(mallory.Identity.IdentityKey.Sign(Labels.MessageSignature, KeySchedule.MessageSignedBytes(associatedData, 1, body, null, summary: false))),
        };
        envelope.Ciphertext = ByteString.CopyFrom(Aead.Seal(bob.Suite, key, envelope.Nonce.Span, associatedData, plaintext.ToByteArray()));

        Assert.Equal(DecryptRejection.Forged, Assert.IsType<MessageRejected>(bob.Decrypt(envelope)).Reason);

        // Alice's real message with that generation still gets through: the forgery did not burn the key.
        var real = Scenario.Seal(sim, "alice", "hi");
        Assert.Equal(0UL, real.Sequence);
        Assert.Equal("hi", Assert.IsType<MessageDelivered>(bob.Decrypt(real)).Text);
    }

    [Fact]
    public void Replay_in_the_same_room_is_rejected()
    {
        using var sim = Scenario.Group(13, "alice", "bob");
        var bob = sim["bob"].Session!;
        var envelope = Scenario.Seal(sim, "alice", "once");
        Assert.IsType<MessageDelivered>(bob.Decrypt(envelope));
        Assert.Equal(DecryptRejection.Replay, Assert.IsType<MessageRejected>(bob.Decrypt(envelope.Clone())).Reason);
    }

    [Fact]
    public void Replay_into_another_room_is_rejected_with_or_without_rewriting_the_room()
    {
        // Two rooms with the same members and the same epoch numbers.
        using var room1 = new GroupSimulation(14, "room-1");
        using var room2 = new GroupSimulation(15, "room-2");
        room1.JoinAll("alice", "bob");
        room2.JoinAll("alice", "bob");
        Assert.Equal(room1["bob"].Session!.Epoch, room2["bob"].Session!.Epoch);
        var envelope = Scenario.Seal(room1, "alice", "room one only");
        var bobInRoom2 = room2["bob"].Session!;

        Assert.Equal(DecryptRejection.WrongRoom, Assert.IsType<MessageRejected>(bobInRoom2.Decrypt(envelope)).Reason);
        var rewritten = envelope.Clone();
        rewritten.RoomId = "room-2";
        Assert.Equal(DecryptRejection.OtherHistory, Assert.IsType<MessageRejected>(bobInRoom2.Decrypt(rewritten)).Reason);
        rewritten.HistoryTag = ByteString.CopyFrom(bobInRoom2.TranscriptHash[..8]);
        Assert.Equal(DecryptRejection.AuthenticationFailed, Assert.IsType<MessageRejected>(bobInRoom2.Decrypt(rewritten)).Reason);
        Assert.IsType<MessageDelivered>(room1["bob"].Session!.Decrypt(envelope));
    }

    [Fact]
    public void Replay_in_another_epoch_is_rejected_and_an_old_epoch_expires()
    {
        var options = GroupOptions.Default with { PreviousEpochRetentionMs = 60_000 };
        using var sim = Scenario.Group(16, options, "alice", "bob");
        var bob = sim["bob"].Session!;
        var early = Scenario.Seal(sim, "alice", "epoch one");
        var late = Scenario.Seal(sim, "alice", "still epoch one, in flight");
        Assert.IsType<MessageDelivered>(bob.Decrypt(early));

        sim["alice"].Rekey(sim.Relay);
        sim.RunUntilQuiet();
        Assert.Equal(early.Epoch + 1, bob.Epoch);

        // Same envelope again: the old epoch's chain remembers it.
        Assert.Equal(DecryptRejection.Replay, Assert.IsType<MessageRejected>(bob.Decrypt(early.Clone())).Reason);

        // Relabelled as the new epoch: different keys and associated data.
        var relabelled = early.Clone();
        relabelled.Epoch = bob.Epoch;
        Assert.Equal(DecryptRejection.OtherHistory, Assert.IsType<MessageRejected>(bob.Decrypt(relabelled)).Reason);
        relabelled.HistoryTag = ByteString.CopyFrom(bob.TranscriptHash[..8]);
        Assert.Equal(DecryptRejection.AuthenticationFailed, Assert.IsType<MessageRejected>(bob.Decrypt(relabelled)).Reason);

        // An in-flight message of the previous epoch is still readable within the retention window ...
        var inFlight = late.Clone();
        Assert.IsType<MessageDelivered>(bob.Decrypt(inFlight));

        // ... and after it, the old epoch's keys are gone.
        var another = Scenario.Seal(sim, "alice", "new epoch");
        var stale = early.Clone();
        stale.Sequence = 5;
        sim.Clock.Advance(60_000);
        bob.Tick();
        Assert.Equal(DecryptRejection.ExpiredEpoch, Assert.IsType<MessageRejected>(bob.Decrypt(stale)).Reason);
        Assert.IsType<MessageDelivered>(bob.Decrypt(another));
    }

    [Fact]
    public void A_generation_jump_of_1000_is_accepted_and_1001_refused()
    {
        using var sim = Scenario.Group(17, "alice", "bob", "carol");
        var envelopes = Enumerable.Range(0, 1002).Select(i => Scenario.Seal(sim, "alice", $"m{i}")).ToList();

        var bob = sim["bob"].Session!;
        Assert.Equal(DecryptRejection.TooFarAhead, Assert.IsType<MessageRejected>(bob.Decrypt(envelopes[1001])).Reason);
        Assert.Equal("m1000", Assert.IsType<MessageDelivered>(bob.Decrypt(envelopes[1000])).Text);
        Assert.Equal("m1001", Assert.IsType<MessageDelivered>(bob.Decrypt(envelopes[1001])).Text);

        // Every skipped key was cached: the 1000 earlier messages all open, out of order, exactly once.
        foreach (var envelope in envelopes.Take(1000).Reverse())
        {
            Assert.IsType<MessageDelivered>(bob.Decrypt(envelope));
        }

        Assert.Equal(DecryptRejection.Replay, Assert.IsType<MessageRejected>(bob.Decrypt(envelopes[3])).Reason);
    }

    [Fact]
    public void A_2_to_the_32_generation_jump_is_refused_before_any_key_is_derived()
    {
        using var sim = Scenario.Group(19, "alice", "bob");
        var bob = sim["bob"].Session!;
        var envelope = Scenario.Seal(sim, "alice", "x");
        var jumped = envelope.Clone();
        jumped.Sequence = 1UL << 32;
        Assert.Equal(DecryptRejection.TooFarAhead, Assert.IsType<MessageRejected>(bob.Decrypt(jumped)).Reason);
        jumped.Sequence = ulong.MaxValue;
        Assert.Equal(DecryptRejection.TooFarAhead, Assert.IsType<MessageRejected>(bob.Decrypt(jumped)).Reason);
        Assert.IsType<MessageDelivered>(bob.Decrypt(envelope));
    }

    [Fact]
    public void Skipped_key_caches_are_bounded_per_sender_and_per_room()
    {
        var options = GroupOptions.Default with { MaxForwardJump = 10, MaxSkippedKeysPerSender = 15, MaxSkippedKeysPerRoom = 20 };
        using var sim = Scenario.Group(18, options, "alice", "bob", "carol");
        var fromAlice = Enumerable.Range(0, 23).Select(i => Scenario.Seal(sim, "alice", $"a{i}")).ToList();
        var fromBob = Enumerable.Range(0, 12).Select(i => Scenario.Seal(sim, "bob", $"b{i}")).ToList();
        var carol = sim["carol"].Session!;

        // Alice: jumps to 10 and 21 cache 20 skipped keys; the per-sender cap keeps the newest 15 (6..20 minus 10).
        Assert.IsType<MessageDelivered>(carol.Decrypt(fromAlice[10]));
        Assert.IsType<MessageDelivered>(carol.Decrypt(fromAlice[21]));
        Assert.Equal(DecryptRejection.Replay, Assert.IsType<MessageRejected>(carol.Decrypt(fromAlice[4])).Reason);
        Assert.IsType<MessageDelivered>(carol.Decrypt(fromAlice[20]));

        // Bob: a jump to 10 caches 10 more (24 in the room); the room cap (20) evicts Alice's 4 oldest.
        Assert.IsType<MessageDelivered>(carol.Decrypt(fromBob[10]));
        var opened = fromAlice.Take(21).Concat(fromBob.Take(10)).Count(e => carol.Decrypt(e) is MessageDelivered);
        Assert.Equal(20, opened);
        Assert.Equal(DecryptRejection.Replay, Assert.IsType<MessageRejected>(carol.Decrypt(fromAlice[8])).Reason);
    }
}
