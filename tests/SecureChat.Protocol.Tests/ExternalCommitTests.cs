using Google.Protobuf;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;
using SecureChat.Testing.Simulation;

namespace SecureChat.Protocol.Tests;

/// <summary>
/// External commits (PROTOCOL.md §8.9): a joiner admits itself from the room's public state when no member is online, and
/// members accept it only as the commit rule allows (one add of the committer, LEFT/EXPIRED/own REJOINED removes, the room's
/// policy and an invite in an INVITE room). The public state comes from the relay, which may lie about it.
/// </summary>
public sealed class ExternalCommitTests
{
    private static readonly GroupOptions InviteOnly = GroupOptions.Default with { CreatePolicy = RoomPolicies.Of(Admission.Invite) };

    [Fact]
    public void In_an_open_room_a_joiner_admits_itself_and_every_member_accepts_it()
    {
        using var sim = Scenario.Group(301, "alice", "bob");
        using var carol = Joiner(sim, "carol");

        var created = Assert.IsType<CommitCreated>(carol.Session.CreateExternalCommit(PublicState(sim)));

        var content = Scenario.Content(created.Commit);
        Assert.Equal((CommitKind.External, "carol", sim["alice"].Session!.Epoch + 1), (content.Kind, content.CommitterId, content.Epoch));
        Assert.Equal(["alice", "bob", "carol"], content.Roster.Select(b => BundleContent.Parser.ParseFrom(b.Content).ClientId));
        AcceptedByAll(sim, created.Commit, carol.Session, "alice", "bob");

        // She holds the epoch's keys: alice reads her.
        var sealedText = Assert.IsType<MessageSealed>(carol.Session.Encrypt("in by myself")).Envelope;
        Assert.Equal("in by myself", Assert.IsType<MessageDelivered>(sim["alice"].Session!.Decrypt(sealedText)).Text);
        Assert.IsType<CommitCreated>(carol.Session.CreateRekeyCommit());
    }

    [Fact]
    public void The_external_commit_removes_the_members_that_left_with_the_leaves_the_relay_passed_on()
    {
        using var sim = Scenario.Group(302, "alice", "bob", "dave");
        using var carol = Joiner(sim, "carol");
        var state = PublicState(sim);
        state.Leaves.Add(sim["dave"].Session!.CreateLeave());

        var created = Assert.IsType<CommitCreated>(carol.Session.CreateExternalCommit(state));

        AcceptedByAll(sim, created.Commit, carol.Session, "alice", "bob");
        Assert.Equal(["alice", "bob", "carol"], carol.Session.Roster.Select(m => m.ClientId));
        var daveSees = Assert.IsType<CommitAccepted>(sim["dave"].Session!.ProcessCommit(created.Commit));
        Assert.Equal((true, RemoveReason.Left), (daveSees.RemovedFromGroup, daveSees.OwnRemovalReason));
    }

    [Fact]
    public void The_external_commit_removes_expired_entries()
    {
        using var sim = Scenario.Group(303, "alice", "bob");
        var bobEntry = sim["bob"].Session!.CurrentBundle;
        sim.Clock.Advance((long)(BundleContent.Parser.ParseFrom(bobEntry.Content).ExpiresAtMs - (ulong)sim.Clock.UtcNowMs) + 1);
        using var carol = Joiner(sim, "carol");

        var created = Assert.IsType<CommitCreated>(carol.Session.CreateExternalCommit(PublicState(sim)));

        Assert.Contains(Scenario.Content(created.Commit).Operations, o => o.Remove is { ClientId: "bob", Reason: RemoveReason.Expired });
        Assert.True(Assert.IsType<CommitAccepted>(carol.Session.ProcessCommit(created.Commit)).JoinedGroup);
        Assert.DoesNotContain("bob", carol.Session.Roster.Select(m => m.ClientId));
        Assert.Contains("carol", carol.Session.Roster.Select(m => m.ClientId));
    }

    [Fact]
    public void In_an_invite_room_the_joiner_carries_a_members_invite_and_without_one_it_commits_nothing()
    {
        using var sim = InviteRoom(304);
        using var carol = Joiner(sim, "carol");
        var alice = sim["alice"].Session!;

        Assert.Equal(CommitRefusal.NotInvited, Refusal(carol.Session.CreateExternalCommit(PublicState(sim))));

        var state = PublicState(sim);
        state.Invite = alice.CreateInvite("carol");
        var created = Assert.IsType<CommitCreated>(carol.Session.CreateExternalCommit(state));
        Assert.NotNull(Scenario.Content(created.Commit).Operations.Single().Add.Invite);
        AcceptedByAll(sim, created.Commit, carol.Session, "alice", "bob");
        Assert.Equal(Admission.Invite, carol.Session.Policy!.Admission);
    }

