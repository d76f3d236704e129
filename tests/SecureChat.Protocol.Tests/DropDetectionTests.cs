using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Testing.Simulation;

namespace SecureChat.Protocol.Tests;

/// <summary>
/// Drop detection (PROTOCOL.md §11.1): a receiver reports each generation it knows exists and did not get, once — after
/// <see cref="GroupOptions.GapTimeoutMs"/>, or at once when the epoch's keys are erased or a tracking cap is reached.
/// The sessions are driven directly; the test decides which envelope reaches whom.
/// </summary>
public sealed class DropDetectionTests
{
    private static readonly long Timeout = GroupOptions.Default.GapTimeoutMs;

    [Fact]
    public void A_gap_that_fills_within_the_timeout_is_never_reported()
    {
        using var sim = Scenario.Group(301, "alice", "bob", "carol");
        var bob = sim["bob"].Session!;
        var sent = Enumerable.Range(0, 3).Select(i => Scenario.Seal(sim, "alice", $"m{i}")).ToList();

        var outcomes = new List<DecryptOutcome> { bob.Decrypt(sent[0]), bob.Decrypt(sent[2]) };
        sim.Clock.Advance(Timeout - 1);
        outcomes.Add(bob.Decrypt(sent[1]));
        sim.Clock.Advance(Timeout * 10);

        Assert.Empty(bob.Tick());
        Assert.All(outcomes, o => Assert.Empty(o.Withheld));
        Assert.False(Assert.IsType<MessageDelivered>(outcomes[2]).ReportedWithheldBefore);
    }

    [Fact]
    public void A_gap_that_does_not_fill_is_reported_once_after_the_timeout_and_never_again()
    {
        using var sim = Scenario.Group(302, "alice", "bob", "carol");
        var bob = sim["bob"].Session!;
        var sent = Enumerable.Range(0, 4).Select(i => Scenario.Seal(sim, "alice", $"m{i}")).ToList();
        var epoch = bob.Epoch;

        bob.Decrypt(sent[0]);
        bob.Decrypt(sent[3]); // 1 and 2 are known to exist now
        sim.Clock.Advance(Timeout - 1);
        Assert.Empty(bob.Tick());
        sim.Clock.Advance(1);

        var report = Assert.Single(bob.Tick());
        Assert.Equal(("alice", epoch, 2UL), (report.SenderId, report.Epoch, report.Count));
        Assert.Equal([new GenerationRange(1, 3)], report.Generations);

        // Never again: not on later ticks, not on later messages, not when the epoch's keys are erased.
        sim.Clock.Advance(Timeout * 3);
        Assert.Empty(bob.Tick());
        Assert.Empty(bob.Decrypt(Scenario.Seal(sim, "alice", "m4")).Withheld);
        Assert.Empty(ApplyRekey(sim, "carol", "alice", "bob", "carol")["bob"].Withheld);
        sim.Clock.Advance(GroupOptions.Default.PreviousEpochRetentionMs);
        Assert.Empty(bob.Tick());
    }

    [Fact]
    public void The_last_message_of_an_epoch_is_reported_from_the_committers_count()
    {
        using var sim = Scenario.Group(303, "alice", "bob", "carol");
        var bob = sim["bob"].Session!;
        var epoch = bob.Epoch;
        bob.Decrypt(Scenario.Seal(sim, "alice", "m0"));
        Scenario.Seal(sim, "alice", "m1, withheld"); // no later message shows the gap: only alice's count can

        // Alice's commit ends the epoch with committer_sent = (epoch, 2).
        var accepted = ApplyRekey(sim, "alice", "alice", "bob", "carol");
        Assert.Empty(accepted["bob"].Withheld); // stragglers get the timeout

        sim.Clock.Advance(Timeout);
        var report = Assert.Single(bob.Tick());
        Assert.Equal(("alice", epoch), (report.SenderId, report.Epoch));
        Assert.Equal([new GenerationRange(1, 2)], report.Generations);
    }

    [Fact]
    public void A_summary_carries_a_silent_senders_count_and_what_it_says_is_missing_is_reported()
    {
        using var sim = Scenario.Group(304, "alice", "bob", "carol");
        var bob = sim["bob"].Session!;
        var epoch = bob.Epoch;
        bob.Decrypt(Scenario.Seal(sim, "carol", "c0"));
        Scenario.Seal(sim, "carol", "c1, withheld");
        Scenario.Seal(sim, "carol", "c2, withheld");

        ApplyRekey(sim, "alice", "alice", "bob", "carol");
        Assert.Null(sim["bob"].Session!.CreateSummary()); // bob sent nothing in the old epoch: nothing to count
        var summary = Assert.IsType<MessageSealed>(sim["carol"].Session!.CreateSummary());
        Assert.Null(sim["carol"].Session!.CreateSummary()); // one per epoch

        var delivered = Assert.IsType<SummaryDelivered>(bob.Decrypt(summary.Envelope));
        Assert.Equal((epoch, 3UL), (delivered.Previous.Epoch, delivered.Previous.Count));
        sim.Clock.Advance(Timeout);
        var report = Assert.Single(bob.Tick());
        Assert.Equal(("carol", epoch, 2UL), (report.SenderId, report.Epoch, report.Count));
    }

