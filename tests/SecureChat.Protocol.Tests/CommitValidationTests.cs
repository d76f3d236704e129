using Google.Protobuf;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Testing.Simulation;

namespace SecureChat.Protocol.Tests;

public sealed class CommitValidationTests
{
    private static CommitRejection Rejection(CommitOutcome outcome) => Assert.IsType<CommitRejected>(outcome).Reason;

    [Fact]
    public void A_commit_signed_by_the_wrong_identity_is_rejected()
    {
        using var sim = Scenario.Group(21, "alice", "bob", "carol");
        var commit = Scenario.RekeyCommit(sim, "alice");
        var signedByCarol = Scenario.Resign(commit, sim["carol"].Identity.IdentityKey, _ => { });

        Assert.Equal(CommitRejection.BadSignature, Rejection(sim["bob"].Session!.ProcessCommit(signedByCarol)));
        Assert.IsType<CommitAccepted>(sim["bob"].Session!.ProcessCommit(commit));
    }

    [Fact]
    public void A_forged_commit_from_a_non_member_is_rejected()
    {
        using var sim = Scenario.Group(22, "alice", "bob");
        using var mallory = LocalIdentity.Generate("mallory", new SeededRandomSource(99));
        var commit = Scenario.RekeyCommit(sim, "alice");
        var bob = sim["bob"].Session!;

        var asHerself = Scenario.Resign(commit, mallory.IdentityKey, c => c.CommitterId = "mallory");
        Assert.Equal(CommitRejection.NotSignedByMember, Rejection(bob.ProcessCommit(asHerself)));

        var asAlice = Scenario.Resign(commit, mallory.IdentityKey, _ => { });
        Assert.Equal(CommitRejection.BadSignature, Rejection(bob.ProcessCommit(asAlice)));

        var unsigned = commit.Clone();
        unsigned.Signature = ByteString.CopyFrom(new byte[64]);
        Assert.Equal(CommitRejection.BadSignature, Rejection(bob.ProcessCommit(unsigned)));
    }

    [Fact]
    public void A_member_cannot_slip_a_ghost_into_the_roster()
    {
        using var sim = Scenario.Group(23, "alice", "bob", "carol");
        using var ghost = LocalIdentity.Generate("ghost", new SeededRandomSource(98));
        using var ghostKey = ghost.CreateMembershipKey(sim.Relay.RoomId, 1, sim.Clock.UtcNowMs, 3_600_000, new SeededRandomSource(97));
        var alice = sim["alice"].Identity.IdentityKey;
        var commit = Scenario.RekeyCommit(sim, "alice");
        var bob = sim["bob"].Session!;

        // In the roster but not among the operations.
        var hidden = Scenario.Resign(commit, alice, c =>
        {
            c.Roster.Insert(c.Roster.Count - 0, ghostKey.Bundle);
            SortRoster(c);
            c.Wraps.Clear();
            foreach (var b in c.Roster)
            {
                var content = BundleContent.Parser.ParseFrom(b.Content);
                c.Wraps.Add(new Wrap { RecipientId = content.ClientId, RecipientKeyId = content.KeyId, EphemeralKey = ByteString.CopyFrom(new byte[32]), SealedSecret = ByteString.CopyFrom(new byte[48]) });
            }
        });
        Assert.Equal(CommitRejection.RosterMismatch, Rejection(bob.ProcessCommit(hidden)));

        // A bundle that names carol but is signed by someone else (key substitution).
        var substitute = ghost.MakeBundle(sim.Relay.RoomId, ghostKey.KeyPair.PublicKey, 9, sim.Clock.UtcNowMs, sim.Clock.UtcNowMs + 1000);
        var substituteContent = BundleContent.Parser.ParseFrom(substitute.Content);
        substituteContent.ClientId = "carol";
        var forgedCarol = new SignedBundle { Content = substituteContent.ToByteString(), Signature = substitute.Signature };
        var swapped = Scenario.Resign(commit, alice, c =>
        {
            var index = c.Roster.ToList().FindIndex(b => BundleContent.Parser.ParseFrom(b.Content).ClientId == "carol");
            c.Roster[index] = forgedCarol;
        });
        Assert.Equal(CommitRejection.InvalidBundle, Rejection(bob.ProcessCommit(swapped)));

        // A member silently dropped.
        var dropped = Scenario.Resign(commit, alice, c =>
        {
            var index = c.Roster.ToList().FindIndex(b => BundleContent.Parser.ParseFrom(b.Content).ClientId == "carol");
            c.Roster.RemoveAt(index);
            c.Wraps.RemoveAt(index);
        });
        Assert.Equal(CommitRejection.RosterMismatch, Rejection(bob.ProcessCommit(dropped)));

        // Another member's entry replaced by an older (validly signed) key of theirs is not the committer's to change.
        var carolOld = sim["carol"].Identity.MakeBundle(sim.Relay.RoomId, new byte[32].Select((_, i) => (byte)(i + 9)).ToArray(), 7, sim.Clock.UtcNowMs, sim.Clock.UtcNowMs + 100_000);
        var replaced = Scenario.Resign(commit, alice, c =>
        {
            var index = c.Roster.ToList().FindIndex(b => BundleContent.Parser.ParseFrom(b.Content).ClientId == "carol");
            c.Roster[index] = carolOld;
            c.Wraps[index].RecipientKeyId = 7;
        });
        Assert.Equal(CommitRejection.RosterMismatch, Rejection(bob.ProcessCommit(replaced)));

        Assert.IsType<CommitAccepted>(bob.ProcessCommit(commit));
    }

