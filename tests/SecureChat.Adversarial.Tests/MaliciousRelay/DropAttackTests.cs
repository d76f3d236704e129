using SecureChat.Client.Session;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Core.Crypto;
using SecureChat.Testing.Simulation;

namespace SecureChat.Adversarial.Tests.MaliciousRelay;

/// <summary>
/// A malicious relay withholding APPLICATION messages (PROTOCOL.md §11.1): whatever it withholds, the victim's room loop
/// reports it (<see cref="ServerWithheldMessages"/>) once the gap timeout passes, and it cannot fake a sender's count.
/// </summary>
public sealed class DropAttackTests
{
    private static readonly string[] Members = ["alice", "bob", "carol"];

    [Fact]
    public void Withhold_one_message_and_the_victim_is_told_once_when_the_gap_times_out()
    {
        using var relay = new AttackingRelay(401, Members);
        var epoch = relay.Session("bob").Epoch;
        WithholdFromBob(relay, e => e.SenderId == "alice" && e.Sequence == 1);
        relay.Send("alice", "one");
        relay.Send("alice", "two, withheld");
        relay.Send("alice", "three");

        TickAfterTimeout(relay, "bob");
        TickAfterTimeout(relay, "bob");

        AssertReported(relay, "alice", epoch, 1);
        Assert.Empty(Reports(relay, "carol")); // nothing was withheld from carol
    }

    [Fact]
    public void Withhold_the_last_message_of_an_epoch_and_the_senders_summary_after_the_next_commit_reveals_it()
    {
        using var relay = new AttackingRelay(402, Members);
        var epoch = relay.Session("bob").Epoch;
        WithholdFromBob(relay, e => e.SenderId == "alice" && e.Sequence == 1);
        relay.Send("alice", "one");
        relay.Send("alice", "two, the last of the epoch, withheld");
        TickAfterTimeout(relay, "bob");
        Assert.Empty(Reports(relay, "bob")); // no later message: only alice's count can show it

        relay.Rekey("carol"); // alice's room sends her summary for the old epoch as the new one starts
        TickAfterTimeout(relay, "bob");

        AssertReported(relay, "alice", epoch, 1);
    }

    [Fact]
    public void Withhold_every_message_of_one_sender_in_an_epoch_and_all_of_them_are_reported()
    {
        using var relay = new AttackingRelay(403, Members);
        var epoch = relay.Session("bob").Epoch;
        WithholdFromBob(relay, e => e.SenderId == "alice" && e.Epoch == epoch);
        for (var i = 0; i < 4; i++)
        {
            relay.Send("alice", $"withheld {i}");
        }

        relay.Send("carol", "carol gets through");
        relay.Rekey("carol");
        TickAfterTimeout(relay, "bob");

        Assert.Equal([new GenerationRange(0, 4)], AssertReported(relay, "alice", epoch, 4).Generations);
        Assert.DoesNotContain(relay["bob"].Delivered, d => d.Message.SenderId == "alice");
    }

    [Fact]
    public void Withhold_the_committers_last_message_and_the_count_in_its_commit_reveals_it()
    {
        using var relay = new AttackingRelay(404, Members);
        var epoch = relay.Session("bob").Epoch;
        WithholdFromBob(relay, e => e.SenderId == "carol");
        relay.Send("carol", "withheld");
        relay.Attack = null;

        relay.Rekey("carol"); // committer_sent = (epoch, 1); no summary from carol: the commit said it
        TickAfterTimeout(relay, "bob");

        AssertReported(relay, "carol", epoch, 1);
    }

    [Fact]
    public void The_relay_cannot_forge_a_count_an_altered_committer_count_is_a_bad_signature_and_nothing_is_reported()
    {
        using var relay = new AttackingRelay(405, Members);
        using var outsider = IdentityKeyPair.Generate();
        var epoch = relay.Session("bob").Epoch;
        relay.Attack = (to, e) =>
        {
            if (to != "bob" || e.Type != MessageType.Commit)
            {
                return [e];
            }

            // The relay claims carol sent 5 messages (she sent none): it must sign again, and it holds no member's key.
            var forged = e.Clone();
            forged.Commit = Scenario.Resign(e.Commit, outsider, c => c.CommitterSent = new EpochCount { Epoch = epoch, Count = 5 });
            return [forged, e];
        };

        relay.Rekey("carol");
        TickAfterTimeout(relay, "bob");

        Assert.Equal(CommitRejection.BadSignature, AttackingRelay.Rejection(relay["bob"].CommitOutcomes[^2]));
        Assert.IsType<CommitAccepted>(relay.LastCommit("bob"));
        Assert.Empty(Reports(relay, "bob"));
        relay.AssertOneBranch(Members);
    }

    [Fact]
    public void The_relay_cannot_forge_a_count_an_altered_summary_does_not_open_and_nothing_is_reported()
    {
        using var relay = new AttackingRelay(406, Members);
        relay.Send("alice", "one");
        relay.Attack = (to, e) =>
        {
            if (to != "bob" || e.Type != MessageType.Application || e.SenderId != "alice")
            {
                return [e];
            }

            // The summary's count is inside the AEAD plaintext: any change to the ciphertext fails authentication.
            var altered = e.Clone();
            var bytes = altered.Ciphertext.ToByteArray();
            bytes[0] ^= 0x01;
            altered.Ciphertext = Google.Protobuf.ByteString.CopyFrom(bytes);
            return [altered, e];
        };

        relay.Rekey("carol");
        TickAfterTimeout(relay, "bob");

        Assert.Contains(relay["bob"].DecryptOutcomes, o => o is MessageRejected { Reason: DecryptRejection.AuthenticationFailed });
        Assert.Contains(relay["bob"].DecryptOutcomes, o => o is SummaryDelivered { SenderId: "alice" });
        Assert.Empty(Reports(relay, "bob"));
    }

    private static void WithholdFromBob(AttackingRelay relay, Func<Envelope, bool> withhold) =>
        relay.Attack = (to, e) => to == "bob" && e.Type == MessageType.Application && withhold(e) ? [] : [e];

    /// <summary>Bob was told exactly once, of <paramref name="count"/> messages of <paramref name="sender"/> in <paramref name="epoch"/>.</summary>
    private static ServerWithheldMessages AssertReported(AttackingRelay relay, string sender, ulong epoch, ulong count)
    {
        var report = Assert.Single(Reports(relay, "bob"));
        Assert.Equal((sender, epoch, count), (report.SenderId, report.Epoch, report.Count));
        return report;
    }

    private static void TickAfterTimeout(AttackingRelay relay, string member)
    {
        relay.Sim.Clock.Advance(relay.Session(member).Options.GapTimeoutMs);
        relay[member].Tick(relay.Relay);
        relay.Run();
    }

    private static List<ServerWithheldMessages> Reports(AttackingRelay relay, string member) =>
        [.. relay[member].Events.OfType<ServerWithheldMessages>()];
}
