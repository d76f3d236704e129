using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;
using SecureChat.Testing.Simulation;

namespace SecureChat.Protocol.Tests;

/// <summary>
/// Bundles bound to their use (PROTOCOL.md §6, issue items 3, 7a and 7d): a bundle names its room and serves one
/// admission; every roster entry's membership key is checked when first seen; an expired bundle is never used.
/// </summary>
public sealed class BundleUseTests
{
    private const long Day = 24L * 3_600_000;

    [Fact]
    public void A_bundle_made_for_another_room_is_refused_in_a_roster_and_left_out_by_an_honest_committer()
    {
        using var sim = Scenario.Group(81, "alice", "bob");
        using var elsewhere = new GroupSimulation(82, roomId: "room-2");
        elsewhere.JoinAll("carol");
        var carolsOtherBundle = elsewhere["carol"].Session!.Roster.Single().Bundle;

        // A relay replaying carol's room-2 bundle into room-1: the committer leaves it out ...
        var request = new CommitRequest { NewEpoch = sim["alice"].Session!.Epoch + 1 };
        request.Adds.Add(new Add { Bundle = carolsOtherBundle });
        Assert.Equal(CommitRefusal.NothingToCommit, Assert.IsType<CommitNotCreated>(sim["alice"].Session!.CreateCommit(request)).Reason);

        // ... and a member that finds it in a commit refuses the commit.
        var phantom = Scenario.HandMadeCommit(sim, "alice", _ => new byte[32], new byte[32], c =>
        {
            c.Operations.Add(new Operation { Add = new Add { Bundle = carolsOtherBundle } });
            c.Roster.Add(carolsOtherBundle);
        });
        var rejected = Assert.IsType<CommitRejected>(sim["bob"].Session!.ProcessCommit(phantom));
        Assert.Equal((CommitRejection.InvalidBundle, RosterViolation.InvalidBundle), (rejected.Reason, rejected.Violation));
    }

    [Fact]
    public void A_bundle_serves_one_admission()
    {
        using var sim = Scenario.Group(83, "alice", "bob", "carol");
        var alice = sim["alice"].Session!;
        var carolsEntry = alice.Roster.Single(m => m.ClientId == "carol").Bundle;

        // Carol leaves and is removed; the relay asks alice to add carol's old bundle (the one already admitted) again.
        sim["carol"].Leave(sim.Relay);
        sim.RunUntilQuiet();
        Assert.DoesNotContain(alice.Roster, m => m.ClientId == "carol");
        var readd = new CommitRequest { NewEpoch = alice.Epoch + 1 };
        readd.Adds.Add(new Add { Bundle = carolsEntry });
        Assert.Equal(CommitRefusal.NothingToCommit, Assert.IsType<CommitNotCreated>(alice.CreateCommit(readd)).Reason);

        // A committer that adds it anyway is refused by the members, who remember every bundle the room admitted.
        var reused = Scenario.HandMadeCommit(sim, "alice", _ => new byte[32], new byte[32], c =>
        {
            c.Operations.Add(new Operation { Add = new Add { Bundle = carolsEntry } });
            var sorted = c.Roster.Append(carolsEntry).OrderBy(b => BundleContent.Parser.ParseFrom(b.Content).ClientId, StringComparer.Ordinal).ToList();
            c.Roster.Clear();
            c.Roster.AddRange(sorted);
        });
        var rejected = Assert.IsType<CommitRejected>(sim["bob"].Session!.ProcessCommit(reused));
        Assert.Equal((CommitRejection.BundleReused, RosterViolation.BundleReused), (rejected.Reason, rejected.Violation));
    }

    [Fact]
    public void A_low_order_membership_key_in_a_roster_is_refused_so_no_honest_commit_ever_has_to_seal_to_it()
    {
        using var sim = Scenario.Group(84, "alice", "bob", "carol");
        var mallory = sim["carol"];

        // Carol (malicious) refreshes her own entry to a low-order point, a bundle her identity key signs.
        var poisoned = mallory.Identity.MakeBundle(sim.Relay.RoomId, new byte[32], 2, sim.Clock.UtcNowMs, sim.Clock.UtcNowMs + Day);
        var commit = Scenario.HandMadeCommit(sim, "carol", _ => new byte[32], new byte[32], c =>
        {
            var index = c.Roster.ToList().FindIndex(b => BundleContent.Parser.ParseFrom(b.Content).ClientId == "carol");
            c.Roster[index] = poisoned;
        });

        foreach (var member in new[] { "alice", "bob" })
        {
            var rejected = Assert.IsType<CommitRejected>(sim[member].Session!.ProcessCommit(commit));
            Assert.Equal((CommitRejection.InvalidBundle, RosterViolation.InvalidBundle), (rejected.Reason, rejected.Violation));
        }

        // The honest members' next commit works (in v1 the poisoned entry was accepted and every later commit threw).
        sim["alice"].Rekey(sim.Relay);
        sim.RunUntilQuiet();
        Assert.Equal(sim["alice"].Session!.EpochCode, sim["bob"].Session!.EpochCode);
    }