    [Fact]
    public void A_forged_or_expired_invite_admits_no_one_into_an_invite_room()
    {
        using var sim = InviteRoom(305);
        using var carol = Joiner(sim, "carol");
        var alice = sim["alice"].Session!;

        // Forged: "alice's" invite signed by a key that is not alice's (the relay's, or carol's own).
        using var forger = LocalIdentity.Generate("alice", sim.Random);
        var forged = Invites.Create("alice", forger.IdentityKey, alice.RoomId, "carol", sim.Clock.UtcNowMs, 60_000, sim.Random);
        var expiring = alice.CreateInvite("carol", 60_000);
        var state = PublicState(sim);
        state.Invite = forged;
        Assert.Equal(CommitRefusal.NotInvited, Refusal(carol.Session.CreateExternalCommit(state)));
        sim.Clock.Advance(120_000);
        state.Invite = expiring;
        Assert.Equal(CommitRefusal.NotInvited, Refusal(carol.Session.CreateExternalCommit(state)));

        // Members refuse such commits however they are made.
        foreach (var invite in new SignedInvite?[] { null, forged, expiring })
        {
            var commit = Scenario.HandMadeExternalCommit(alice, carol.Identity, carol.Session.JoinBundle, sim.Random, sim.Clock.UtcNowMs, invite);
            var rejected = Assert.IsType<CommitRejected>(sim["bob"].Session!.ProcessCommit(commit));
            Assert.Equal(CommitRejection.NotInvited, rejected.Reason);
        }
    }

    [Fact]
    public void A_member_that_lost_its_keys_returns_by_an_external_commit_as_rejoined_without_an_invite()
    {
        using var sim = InviteRoom(306);
        using var bobAgain = new GroupSession(sim["bob"].Identity, sim.Relay.RoomId, new TrustStore(), sim.Options, sim.Clock, sim.Random);

        var created = Assert.IsType<CommitCreated>(bobAgain.CreateExternalCommit(PublicState(sim)));

        var seen = Assert.IsType<CommitAccepted>(sim["alice"].Session!.ProcessCommit(created.Commit));
        Assert.Equal([new Removal("bob", RemoveReason.Rejoined)], seen.Removals);
        Assert.True(Assert.IsType<CommitAccepted>(bobAgain.ProcessCommit(created.Commit)).JoinedGroup);
        Assert.Equal(seen.EpochCode, bobAgain.EpochCode);
    }

    [Fact]
    public void An_id_the_roster_holds_with_another_identity_key_cannot_commit_itself_in()
    {
        using var sim = Scenario.Group(307, "alice", "bob");
        using var impostor = Joiner(sim, "bob");
        var alice = sim["alice"].Session!;

        Assert.Equal(CommitRefusal.IdTaken, Refusal(impostor.Session.CreateExternalCommit(PublicState(sim))));

        // Hand-made: in the place of the member it claims to be, with no remove of it, or with a REJOINED one.
        var inPlace = Scenario.HandMadeExternalCommit(alice, impostor.Identity, impostor.Session.JoinBundle, sim.Random, sim.Clock.UtcNowMs,
            change: c => c.Roster.Remove(c.Roster.First(b => b.Equals(sim["bob"].Session!.CurrentBundle))));
        Assert.Equal(RosterViolation.ExternalFromMember, Assert.IsType<CommitRejected>(alice.ProcessCommit(inPlace)).Violation);
        var asRejoined = Scenario.HandMadeExternalCommit(alice, impostor.Identity, impostor.Session.JoinBundle, sim.Random, sim.Clock.UtcNowMs,
            change: c =>
            {
                c.Roster.Remove(c.Roster.First(b => b.Equals(sim["bob"].Session!.CurrentBundle)));
                c.Operations.Insert(0, new Operation { Remove = new Remove { ClientId = "bob", Reason = RemoveReason.Rejoined } });
            });
        Assert.Equal(RosterViolation.RejoinOtherIdentity, Assert.IsType<CommitRejected>(alice.ProcessCommit(asRejoined)).Violation);
    }

