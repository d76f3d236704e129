using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Testing.Simulation;

namespace SecureChat.Protocol.Tests;

/// <summary>Removed members and late joiners keep their whole session state and still read nothing they should not.</summary>
public sealed class MembershipTests
{
    [Fact]
    public void An_honest_committer_removes_as_absent_only_a_member_it_has_not_heard_from_for_longer_than_the_absence_limit()
    {
        using var sim = Scenario.Group(47, "alice", "bob", "carol", "dave");
        var alice = sim["alice"].Session!;
        var limit = (long)alice.Policy!.AbsenceLimitMs;

        // Carol speaks just inside the limit and dave commits; bob is silent throughout.
        sim.Clock.Advance(limit - 1_000);
        Assert.IsType<MessageDelivered>(alice.Decrypt(Scenario.Seal(sim, "carol", "still here")));
        sim["dave"].Rekey(sim.Relay);
        sim.RunUntilQuiet();
        sim.Clock.Advance(2_000);
        Assert.Equal((true, false, false), (alice.SeesAbsent("bob"), alice.SeesAbsent("carol"), alice.SeesAbsent("dave")));

        var request = new CommitRequest { NewEpoch = alice.Epoch + 1 };
        request.Removes.AddRange(new[] { "bob", "carol", "dave" }.Select(id => new Remove { ClientId = id, Reason = RemoveReason.Absent }));
        var created = Assert.IsType<CommitCreated>(alice.CreateCommit(request));

        Assert.Equal(["carol", "dave"], created.SkippedRemoves);
        var removes = CommitContent.Parser.ParseFrom(created.Commit.Content).Operations.Select(o => o.Remove).Where(r => r is not null);
        Assert.Equal([("bob", RemoveReason.Absent)], removes.Select(r => (r.ClientId, r.Reason)));
        Assert.False(alice.SeesAbsent("alice"));
    }

    [Fact]
    public void A_removed_member_keeping_its_whole_state_reads_nothing_after_removal()
    {
        using var sim = Scenario.Group(31, "alice", "bob", "carol");
        var carol = sim["carol"];
        var carolSession = carol.Session!;
        var removedAt = carolSession.Epoch;

        // Carol sees the group's traffic (a colluding relay gives her everything) but disconnects.
        var tap = new List<Envelope>();
        carol.Leave(sim.Relay);
        sim.RunUntilQuiet();
        Assert.Equal(["alice", "bob"], sim["alice"].Session!.Roster.Select(m => m.ClientId));
        tap.AddRange(CommitsSince(sim, "alice", removedAt));
        sim["alice"].Rekey(sim.Relay);
        sim.RunUntilQuiet();
        tap.AddRange(CommitsSince(sim, "alice", removedAt + 1));
        tap.Add(Scenario.Seal(sim, "alice", "after carol left"));
        tap.Add(Scenario.Seal(sim, "bob", "carol must not read this"));

        // The removal commit carries no wrap for her.
        var removal = Scenario.Content(tap[0].Commit);
        Assert.Contains(removal.Operations, o => o.Remove?.ClientId == "carol");
        Assert.DoesNotContain(removal.Wraps, w => w.RecipientId == "carol");

        var outcomes = tap.Select(e => e.Type == MessageType.Commit ? (object)carolSession.ProcessCommit(e.Commit) : carolSession.Decrypt(e)).ToList();
        Assert.True(Assert.IsType<CommitAccepted>(outcomes[0]).RemovedFromGroup);
        Assert.Equal(GroupStatus.Removed, carolSession.Status);
        Assert.Equal(CommitRejection.NotAMember, Assert.IsType<CommitRejected>(outcomes[1]).Reason);
        Assert.All(outcomes.Skip(2), o => Assert.Equal(DecryptRejection.NotAMember, Assert.IsType<MessageRejected>(o).Reason));
        Assert.Equal(SendRefusal.NotAMember, Assert.IsType<SendRefused>(carolSession.Encrypt("still here?")).Reason);
        Assert.IsType<CommitNotCreated>(carolSession.CreateRekeyCommit());
    }