    private static void SortRoster(CommitContent content)
    {
        var sorted = content.Roster.OrderBy(b => BundleContent.Parser.ParseFrom(b.Content).ClientId, StringComparer.Ordinal).ToList();
        content.Roster.Clear();
        content.Roster.AddRange(sorted);
    }

    public static TheoryData<string, CommitRejection> StructuralFaults => new()
    {
        { "room", CommitRejection.WrongRoom },
        { "epoch gap", CommitRejection.EpochGap },
        { "previous transcript hash", CommitRejection.TranscriptMismatch },
        { "suite", CommitRejection.UnsupportedSuite },
        { "operations out of order", CommitRejection.MalformedOperations },
        { "roster unsorted", CommitRejection.MalformedRoster },
        { "wraps reordered", CommitRejection.MalformedWraps },
        { "wrap missing", CommitRejection.MalformedWraps },
        { "wrap sealed secret", CommitRejection.WrapFailed },
        { "wrap ephemeral all zero", CommitRejection.WrapFailed },
        { "wrap from another commit", CommitRejection.WrapFailed },
        { "remove a non-member", CommitRejection.RosterMismatch },
    };

    [Theory]
    [MemberData(nameof(StructuralFaults))]
    public void A_member_signed_commit_with_a_structural_fault_is_rejected(string fault, CommitRejection expected)
    {
        using var sim = Scenario.Group(24, "alice", "bob", "carol");
        var commit = Scenario.RekeyCommit(sim, "alice");
        var other = Scenario.Content(Scenario.RekeyCommit(sim, "carol"));
        var bobIndex = 1;
        var faulty = Scenario.Resign(commit, sim["alice"].Identity.IdentityKey, c =>
        {
            switch (fault)
            {
                case "room": c.RoomId = "room-2"; break;
                case "epoch gap": c.Epoch += 1; break;
                case "previous transcript hash": c.PreviousTranscriptHash = ByteString.CopyFrom(new byte[32]); break;
                case "suite":
                    c.Suite = c.Suite == CipherSuite.Aes256GcmX25519Ed25519Sha256 ? CipherSuite.Chacha20Poly1305X25519Ed25519Sha256 : CipherSuite.Aes256GcmX25519Ed25519Sha256;
                    break;
                case "operations out of order":
                    c.Operations.Add(new Operation { Remove = new Remove { ClientId = "carol", Reason = RemoveReason.Removed } });
                    c.Operations.Add(new Operation { Remove = new Remove { ClientId = "bob", Reason = RemoveReason.Removed } });
                    break;
                case "roster unsorted":
                    (c.Roster[0], c.Roster[2]) = (c.Roster[2], c.Roster[0]);
                    (c.Wraps[0], c.Wraps[2]) = (c.Wraps[2], c.Wraps[0]);
                    break;
                case "wraps reordered": (c.Wraps[0], c.Wraps[1]) = (c.Wraps[1], c.Wraps[0]); break;
                case "wrap missing": c.Wraps.RemoveAt(2); break;
                case "wrap sealed secret":
                    var sealedSecret = c.Wraps[bobIndex].SealedSecret.ToByteArray();
                    sealedSecret[0] ^= 1;
                    c.Wraps[bobIndex].SealedSecret = ByteString.CopyFrom(sealedSecret);
                    break;
                case "wrap ephemeral all zero": c.Wraps[bobIndex].EphemeralKey = ByteString.CopyFrom(new byte[32]); break;
                case "wrap from another commit": c.Wraps[bobIndex] = other.Wraps[bobIndex]; break;
                case "remove a non-member": c.Operations.Add(new Operation { Remove = new Remove { ClientId = "mallory", Reason = RemoveReason.Removed } }); break;
                default: throw new ArgumentOutOfRangeException(nameof(fault));
            }
        });

        Assert.Equal("bob", Scenario.Content(commit).Wraps[bobIndex].RecipientId);
        var bob = sim["bob"].Session!;
        Assert.Equal(expected, Rejection(bob.ProcessCommit(faulty)));
        Assert.IsType<CommitAccepted>(bob.ProcessCommit(commit));
    }