    [Fact]
    public void Members_refuse_an_external_commit_that_sets_the_policy_or_adds_anyone_else()
    {
        using var sim = Scenario.Group(308, "alice", "bob");
        using var carol = Joiner(sim, "carol");
        using var dave = Joiner(sim, "dave");
        var alice = sim["alice"].Session!;

        var withPolicy = Scenario.HandMadeExternalCommit(alice, carol.Identity, carol.Session.JoinBundle, sim.Random, sim.Clock.UtcNowMs,
            change: c =>
            {
                c.Policy = RoomPolicies.Of(Admission.Open, 3_600_000);
                c.Operations.Add(new Operation { SetPolicy = new SetPolicy { Policy = c.Policy } });
            });
        var twoAdds = Scenario.HandMadeExternalCommit(alice, carol.Identity, carol.Session.JoinBundle, sim.Random, sim.Clock.UtcNowMs,
            change: c =>
            {
                c.Operations.Add(new Operation { Add = new Add { Bundle = dave.Session.JoinBundle } });
                c.Roster.Add(dave.Session.JoinBundle);
            });
        var removesAMember = Scenario.HandMadeExternalCommit(alice, carol.Identity, carol.Session.JoinBundle, sim.Random, sim.Clock.UtcNowMs,
            change: c =>
            {
                c.Operations.Insert(0, new Operation { Remove = new Remove { ClientId = "bob", Reason = RemoveReason.Removed } });
                c.Roster.Remove(c.Roster.First(b => b.Equals(sim["bob"].Session!.CurrentBundle)));
            });

        foreach (var commit in new[] { withPolicy, twoAdds, removesAMember })
        {
            var rejected = Assert.IsType<CommitRejected>(alice.ProcessCommit(commit));
            Assert.Equal((CommitRejection.MalformedOperations, RosterViolation.ExternalShape), (rejected.Reason, rejected.Violation));
        }

        // The same commit without the extras is fine: the refusals above are the shape's.
        var plain = Scenario.HandMadeExternalCommit(alice, carol.Identity, carol.Session.JoinBundle, sim.Random, sim.Clock.UtcNowMs);
        Assert.IsType<CommitAccepted>(alice.ProcessCommit(plain));
    }

    // ------------------------------------------------------------------ a relay that lies about the room's public state

    [Fact]
    public void A_tampered_last_commit_is_refused_before_anything_is_committed()
    {
        using var sim = Scenario.Group(309, "alice", "bob");
        using var carol = Joiner(sim, "carol");
        var last = PublicState(sim).LastCommit;

        // A roster entry of the relay's own in place of bob's, signature kept; and a flipped signature bit.
        using var relayBob = Joiner(sim, "bob");
        var swapped = Scenario.Content(last);
        swapped.Roster[1] = relayBob.Session.JoinBundle;
        var badSignature = last.Signature.ToByteArray();
        badSignature[7] ^= 1;
        var tampered = new[]
        {
            new SignedCommit { Content = swapped.ToByteString(), Signature = last.Signature, ConfirmationTag = last.ConfirmationTag },
            new SignedCommit { Content = last.Content, Signature = ByteString.CopyFrom(badSignature), ConfirmationTag = last.ConfirmationTag },
            null,
        };

        foreach (var commit in tampered)
        {
            Assert.Equal(CommitRefusal.BadRoomState, Refusal(carol.Session.CreateExternalCommit(new PublicRoomState { LastCommit = commit })));
        }

        Assert.Null(carol.Session.PendingCommit);
    }

    [Fact]
    public void A_stale_last_commit_yields_a_commit_members_discard_as_stale()
    {
        using var sim = Scenario.Group(310, "alice", "bob");
        var stale = PublicState(sim);
        sim["alice"].Rekey(sim.Relay);
        sim.RunUntilQuiet();
        using var carol = Joiner(sim, "carol");

        var created = Assert.IsType<CommitCreated>(carol.Session.CreateExternalCommit(stale));

        // It names an epoch the members have: nothing changes for them, and they go on talking.
        var epoch = sim["alice"].Session!.Epoch;
        Assert.IsType<CommitStale>(sim["alice"].Session!.ProcessCommit(created.Commit));
        Assert.IsType<CommitStale>(sim["bob"].Session!.ProcessCommit(created.Commit));
        Assert.Equal(epoch, sim["bob"].Session!.Epoch);
        Assert.IsType<MessageDelivered>(sim["bob"].Session!.Decrypt(Scenario.Seal(sim, "alice", "still ours")));
    }

