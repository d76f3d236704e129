using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Testing.Simulation;

namespace SecureChat.Protocol.Tests;

/// <summary>
/// INVITE rooms at the engine (PROTOCOL.md §8.3): only a member's signed invite naming an id lets a committer add it,
/// each invite admits once, and members refuse any other add. The relay decides nothing here.
/// </summary>
public sealed class InviteRoomTests
{
    private static readonly GroupOptions InviteOnly = GroupOptions.Default with { CreatePolicy = RoomPolicies.Of(Admission.Invite) };

    [Fact]
    public void The_creator_sets_the_policy_and_members_accept_only_invited_adds()
    {
        using var sim = Scenario.Group(91, InviteOnly, "alice");
        var alice = sim["alice"].Session!;
        Assert.Equal(Admission.Invite, alice.Policy!.Admission);
        var bob = sim.Client("bob");
        bob.Join(sim.Relay);

        // The relay's request alone (no invite) gets bob nowhere: the committer leaves him out.
        var uninvited = new CommitRequest { NewEpoch = alice.Epoch + 1 };
        uninvited.Adds.Add(new Add { Bundle = bob.Session!.JoinBundle });
        var refused = Assert.IsType<CommitNotCreated>(alice.CreateCommit(uninvited));
        Assert.Equal(CommitRefusal.NothingToCommit, refused.Reason);

        // With alice's invite for bob he is admitted.
        var invited = new CommitRequest { NewEpoch = alice.Epoch + 1 };
        invited.Adds.Add(new Add { Bundle = bob.Session.JoinBundle, Invite = alice.CreateInvite("bob") });
        var created = Assert.IsType<CommitCreated>(alice.CreateCommit(invited));
        Assert.IsType<CommitAccepted>(alice.ProcessCommit(created.Commit));
        Assert.True(Assert.IsType<CommitAccepted>(bob.Session.ProcessCommit(created.Commit)).JoinedGroup);
        Assert.Equal(Admission.Invite, bob.Session.Policy!.Admission);
    }

    [Fact]
    public void A_member_refuses_an_add_without_a_valid_unused_invite_from_a_member()
    {
        using var sim = Scenario.Group(92, InviteOnly, "alice");
        var alice = sim["alice"].Session!;
        var bob = sim.Client("bob");
        bob.Join(sim.Relay);
        var invite = alice.CreateInvite("bob");
        var request = new CommitRequest { NewEpoch = alice.Epoch + 1 };
        request.Adds.Add(new Add { Bundle = bob.Session!.JoinBundle, Invite = invite });
        var admit = Assert.IsType<CommitCreated>(alice.CreateCommit(request)).Commit;
        Assert.IsType<CommitAccepted>(alice.ProcessCommit(admit));
        Assert.IsType<CommitAccepted>(bob.Session.ProcessCommit(admit));
        var carol = sim.Client("carol");
        carol.Join(sim.Relay);
        var carolBundle = carol.Session!.JoinBundle;
        var checker = bob.Session;

        Assert.Equal(RosterViolation.InviteMissing, Violation(checker.ProcessCommit(AddCarol(sim, null))));
        Assert.Equal(RosterViolation.InviteInvalid, Violation(checker.ProcessCommit(AddCarol(sim, invite)))); // bob's, not carol's
        Assert.Equal(RosterViolation.InviteInvalid, Violation(checker.ProcessCommit(AddCarol(sim, alice.CreateInvite("carol", 60_000), createdEarlier: true))));

        // An invite admits once: carol comes in with hers, is removed, and the same invite cannot bring her back.
        var carolsInvite = alice.CreateInvite("carol");
        Commit(sim, new CommitRequest { NewEpoch = alice.Epoch + 1, Adds = { new Add { Bundle = carolBundle, Invite = carolsInvite } } });
        Commit(sim, alice.CreateRemoveCommit(["carol"]));
        carol.Join(sim.Relay);
        carolBundle = carol.Session!.JoinBundle;
        Assert.Equal(RosterViolation.InviteUsed, Violation(checker.ProcessCommit(AddCarol(sim, carolsInvite))));

        SignedCommit AddCarol(GroupSimulation s, SignedInvite? with, bool createdEarlier = false) =>
            Scenario.HandMadeCommit(s, "alice", _ => new byte[32], new byte[32], c =>
            {
                c.Operations.Add(new Operation { Add = new Add { Bundle = carolBundle, Invite = with } });
                c.Roster.Add(carolBundle);
                if (createdEarlier)
                {
                    c.CreatedAtMs += 120_000; // after the invite's one-minute life
                }
            });
    }

    [Fact]
    public void Any_member_changes_the_policy_by_a_commit_everyone_sees_and_removes_anyone_unasked()
    {
        using var sim = Scenario.Group(93, "alice", "bob", "carol");
        var bob = sim["bob"];

        var change = Assert.IsType<CommitCreated>(bob.Session!.CreatePolicyCommit(RoomPolicies.Of(Admission.Invite, 3_600_000)));
        sim.Relay.Submit(bob, bob.Session.CommitEnvelope(change.Commit));
        sim.RunUntilQuiet();
        var seen = Assert.IsType<CommitAccepted>(sim["alice"].CommitOutcomes[^1]);
        Assert.True(seen.PolicyChanged);
        Assert.Equal((Admission.Invite, 3_600_000UL), (seen.Policy!.Admission, seen.Policy.AbsenceLimitMs));
        Assert.Equal(CommitRefusal.NotAllowed, Assert.IsType<CommitNotCreated>(bob.Session.CreatePolicyCommit(RoomPolicies.Of(Admission.Open, 60_000))).Reason);

        var remove = Assert.IsType<CommitCreated>(bob.Session.CreateRemoveCommit(["carol", "nobody"]));
        Assert.Equal(["nobody"], remove.SkippedRemoves);
        sim.Relay.Submit(bob, bob.Session.CommitEnvelope(remove.Commit));
        sim.RunUntilQuiet();
        var removed = Assert.IsType<CommitAccepted>(sim["carol"].CommitOutcomes[^1]);
        Assert.True(removed.RemovedFromGroup);
        Assert.Equal(RemoveReason.Removed, removed.OwnRemovalReason);
        Assert.Equal([new Removal("carol", RemoveReason.Removed)], Assert.IsType<CommitAccepted>(sim["alice"].CommitOutcomes[^1]).Removals);
    }

    private static void Commit(GroupSimulation sim, CommitRequest request) => Commit(sim, sim["alice"].Session!.CreateCommit(request));

    private static void Commit(GroupSimulation sim, CommitCreation creation)
    {
        var created = Assert.IsType<CommitCreated>(creation);
        Assert.IsType<CommitAccepted>(sim["alice"].Session!.ProcessCommit(created.Commit));
        Assert.IsType<CommitAccepted>(sim["bob"].Session!.ProcessCommit(created.Commit));
    }

    private static RosterViolation Violation(CommitOutcome outcome)
    {
        var rejected = Assert.IsType<CommitRejected>(outcome);
        Assert.Equal(CommitRejection.NotInvited, rejected.Reason);
        return rejected.Violation;
    }
}