    [Theory]
    [InlineData("epoch gap")]
    [InlineData("wrong transcript")]
    [InlineData("stale epoch")]
    public void An_unsigned_or_wrongly_signed_commit_causes_nothing_but_a_bad_signature_report(string fault)
    {
        using var sim = Scenario.Group(30, "alice", "bob", "carol");
        var bob = sim["bob"].Session!;
        var genuine = Scenario.RekeyCommit(sim, "alice");
        var (epoch, code, transcript) = (bob.Epoch, bob.EpochCode, Convert.ToHexString(bob.TranscriptHash));
        using var outsider = LocalIdentity.Generate("alice", new SeededRandomSource(301));

        // Alice's id, someone else's key: the signature is what is checked first (v1 checked epoch and transcript first,
        // and its client rejoined on a forged frame).
        var forged = Scenario.Resign(genuine, outsider.IdentityKey, c =>
        {
            switch (fault)
            {
                case "epoch gap": c.Epoch += 3; break;
                case "wrong transcript": c.PreviousTranscriptHash = ByteString.CopyFrom(new byte[32]); break;
                default: c.Epoch -= 1; break;
            }
        });
        var unsigned = forged.Clone();
        unsigned.Signature = ByteString.CopyFrom(new byte[64]);

        Assert.Equal(CommitRejection.BadSignature, Rejection(bob.ProcessCommit(forged)));
        Assert.Equal(CommitRejection.BadSignature, Rejection(bob.ProcessCommit(unsigned)));
        Assert.Equal((epoch, code, transcript), (bob.Epoch, bob.EpochCode, Convert.ToHexString(bob.TranscriptHash)));
        Assert.IsType<CommitAccepted>(bob.ProcessCommit(genuine));
    }

    [Fact]
    public void The_epoch_code_carries_25_digits_in_five_groups()
    {
        using var sim = Scenario.Group(31, "alice", "bob");
        var code = sim["bob"].Session!.EpochCode!;

        // Five groups of five digits, each a 40-bit HKDF chunk modulo 100000: 5 × log2(100000) ≈ 83 bits, out of reach of
        // an insider grinding commits until a fork shows the same code (v1: 15 digits, about 50 bits).
        Assert.Matches(@"^\d{5} \d{5} \d{5} \d{5} \d{5}$", code);
        Assert.Equal(KeySchedule.EpochCodeDigits, code.Count(char.IsAsciiDigit));
        Assert.Equal(sim["alice"].Session!.EpochCode, code);
    }

    [Fact]
    public void Duplicates_and_losers_of_a_race_are_reported_not_applied()
    {
        using var sim = Scenario.Group(25, "alice", "bob", "carol");
        var bob = sim["bob"].Session!;
        var fromAlice = Scenario.RekeyCommit(sim, "alice");
        var fromCarol = Scenario.RekeyCommit(sim, "carol");
        var before = bob.Epoch;

        Assert.IsType<CommitAccepted>(bob.ProcessCommit(fromAlice));
        Assert.IsType<CommitAlreadyApplied>(bob.ProcessCommit(fromAlice));
        Assert.IsType<CommitStale>(bob.ProcessCommit(fromCarol));
        Assert.Equal(before + 1, bob.Epoch);

        // Carol lost the race: her own pending commit is dropped when the winner arrives.
        var carolOutcome = Assert.IsType<CommitAccepted>(sim["carol"].Session!.ProcessCommit(fromAlice));
        Assert.True(carolOutcome.OwnCommitSuperseded);
        Assert.Null(sim["carol"].Session!.PendingCommit);
        Assert.Equal(bob.EpochCode, sim["carol"].Session!.EpochCode);
        Assert.False(sim["carol"].Session!.AbandonPendingCommit(before + 1));
    }