    [Fact]
    public void Forged_leaves_remove_no_one_an_honest_joiner_commits_and_members_refuse_them_in_any_commit()
    {
        using var sim = Scenario.Group(311, "alice", "bob");
        using var carol = Joiner(sim, "carol");
        var alice = sim["alice"].Session!;
        var bob = sim["bob"].Session!;

        // Bob's "leave", signed by a key that is not his; and a real leave of his for an entry he no longer holds.
        using var forger = LocalIdentity.Generate("bob", sim.Random);
        var forged = Leaves.Create("bob", forger.IdentityKey, alice.RoomId, alice.Epoch, bob.CurrentBundle, sim.Clock.UtcNowMs);
        var formerEntryLeave = bob.CreateLeave();
        sim["bob"].Rekey(sim.Relay);
        sim.RunUntilQuiet();
        using var eve = Joiner(sim, "eve");
        foreach (var (joiner, leave) in new[] { (eve.Session, formerEntryLeave), (carol.Session, forged) })
        {
            var state = PublicState(sim);
            state.Leaves.Add(leave);
            Assert.Equal(["bob"], Assert.IsType<CommitCreated>(joiner.CreateExternalCommit(state)).SkippedRemoves);
        }

        AcceptedByAll(sim, carol.Session.PendingCommit!, carol.Session, "alice", "bob");

        // A hand-made external commit with the forged leave is refused.
        using var dave = Joiner(sim, "dave");
        var withForgedLeave = Scenario.HandMadeExternalCommit(alice, dave.Identity, dave.Session.JoinBundle, sim.Random, sim.Clock.UtcNowMs,
            change: c =>
            {
                c.Operations.Insert(0, new Operation { Remove = new Remove { ClientId = "bob", Reason = RemoveReason.Left, Leave = forged } });
                c.Roster.Remove(c.Roster.First(b => BundleContent.Parser.ParseFrom(b.Content).ClientId == "bob"));
            });
        Assert.Equal(RosterViolation.InvalidLeave, Assert.IsType<CommitRejected>(alice.ProcessCommit(withForgedLeave)).Violation);
    }

    [Fact]
    public void A_member_commit_that_admits_the_joiner_first_supersedes_its_external_commit()
    {
        using var sim = Scenario.Group(312, "alice", "bob");
        using var carol = Joiner(sim, "carol");
        Assert.IsType<CommitCreated>(carol.Session.CreateExternalCommit(PublicState(sim)));

        var request = new CommitRequest { NewEpoch = sim["alice"].Session!.Epoch + 1, Adds = { new Add { Bundle = carol.Session.JoinBundle } } };
        var admit = Assert.IsType<CommitCreated>(sim["alice"].Session!.CreateCommit(request));

        var outcome = Assert.IsType<CommitAccepted>(carol.Session.ProcessCommit(admit.Commit));
        Assert.True(outcome.JoinedGroup);
        Assert.True(outcome.OwnCommitSuperseded);
        Assert.Null(carol.Session.PendingCommit);
    }

    [Fact]
    public void Only_a_joining_session_makes_an_external_commit()
    {
        using var sim = Scenario.Group(313, "alice", "bob");

        Assert.Equal(CommitRefusal.NotAllowed, Refusal(sim["alice"].Session!.CreateExternalCommit(PublicState(sim))));
    }

    /// <summary>An INVITE room of alice's, with bob in it by her invite.</summary>
    private static GroupSimulation InviteRoom(ulong seed)
    {
        var sim = Scenario.Group(seed, InviteOnly, "alice");
        sim["alice"].Membership(sim.Relay, room => room.Invite("bob"));
        sim.RunUntilQuiet();
        sim.JoinAll("bob");
        Assert.Equal(["alice", "bob"], sim["alice"].Session!.Roster.Select(m => m.ClientId));
        return sim;
    }

    /// <summary>What the relay would send: the room's last commit (here: the last one alice applied).</summary>
    private static PublicRoomState PublicState(GroupSimulation sim) => new() { LastCommit = sim["alice"].CommitLog[^1].Commit.Clone() };

    /// <summary>Every named member and the joiner accept the commit, at one epoch code each.</summary>
    private static void AcceptedByAll(GroupSimulation sim, SignedCommit commit, GroupSession joiner, params string[] members)
    {
        var codes = members.Select(id => Assert.IsType<CommitAccepted>(sim[id].Session!.ProcessCommit(commit))).Select(a => a.EpochCode).ToList();
        var own = Assert.IsType<CommitAccepted>(joiner.ProcessCommit(commit));
        Assert.True(own.JoinedGroup);
        Assert.True(own.OwnCommit);
        codes.Add(own.EpochCode);
        Assert.Single(codes.Distinct());
    }

    private static CommitRefusal Refusal(CommitCreation creation) => Assert.IsType<CommitNotCreated>(creation).Reason;

    private static JoiningClient Joiner(GroupSimulation sim, string clientId)
    {
        var identity = LocalIdentity.Generate(clientId, sim.Random);
        return new JoiningClient(identity, new GroupSession(identity, sim.Relay.RoomId, new TrustStore(), sim.Options, sim.Clock, sim.Random));
    }

    /// <summary>A client that has not joined: its identity and the session it would join with.</summary>
    private sealed record JoiningClient(LocalIdentity Identity, GroupSession Session) : IDisposable
    {
        public void Dispose()
        {
            Session.Dispose();
            Identity.Dispose();
        }
    }
}
