using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;

namespace SecureChat.Adversarial.Tests.MaliciousRelay;

/// <summary>
/// A malicious relay trying to decide membership (PROTOCOL.md §4.5, §8.3): to have members removed without their
/// proof, to add someone to an invite-only room, to replay an invite, to veto a member's remove. The members decide.
/// </summary>
public sealed class MembershipAttackTests
{
    private static readonly string[] Members = ["alice", "bob", "carol"];

    [Fact]
    public void A_member_that_leaves_is_removed_as_LEFT_with_its_own_signed_leave_and_everyone_accepts_it()
    {
        using var relay = new AttackingRelay(301, Members);

        relay["bob"].Leave(relay.Relay);
        relay.Run();

        var removal = relay.Recorded.Where(r => r.Envelope.Type == MessageType.Commit).Select(r => CommitContent.Parser.ParseFrom(r.Envelope.Commit.Content)).Last();
        var remove = Assert.Single(removal.Operations).Remove;
        Assert.Equal(("bob", RemoveReason.Left), (remove.ClientId, remove.Reason));
        Assert.Equal("bob", Leaves.Parse(remove.Leave)!.ClientId);
        Assert.Equal(["alice", "carol"], relay.Session("alice").Roster.Select(m => m.ClientId));
        relay.AssertOneBranch("alice", "carol");
    }

    [Fact]
    public void A_relay_that_asks_to_remove_a_present_member_as_LEFT_without_its_leave_gets_no_remove_from_an_honest_committer()
    {
        using var relay = new AttackingRelay(302, Members);
        var alice = relay.Session("alice");
        var request = new CommitRequest { NewEpoch = alice.Epoch + 1, Suite = alice.Suite };
        request.Removes.Add(new Remove { ClientId = "bob", Reason = RemoveReason.Left });

        var refused = Assert.IsType<CommitNotCreated>(alice.CreateCommit(request));

        Assert.Equal(CommitRefusal.NothingToCommit, refused.Reason);
        Assert.Contains("bob", alice.Roster.Select(m => m.ClientId));
    }

    [Fact]
    public void A_relay_that_asks_to_remove_a_member_as_REMOVED_without_admitting_a_new_entry_for_it_gets_no_remove_from_an_honest_committer()
    {
        using var relay = new AttackingRelay(306, Members);
        var alice = relay.Session("alice");
        var request = new CommitRequest { NewEpoch = alice.Epoch + 1, Suite = alice.Suite };
        request.Removes.Add(new Remove { ClientId = "bob", Reason = RemoveReason.Removed });

        var refused = Assert.IsType<CommitNotCreated>(alice.CreateCommit(request));

        Assert.Equal(CommitRefusal.NothingToCommit, refused.Reason); // only alice's user can decide to remove bob
        Assert.Contains("bob", alice.Roster.Select(m => m.ClientId));
    }

    [Fact]
    public void A_relay_that_forges_a_leave_or_replays_one_of_an_earlier_entry_gets_no_remove_from_an_honest_committer()
    {
        using var relay = new AttackingRelay(303, Members);
        using var forger = LocalIdentity.Generate("bob", new SeededRandomSource(3031));
        var alice = relay.Session("alice");
        var bobsEntry = alice.Roster.Single(m => m.ClientId == "bob").Bundle;
        var forged = Leaves.Create(forger, relay.Relay.RoomId, alice.Epoch, bobsEntry, relay.Sim.Clock.UtcNowMs); // bob's id, not bob's key
        var earlier = relay.Session("bob").CreateLeave(); // bob's genuine leave of the entry he holds now ...
        relay.Rekey("bob"); // ... which he replaces

        foreach (var leave in new[] { forged, earlier })
        {
            var request = new CommitRequest { NewEpoch = alice.Epoch + 1, Suite = alice.Suite };
            request.Removes.Add(new Remove { ClientId = "bob", Reason = RemoveReason.Left, Leave = leave });
            var refused = Assert.IsType<CommitNotCreated>(alice.CreateCommit(request));
            Assert.Equal(CommitRefusal.NothingToCommit, refused.Reason);
        }

        relay.Send("bob", "still here");
        relay.AssertEveryGenuineMessageArrived(Members);
    }