    [Fact]
    public void A_count_that_arrives_before_the_stragglers_waits_the_timeout_for_them()
    {
        using var sim = Scenario.Group(305, "alice", "bob", "carol");
        var bob = sim["bob"].Session!;
        var late = new[] { Scenario.Seal(sim, "alice", "m0"), Scenario.Seal(sim, "alice", "m1") };

        ApplyRekey(sim, "alice", "alice", "bob", "carol"); // count 2 arrives first: nothing received yet
        sim.Clock.Advance(Timeout - 1);
        Assert.Empty(bob.Tick());
        var outcomes = late.Select(bob.Decrypt).ToList();
        sim.Clock.Advance(Timeout * 2);

        Assert.All(outcomes, o => Assert.False(Assert.IsType<MessageDelivered>(o).ReportedWithheldBefore));
        Assert.Empty(bob.Tick());
    }

    [Fact]
    public void A_message_that_arrives_after_its_report_is_delivered_marked_late_and_nothing_is_reported_again()
    {
        using var sim = Scenario.Group(306, "alice", "bob", "carol");
        var bob = sim["bob"].Session!;
        var sent = Enumerable.Range(0, 3).Select(i => Scenario.Seal(sim, "alice", $"m{i}")).ToList();
        bob.Decrypt(sent[0]);
        bob.Decrypt(sent[2]);
        sim.Clock.Advance(Timeout);
        Assert.Single(bob.Tick());

        var late = Assert.IsType<MessageDelivered>(bob.Decrypt(sent[1]));

        Assert.Equal("m1", late.Text);
        Assert.True(late.ReportedWithheldBefore);
        Assert.Empty(late.Withheld);
        sim.Clock.Advance(Timeout);
        Assert.Empty(bob.Tick());
    }

    [Fact]
    public void What_is_still_missing_when_an_epochs_keys_are_erased_is_reported_at_once()
    {
        var options = GroupOptions.Default with { MaxRetainedEpochs = 1 };
        using var sim = Scenario.Group(307, options, "alice", "bob", "carol");
        var bob = sim["bob"].Session!;
        var epoch = bob.Epoch;
        var sent = Enumerable.Range(0, 3).Select(i => Scenario.Seal(sim, "alice", $"m{i}")).ToList();
        bob.Decrypt(sent[2]); // 0 and 1 missing, their timeout still running

        Assert.Empty(ApplyRekey(sim, "carol", "alice", "bob", "carol")["bob"].Withheld); // the epoch is retained
        var second = ApplyRekey(sim, "carol", "alice", "bob", "carol")["bob"]; // ... and now erased

        var report = Assert.Single(second.Withheld);
        Assert.Equal(("alice", epoch), (report.SenderId, report.Epoch));
        Assert.Equal([new GenerationRange(0, 2)], report.Generations);
        Assert.Equal(DecryptRejection.ExpiredEpoch, Assert.IsType<MessageRejected>(bob.Decrypt(sent[0])).Reason);
        sim.Clock.Advance(Timeout);
        Assert.Empty(bob.Tick());
    }

    [Fact]
    public void A_count_of_two_to_the_64_costs_one_range_and_is_reported_as_the_senders_claim()
    {
        using var sim = Scenario.Group(308, "alice", "bob");
        var bob = sim["bob"].Session!;
        var epoch = bob.Epoch;
        Scenario.Seal(sim, "alice", "m0");

        // A member may claim any count for itself (it is its own signed word); it costs the receiver one range.
        var commit = Scenario.HandMadeCommit(sim, "alice", _ => new byte[32], new byte[32],
            c => c.CommitterSent = new EpochCount { Epoch = epoch, Count = ulong.MaxValue });
        Assert.IsType<CommitAccepted>(bob.ProcessCommit(commit));
        sim.Clock.Advance(Timeout);

        var report = Assert.Single(bob.Tick());
        Assert.Equal(ulong.MaxValue, report.Count);
        Assert.Equal([new GenerationRange(0, ulong.MaxValue)], report.Generations);
    }

