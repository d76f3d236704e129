using Google.Protobuf;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Testing.Simulation;

namespace SecureChat.Protocol.Tests;

public sealed class RelayChecksTests
{
    private static RelayCommitRejection Check(GroupSimulation sim, SignedCommit commit, string sender, string? creator = null, int max = 150)
    {
        var roster = sim["alice"].Session!.Roster.Select(m => m.Bundle).ToList();
        return RelayChecks.CheckCommit(commit, sim.Relay.RoomId, sender, sim.Relay.Epoch, roster, creator, max, out _);
    }

    [Fact]
    public void The_relay_accepts_a_members_commit_and_reports_its_roster()
    {
        using var sim = Scenario.Group(61, "alice", "bob");
        var commit = Scenario.RekeyCommit(sim, "bob");
        var roster = sim["alice"].Session!.Roster.Select(m => m.Bundle).ToList();
        Assert.Equal(RelayCommitRejection.None, RelayChecks.CheckCommit(commit, sim.Relay.RoomId, "bob", sim.Relay.Epoch, roster, null, 150, out var accepted));
        Assert.Equal(["alice", "bob"], accepted!.RosterIds);
        Assert.Empty(accepted.AddedIds);
    }

    [Fact]
    public void The_relay_refuses_commits_that_fail_its_checks()
    {
        using var sim = Scenario.Group(62, "alice", "bob");
        var commit = Scenario.RekeyCommit(sim, "bob");
        var alice = sim["alice"].Identity.IdentityKey;

        Assert.Equal(RelayCommitRejection.CommitterNotSender, Check(sim, commit, "alice"));
        Assert.Equal(RelayCommitRejection.BadSignature, Check(sim, Scenario.Resign(commit, alice, _ => { }), "bob"));
        Assert.Equal(RelayCommitRejection.WrongEpoch, Check(sim, Scenario.Resign(commit, sim["bob"].Identity.IdentityKey, c => c.Epoch++), "bob"));
        Assert.Equal(RelayCommitRejection.WrongRoom, Check(sim, Scenario.Resign(commit, sim["bob"].Identity.IdentityKey, c => c.RoomId = "other"), "bob"));
        Assert.Equal(RelayCommitRejection.NotAMember, Check(sim, Scenario.Resign(commit, alice, c => c.CommitterId = "mallory"), "mallory"));
        Assert.Equal(RelayCommitRejection.BadRoster, Check(sim, commit, "bob", max: 1));
        Assert.Equal(RelayCommitRejection.BadRoster, Check(sim, Scenario.Resign(commit, sim["bob"].Identity.IdentityKey, c =>
            (c.Roster[0], c.Roster[1]) = (c.Roster[1], c.Roster[0])), "bob"));
        Assert.Equal(RelayCommitRejection.Malformed, Check(sim, new SignedCommit { Content = ByteString.CopyFrom(9, 9), Signature = commit.Signature }, "bob"));
    }

    [Fact]
    public void Only_the_asked_joiner_may_create_an_empty_room()
    {
        using var sim = new GroupSimulation(63);
        var carol = sim.Client("carol");
        carol.Join(sim.Relay);
        var request = new CommitRequest { NewEpoch = 1 };
        request.Adds.Add(carol.Session!.JoinBundle);
        var commit = Assert.IsType<CommitCreated>(carol.Session.CreateCommit(request)).Commit;

        Assert.Equal(RelayCommitRejection.NotAMember, RelayChecks.CheckCommit(commit, sim.Relay.RoomId, "carol", 0, [], "dave", 150, out _));
        Assert.Equal(RelayCommitRejection.None, RelayChecks.CheckCommit(commit, sim.Relay.RoomId, "carol", 0, [], "carol", 150, out var accepted));
        Assert.Equal(["carol"], accepted!.AddedIds);
    }
}