    [Fact]
    public void A_relay_that_strips_the_leave_from_the_commit_request_gets_no_LEFT_remove_from_any_honest_committer()
    {
        using var relay = new AttackingRelay(304, Members);
        relay.Attack = (_, e) =>
        {
            if (e.Type != MessageType.CommitRequest)
            {
                return [e];
            }

            var stripped = e.Clone();
            foreach (var remove in stripped.CommitRequest.Removes)
            {
                remove.Leave = null;
            }

            return [stripped];
        };

        relay["bob"].Leave(relay.Relay);
        relay.Run();

        Assert.DoesNotContain(relay.Recorded, r => r.Envelope.Type == MessageType.Commit
            && CommitContent.Parser.ParseFrom(r.Envelope.Commit.Content).Operations.Any(o => o.Remove?.Reason == RemoveReason.Left));
        Assert.Contains("bob", relay.Session("alice").Roster.Select(m => m.ClientId));
    }

    [Fact]
    public void In_an_invite_room_the_server_cannot_get_anyone_added_without_a_members_invite()
    {
        using var relay = InviteRoom(305);
        var ghost = relay.Sim.Client("ghost");
        using var forger = LocalIdentity.Generate("alice", new SeededRandomSource(3052));

        // The room itself refuses the ghost: no member invited it.
        ghost.Join(relay.Relay);
        relay.Run();
        Assert.Contains(ErrorCode.BadInvite, ghost.Errors);

        // A malicious server asks anyway: without an invite, with one it signed itself in alice's name, with one for someone else.
        var bundle = ghost.Session!.JoinBundle;
        var alice = relay.Session("alice");
        var now = relay.Sim.Clock.UtcNowMs;
        SignedInvite?[] invites =
        [
            null,
            Invites.Create(forger, relay.Relay.RoomId, "ghost", now - 1000, 3_600_000, new SeededRandomSource(3053)),
            alice.CreateInvite("carol"),
        ];
        foreach (var invite in invites)
        {
            var request = new CommitRequest { NewEpoch = alice.Epoch + 1, Suite = alice.Suite };
            request.Adds.Add(new Add { Bundle = bundle, Invite = invite });
            Assert.Equal(CommitRefusal.NothingToCommit, Assert.IsType<CommitNotCreated>(alice.CreateCommit(request)).Reason);
        }

        Assert.DoesNotContain("ghost", relay.Relay.RosterIds);
    }

    [Fact]
    public void A_replayed_invite_admits_no_one_a_second_time()
    {
        using var relay = InviteRoom(306);
        relay["alice"].Membership(relay.Relay, room => room.Invite("dave"));
        relay.Run();
        var invite = relay.Recorded.Single(r => r.To == "alice" && r.Envelope.Type == MessageType.Invite).Envelope.Invite; // the server's echo
        var dave = relay.Sim.Client("dave");
        dave.Join(relay.Relay);
        relay.Run();
        Assert.Contains("dave", relay.Session("alice").Roster.Select(m => m.ClientId));

        // dave leaves; the server replays the spent invite with dave's next bundle, to the committer and at JOIN.
        dave.Leave(relay.Relay);
        relay.Run();
        dave.Join(relay.Relay);
        relay.Run();
        Assert.Contains(ErrorCode.BadInvite, dave.Errors);
        var alice = relay.Session("alice");
        var request = new CommitRequest { NewEpoch = alice.Epoch + 1, Suite = alice.Suite };
        request.Adds.Add(new Add { Bundle = dave.Session!.JoinBundle, Invite = invite });

        Assert.Equal(CommitRefusal.NothingToCommit, Assert.IsType<CommitNotCreated>(alice.CreateCommit(request)).Reason);
    }

    [Fact]
    public void Any_members_remove_is_relayed_and_applied_by_every_member_including_the_removed()
    {
        using var relay = new AttackingRelay(307, Members);

        relay["bob"].Membership(relay.Relay, room => room.Remove("carol"));
        relay.Run();

        foreach (var member in new[] { "alice", "bob" })
        {
            Assert.Contains(relay[member].CommitOutcomes, o => o is CommitAccepted accepted && accepted.Removed.Contains("carol"));
        }

        Assert.Contains(relay["carol"].CommitOutcomes, o => o is CommitAccepted { RemovedFromGroup: true }); // then she joins again (an open room)
    }

    /// <summary>alice, bob and carol in a room whose policy alice switched to INVITE.</summary>
    private static AttackingRelay InviteRoom(ulong seed)
    {
        var relay = new AttackingRelay(seed, Members);
        relay["alice"].Membership(relay.Relay, room => room.SetPolicy(Admission.Invite));
        relay.Run();
        Assert.Equal(Admission.Invite, relay.Session("bob").Policy!.Admission);
        return relay;
    }
}