    [Fact]
    public void Over_the_per_sender_cap_the_lowest_range_is_reported_at_once_and_each_generation_still_only_once()
    {
        var options = GroupOptions.Default with { MaxTrackedGapsPerSender = 3 };
        using var sim = Scenario.Group(309, options, "alice", "bob");
        var bob = sim["bob"].Session!;
        var sent = Enumerable.Range(0, 9).Select(i => Scenario.Seal(sim, "alice", $"m{i}")).ToList();

        var early = new List<MessagesWithheld>();
        foreach (var g in new[] { 0, 2, 4, 6, 8 })
        {
            early.AddRange(bob.Decrypt(sent[g]).Withheld); // gaps 1, 3, 5, 7: the fourth pushes out the first
        }

        Assert.Equal([new GenerationRange(1, 2)], Assert.Single(early).Generations);
        sim.Clock.Advance(Timeout);
        var rest = Assert.Single(bob.Tick());
        Assert.Equal([new GenerationRange(3, 4), new GenerationRange(5, 6), new GenerationRange(7, 8)], rest.Generations);

        // The forgotten generation still opens (its key is cached), unmarked: the tracker no longer knows it.
        Assert.False(Assert.IsType<MessageDelivered>(bob.Decrypt(sent[1])).ReportedWithheldBefore);
    }

    [Fact]
    public void Over_the_per_room_cap_the_oldest_epochs_busiest_sender_loses_its_lowest_range_first()
    {
        var options = GroupOptions.Default with { MaxTrackedGapsPerRoom = 2 };
        using var sim = Scenario.Group(310, options, "alice", "bob", "carol");
        var bob = sim["bob"].Session!;
        var oldEpoch = bob.Epoch;
        bob.Decrypt(Scenario.Seal(sim, "alice", "a0"));
        Scenario.Seal(sim, "alice", "a1");
        bob.Decrypt(Scenario.Seal(sim, "alice", "a2")); // one range (1) in the old epoch
        ApplyRekey(sim, "carol", "alice", "bob", "carol");
        Scenario.Seal(sim, "carol", "c0");
        bob.Decrypt(Scenario.Seal(sim, "carol", "c1")); // two ranges now

        Scenario.Seal(sim, "carol", "c2");
        var outcome = bob.Decrypt(Scenario.Seal(sim, "carol", "c3")); // three: over the cap

        var report = Assert.Single(outcome.Withheld);
        Assert.Equal(("alice", oldEpoch), (report.SenderId, report.Epoch));
        Assert.Equal([new GenerationRange(1, 2)], report.Generations);
    }

    [Fact]
    public void A_summary_is_due_only_after_sending_and_not_when_our_own_commit_carried_the_count()
    {
        using var sim = Scenario.Group(311, "alice", "bob", "carol");
        Scenario.Seal(sim, "alice", "a0");
        Scenario.Seal(sim, "bob", "b0");

        ApplyRekey(sim, "alice", "alice", "bob", "carol");

        Assert.Null(sim["alice"].Session!.CreateSummary()); // committer_sent said it
        Assert.Null(sim["carol"].Session!.CreateSummary()); // sent nothing
        Assert.NotNull(sim["bob"].Session!.CreateSummary());

        // A text first carries the count itself (generation 0): no summary after it.
        Scenario.Seal(sim, "carol", "c0");
        ApplyRekey(sim, "alice", "alice", "bob", "carol");
        var text = Assert.IsType<MessageSealed>(sim["carol"].Session!.Encrypt("first in the new epoch"));
        Assert.Equal(0UL, text.Generation);
        Assert.Null(sim["carol"].Session!.CreateSummary());
    }

    [Fact]
    public void A_summary_alone_does_not_make_the_epoch_due_for_a_timed_rekey()
    {
        using var sim = Scenario.Group(312, "alice", "bob");
        Scenario.Seal(sim, "bob", "b0");
        ApplyRekey(sim, "alice", "alice", "bob");
        var bob = sim["bob"].Session!;
        Assert.NotNull(bob.CreateSummary());

        sim.Clock.Advance(GroupOptions.Default.RekeyAfterMs);
        Assert.False(bob.NeedsRekey);
        Assert.IsType<MessageSealed>(bob.Encrypt("a text"));
        Assert.True(bob.NeedsRekey);
    }

    /// <summary>A rekey by <paramref name="committer"/>, processed by every member in <paramref name="members"/> (the committer's echo too).</summary>
    private static Dictionary<string, CommitOutcome> ApplyRekey(GroupSimulation sim, string committer, params string[] members)
    {
        var commit = Scenario.RekeyCommit(sim, committer);
        return members.ToDictionary(m => m, m => Assert.IsType<CommitAccepted>(sim[m].Session!.ProcessCommit(commit)) as CommitOutcome);
    }
}