    [Fact]
    public void A_roster_fork_by_the_relay_shows_as_different_epoch_codes_and_the_branches_stay_apart()
    {
        using var sim = Scenario.Group(26, "alice", "bob", "carol", "dave");
        var left = Scenario.RekeyCommit(sim, "alice");
        var right = Scenario.RekeyCommit(sim, "carol");
        var (alice, bob, carol, dave) = (sim["alice"].Session!, sim["bob"].Session!, sim["carol"].Session!, sim["dave"].Session!);

        // The relay shows one commit to alice and bob and the other to carol and dave.
        Assert.IsType<CommitAccepted>(alice.ProcessCommit(left));
        Assert.IsType<CommitAccepted>(bob.ProcessCommit(left));
        Assert.IsType<CommitAccepted>(carol.ProcessCommit(right));
        Assert.IsType<CommitAccepted>(dave.ProcessCommit(right));

        Assert.Equal(alice.Epoch, carol.Epoch);
        Assert.Equal(alice.EpochCode, bob.EpochCode);
        Assert.Equal(carol.EpochCode, dave.EpochCode);
        Assert.NotEqual(alice.EpochCode, carol.EpochCode);
        Assert.False(alice.TranscriptHash.AsSpan().SequenceEqual(carol.TranscriptHash));

        // Messages do not cross the fork, and neither do later commits.
        var message = Assert.IsType<MessageSealed>(alice.Encrypt("left side")).Envelope;
        Assert.IsType<MessageDelivered>(bob.Decrypt(message));
        Assert.Equal(DecryptRejection.OtherHistory, Assert.IsType<MessageRejected>(carol.Decrypt(message)).Reason);
        var next = Assert.IsType<CommitCreated>(bob.CreateRekeyCommit()).Commit;
        Assert.Equal(CommitRejection.TranscriptMismatch, Rejection(dave.ProcessCommit(next)));
    }

    [Fact]
    public void A_commit_in_our_name_that_we_did_not_make_reveals_a_stolen_identity_key()
    {
        using var sim = Scenario.Group(29, "alice", "bob");
        var bob = sim["bob"];
        var real = Scenario.RekeyCommit(sim, "alice");
        // Someone holding bob's identity key commits in his name while bob's session has no such pending commit.
        var impostor = Scenario.Resign(real, bob.Identity.IdentityKey, c => c.CommitterId = "bob");
        Assert.Equal(CommitRejection.OwnIdentityMismatch, Rejection(bob.Session!.ProcessCommit(impostor)));
    }

    [Fact]
    public void Malformed_commit_bytes_are_rejected()
    {
        using var sim = Scenario.Group(27, "alice", "bob");
        var garbage = new SignedCommit { Content = ByteString.CopyFrom(0xFF, 0xFF, 0xFF), Signature = ByteString.CopyFrom(new byte[64]) };
        Assert.Equal(CommitRejection.Malformed, Rejection(sim["bob"].Session!.ProcessCommit(garbage)));
    }

    [Fact]
    public void A_joiner_accepts_only_a_commit_that_admits_its_own_key()
    {
        using var sim = Scenario.Group(28, "alice", "bob");
        var dave = sim.Client("dave");
        dave.Join(sim.Relay);
        var daveSession = dave.Session!;

        // A commit that does not mention dave is none of its business.
        Assert.IsType<CommitNotForUs>(daveSession.ProcessCommit(Scenario.RekeyCommit(sim, "bob")));
        sim["bob"].Session!.AbandonPendingCommit(sim["bob"].Session!.Epoch + 1);

        sim.RunUntilQuiet();
        var accepted = dave.CommitOutcomes.OfType<CommitAccepted>().Single();
        Assert.True(accepted.JoinedGroup);
        Assert.Equal(["alice", "bob"], accepted.FirstSeen.Select(m => m.ClientId).Order());
        Assert.Equal(sim["alice"].Session!.EpochCode, daveSession.EpochCode);
    }
}
