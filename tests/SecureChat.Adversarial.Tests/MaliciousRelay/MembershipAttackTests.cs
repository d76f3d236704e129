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
}