    [Fact]
    public void A_fresh_bundle_lives_30_days_and_its_member_asks_for_a_refresh_at_half_life()
    {
        using var sim = Scenario.Group(85, "alice", "bob");
        var bob = sim["bob"].Session!;
        var own = bob.Roster.Single(m => m.ClientId == "bob");
        Assert.Equal(30 * (ulong)Day, own.ExpiresAtMs - own.CreatedAtMs);

        sim.Clock.Advance(15 * Day - 1);
        Assert.False(bob.NeedsRekey);
        sim.Clock.Advance(1);
        Assert.True(bob.NeedsRekey); // idle or not: its entry must not expire

        sim["bob"].Rekey(sim.Relay);
        sim.RunUntilQuiet();
        var refreshed = sim["alice"].Session!.Roster.Single(m => m.ClientId == "bob");
        Assert.Equal((ulong)sim.Clock.UtcNowMs, refreshed.CreatedAtMs);
        Assert.False(bob.NeedsRekey);
    }

    [Fact]
    public void An_expired_entry_is_never_kept_an_honest_committer_removes_it_and_members_refuse_a_commit_that_keeps_it()
    {
        using var sim = Scenario.Group(86, "alice", "bob", "carol");
        sim.Clock.Advance(30 * Day);

        // Carol's entry has expired (she was silent); a commit that keeps it is refused by every member ...
        var keeping = Scenario.HandMadeCommit(sim, "alice", _ => new byte[32], new byte[32]);
        var rejected = Assert.IsType<CommitRejected>(sim["bob"].Session!.ProcessCommit(keeping));
        Assert.Equal((CommitRejection.InvalidBundle, RosterViolation.EntryExpired), (rejected.Reason, rejected.Violation));

        // ... and an honest committer removes it with reason EXPIRED, refreshing its own entry as it commits.
        var created = Assert.IsType<CommitCreated>(sim["alice"].Rekey(sim.Relay));
        var removes = Scenario.Content(created.Commit).Operations.Select(o => o.Remove).ToList();
        Assert.Equal([("bob", RemoveReason.Expired), ("carol", RemoveReason.Expired)], removes.Select(r => (r.ClientId, r.Reason)));
        sim.RunUntilQuiet();
        var removal = sim["bob"].CommitOutcomes.OfType<CommitAccepted>().First(a => a.RemovedFromGroup);
        Assert.Equal(RemoveReason.Expired, removal.OwnRemovalReason);
        Assert.Equal([new Removal("bob", RemoveReason.Expired), new Removal("carol", RemoveReason.Expired)], removal.Removals);
    }

    [Fact]
    public void An_expired_remove_of_a_live_bundle_is_refused()
    {
        using var sim = Scenario.Group(87, "alice", "bob", "carol");
        var commit = Scenario.HandMadeCommit(sim, "alice", _ => new byte[32], new byte[32], c =>
        {
            c.Operations.Add(new Operation { Remove = new Remove { ClientId = "carol", Reason = RemoveReason.Expired } });
            var index = c.Roster.ToList().FindIndex(b => BundleContent.Parser.ParseFrom(b.Content).ClientId == "carol");
            c.Roster.RemoveAt(index);
        });

        var rejected = Assert.IsType<CommitRejected>(sim["bob"].Session!.ProcessCommit(commit));
        Assert.Equal((CommitRejection.InvalidRemove, RosterViolation.NotExpired), (rejected.Reason, rejected.Violation));
    }

    [Fact]
    public void A_bundle_claiming_more_than_90_days_is_no_bundle()
    {
        using var sim = Scenario.Group(88, "alice", "bob");
        var now = sim.Clock.UtcNowMs;
        var forever = sim["bob"].Identity.MakeBundle(sim.Relay.RoomId, sim["bob"].Session!.Roster[1].MembershipKey, 9, now, now + Bundles.MaxLifetimeMs + 1);
        Assert.Equal(BundleRejection.BadLifetime, Bundles.Verify(forever, sim.Relay.RoomId, now, out _));
        var backwards = sim["bob"].Identity.MakeBundle(sim.Relay.RoomId, sim["bob"].Session!.Roster[1].MembershipKey, 9, now, now - 1);
        Assert.Equal(BundleRejection.BadLifetime, Bundles.Verify(backwards, sim.Relay.RoomId, now, out _));
    }
}