    [Fact]
    public void A_late_joiner_reads_nothing_from_before_its_first_epoch()
    {
        using var sim = Scenario.Group(32, "alice", "bob");
        var history = new List<Envelope>
        {
            Scenario.Seal(sim, "alice", "before dave 1"),
            Scenario.Seal(sim, "bob", "before dave 2"),
        };
        var commitsBefore = CommitsSince(sim, "alice", 0).ToList();

        sim.JoinAll("dave");
        var dave = sim["dave"].Session!;
        Assert.Equal(GroupStatus.Active, dave.Status);
        Assert.True(dave.FirstEpoch > history[0].Epoch);

        foreach (var envelope in history)
        {
            Assert.Equal(DecryptRejection.EpochBeforeJoin, Assert.IsType<MessageRejected>(dave.Decrypt(envelope)).Reason);
        }

        foreach (var commit in commitsBefore)
        {
            Assert.IsType<CommitStale>(dave.ProcessCommit(commit.Commit));
        }

        // What is sent from now on, dave reads.
        var now = Scenario.Seal(sim, "alice", "welcome dave");
        Assert.Equal("welcome dave", Assert.IsType<MessageDelivered>(dave.Decrypt(now)).Text);
    }

    [Fact]
    public void A_member_that_reconnects_with_a_new_key_is_re_added_and_its_old_session_is_shut_out()
    {
        using var sim = Scenario.Group(33, "alice", "bob");
        var bob = sim["bob"];
        var oldSession = bob.Session!;
        bob.Leave(sim.Relay);
        bob.Join(sim.Relay);
        sim.RunUntilQuiet();

        Assert.NotSame(oldSession, bob.Session);
        Assert.Equal(GroupStatus.Active, bob.Session!.Status);
        var message = Scenario.Seal(sim, "alice", "for the new bob");
        Assert.IsType<MessageDelivered>(bob.Session.Decrypt(message));
        Assert.IsNotType<MessageDelivered>(oldSession.Decrypt(message));
    }

    [Fact]
    public void When_everyone_leaves_the_next_joiner_creates_the_room_at_a_never_used_epoch()
    {
        using var sim = Scenario.Group(34, "alice", "bob");
        var lastEpoch = sim["alice"].Session!.Epoch;
        sim["alice"].Leave(sim.Relay);
        sim["bob"].Leave(sim.Relay);
        sim.RunUntilQuiet();

        sim.JoinAll("carol");
        var carol = sim["carol"].Session!;
        Assert.Equal(lastEpoch + 1, carol.Epoch);
        Assert.Equal(["carol"], carol.Roster.Select(m => m.ClientId));
    }

    [Fact]
    public void An_unresponsive_committer_is_replaced_after_the_deadline()
    {
        using var sim = Scenario.Group(35, "alice", "bob", "carol");
        sim["alice"].AnswersCommitRequests = false;
        sim.Join("dave");
        sim.RunUntilQuiet();
        Assert.Equal(GroupStatus.Joining, sim["dave"].Session!.Status);

        sim.Clock.Advance(sim.Relay.CommitDeadlineMs);
        sim.Relay.Tick();
        sim.RunUntilQuiet();

        Assert.Equal(GroupStatus.Active, sim["dave"].Session!.Status);
        Assert.Equal("bob", sim["dave"].CommitOutcomes.OfType<CommitAccepted>().Single().CommitterId);
    }

    [Fact]
    public void Sending_is_refused_before_joining_and_always_uses_the_current_epoch()
    {
        using var sim = Scenario.Group(36, "alice", "bob");
        var joining = sim.Client("carol");
        joining.Join(sim.Relay);
        Assert.Equal(SendRefusal.NotJoined, Assert.IsType<SendRefused>(joining.Session!.Encrypt("too early")).Reason);
        sim.RunUntilQuiet();

        var alice = sim["alice"].Session!;
        var before = Assert.IsType<MessageSealed>(alice.Encrypt("a"));
        sim["bob"].Rekey(sim.Relay);
        sim.RunUntilQuiet();
        var after = Assert.IsType<MessageSealed>(alice.Encrypt("b"));
        Assert.Equal(before.Epoch + 1, after.Epoch);
        Assert.Equal(1UL, after.Generation); // generation 0 was alice's summary of what she sent before (§10.4)
    }

    private static IEnumerable<Envelope> CommitsSince(GroupSimulation sim, string observer, ulong epoch) =>
        sim[observer].CommitLog.Where(e => e.Epoch > epoch);
}
