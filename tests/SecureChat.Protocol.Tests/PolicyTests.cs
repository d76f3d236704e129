using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Testing.Simulation;

namespace SecureChat.Protocol.Tests;

public sealed class PolicyTests
{
    [Fact]
    public void The_engine_asks_for_a_rekey_after_enough_messages_or_time_but_not_when_idle()
    {
        var options = GroupOptions.Default with { RekeyAfterMessages = 3, RekeyAfterMs = 60_000 };
        using var sim = Scenario.Group(51, options, "alice", "bob");
        var alice = sim["alice"].Session!;

        Assert.False(alice.NeedsRekey);
        sim.Clock.Advance(60_000);
        Assert.False(alice.NeedsRekey); // idle: nothing to heal
        Scenario.Seal(sim, "alice", "1");
        Assert.True(alice.NeedsRekey); // old epoch and in use

        sim["alice"].Rekey(sim.Relay);
        sim.RunUntilQuiet();
        Assert.False(alice.NeedsRekey);
        Scenario.Seal(sim, "alice", "1");
        Scenario.Seal(sim, "alice", "2");
        Assert.False(alice.NeedsRekey);
        Scenario.Seal(sim, "alice", "3");
        Assert.True(alice.NeedsRekey);
    }

    [Fact]
    public void A_rekey_replaces_the_committers_membership_key()
    {
        using var sim = Scenario.Group(52, "alice", "bob");
        var before = sim["bob"].Session!.Roster.Single(m => m.ClientId == "alice");
        sim["alice"].Rekey(sim.Relay);
        sim.RunUntilQuiet();
        var after = sim["bob"].Session!.Roster.Single(m => m.ClientId == "alice");

        Assert.Equal(before.KeyId + 1, after.KeyId);
        Assert.NotEqual(before.MembershipKey, after.MembershipKey);
        Assert.Equal(before.IdentityKey, after.IdentityKey);

        // And alice can open wraps to her new key.
        sim["bob"].Rekey(sim.Relay);
        sim.RunUntilQuiet();
        Assert.Equal(sim["bob"].Session!.EpochCode, sim["alice"].Session!.EpochCode);
    }

    [Fact]
    public void Only_a_few_old_epochs_are_retained_however_recent()
    {
        var options = GroupOptions.Default with { MaxRetainedEpochs = 2 };
        using var sim = Scenario.Group(53, options, "alice", "bob");
        var old = Scenario.Seal(sim, "alice", "old");
        for (var i = 0; i < 3; i++)
        {
            sim["bob"].Rekey(sim.Relay);
            sim.RunUntilQuiet();
        }

        Assert.Equal(DecryptRejection.ExpiredEpoch, Assert.IsType<MessageRejected>(sim["bob"].Session!.Decrypt(old)).Reason);
    }

    [Fact]
    public void Commit_creation_refuses_what_it_cannot_do()
    {
        var options = GroupOptions.Default with { MaxMembers = 2 };
        using var sim = Scenario.Group(54, options, "alice", "bob");
        var alice = sim["alice"].Session!;

        var carol = sim.Client("carol");
        carol.Join(sim.Relay);
        var request = new CommitRequest { NewEpoch = alice.Epoch + 1 };
        request.Adds.Add(new Add { Bundle = carol.Session!.JoinBundle });
        Assert.Equal(CommitRefusal.RosterFull, Assert.IsType<CommitNotCreated>(alice.CreateCommit(request)).Reason);

        var wrongEpoch = new CommitRequest { NewEpoch = alice.Epoch + 2 };
        wrongEpoch.Removes.Add(new Remove { ClientId = "bob", Reason = RemoveReason.Removed });
        Assert.Equal(CommitRefusal.EpochMismatch, Assert.IsType<CommitNotCreated>(alice.CreateCommit(wrongEpoch)).Reason);

        var nothing = new CommitRequest { NewEpoch = alice.Epoch + 1 };
        nothing.Removes.Add(new Remove { ClientId = "nobody", Reason = RemoveReason.Removed });
        Assert.Equal(CommitRefusal.NothingToCommit, Assert.IsType<CommitNotCreated>(alice.CreateCommit(nothing)).Reason);

        // A joiner only creates a room that its own bundle is added to.
        var notCreator = new CommitRequest { NewEpoch = 1 };
        notCreator.Adds.Add(new Add { Bundle = sim["bob"].Session!.Roster[0].Bundle });
        Assert.Equal(CommitRefusal.NotCreator, Assert.IsType<CommitNotCreated>(carol.Session.CreateCommit(notCreator)).Reason);

        // A second request for the epoch of our pending commit gets the same commit back.
        var first = Assert.IsType<CommitCreated>(alice.CreateRekeyCommit());
        var again = Assert.IsType<CommitCreated>(alice.CreateCommit(new CommitRequest { NewEpoch = alice.Epoch + 1 }));
        Assert.True(again.Repeated);
        Assert.Equal(first.Commit, again.Commit);
    }

    [Fact]
    public void Invalid_adds_and_removes_in_a_request_are_skipped_and_reported()
    {
        using var sim = Scenario.Group(55, "alice", "bob");
        var alice = sim["alice"].Session!;
        var carol = sim.Client("carol");
        carol.Join(sim.Relay);
        var request = new CommitRequest { NewEpoch = alice.Epoch + 1 };
        request.Adds.Add(new Add { Bundle = carol.Session!.JoinBundle });
        request.Adds.Add(new Add { Bundle = sim["bob"].Session!.JoinBundle }); // bob is already a member
        request.Removes.Add(new Remove { ClientId = "nobody", Reason = RemoveReason.Removed });

        var created = Assert.IsType<CommitCreated>(alice.CreateCommit(request));
        Assert.Equal(["bob"], created.SkippedAdds);
        Assert.Equal(["nobody"], created.SkippedRemoves);
        Assert.Equal(["alice", "bob", "carol"], Scenario.Content(created.Commit).Roster
            .Select(b => BundleContent.Parser.ParseFrom(b.Content).ClientId));
    }

    [Theory]
    [InlineData(1024 * 1024, true)] // the default: every joiner of the request fits one commit
    [InlineData(12 * 1024, true)]   // some fit: the first ones in the relay's order are admitted, the rest wait for the next request
    [InlineData(1200, false)]       // not even one: refused before anything is sent
    public void A_commit_is_made_to_fit_the_frame_limit_the_server_announced(int maxFrameBytes, bool someFit)
    {
        const int members = 40;
        var clock = new Infrastructure.ManualClock();
        var random = new Infrastructure.SeededRandomSource(members);
        var trust = new Identity.TrustStore();
        var identities = Enumerable.Range(0, members)
            .Select(i => Identity.LocalIdentity.Generate(i.ToString("D3", System.Globalization.CultureInfo.InvariantCulture).PadRight(64, 'x'), random))
            .ToList();
        var sessions = identities.Select(id => new GroupSession(id, "big-room", trust, null, clock, random)).ToList();
        try
        {
            var create = new CommitRequest { NewEpoch = 1 };
            create.Adds.Add(new Add { Bundle = sessions[0].JoinBundle });
            var creator = Assert.IsType<CommitCreated>(sessions[0].CreateCommit(create));
            Assert.IsType<CommitAccepted>(sessions[0].ProcessCommit(creator.Commit));
            sessions[0].AdoptServerLimits(maxMembersPerRoom: 1000, (uint)maxFrameBytes);
            var request = new CommitRequest { NewEpoch = 2 };
            request.Adds.AddRange(sessions.Skip(1).Select(s => new Add { Bundle = s.JoinBundle }));

            var creation = sessions[0].CreateCommit(request);

            if (!someFit)
            {
                Assert.Equal(CommitRefusal.CommitTooLarge, Assert.IsType<CommitNotCreated>(creation).Reason);
                Assert.Null(sessions[0].PendingCommit);
                return;
            }

            var created = Assert.IsType<CommitCreated>(creation);
            var content = CommitContent.Parser.ParseFrom(created.Commit.Content);
            var admitted = content.Operations.Select(o => o.Add.Bundle).ToList();
            Assert.Equal(request.Adds.Take(admitted.Count).Select(a => a.Bundle), admitted); // a prefix, in the relay's order
            var relayed = SecureChat.Protocol.Relay.ServerFrames.Commit("big-room", sessions[0].LocalClientId, 2, content.Suite, created.Commit).Length;
            Assert.InRange(relayed, 1, maxFrameBytes);
            Assert.Equal(relayed, SecureChat.Protocol.Relay.ServerFrames.CommitSize("big-room", sessions[0].LocalClientId, 2, content.Suite, created.Commit));
            if (maxFrameBytes == 1024 * 1024)
            {
                Assert.Equal(members - 1, admitted.Count);
                var bound = CommitSizes.LargestCommitFrame(members, adds: members - 1);
                Assert.InRange(relayed, 1, bound); // the bound the server's start-up check uses holds for a real commit
                Assert.True(bound < 2 * relayed, $"the bound {bound} is far above the real {relayed} bytes");
            }
            else
            {
                Assert.InRange(admitted.Count, 1, members - 2);
            }
        }
        finally
        {
            sessions.ForEach(s => s.Dispose());
            identities.ForEach(i => i.Dispose());
        }
    }

    [Fact]
    public void An_overlong_body_is_refused()
    {
        using var sim = Scenario.Group(56, "alice", "bob");
        var refused = Assert.IsType<SendRefused>(sim["alice"].Session!.Encrypt(new string('x', GroupOptions.Default.MaxBodyBytes + 1)));
        Assert.Equal(SendRefusal.BodyTooLong, refused.Reason);
        var longest = Assert.IsType<MessageSealed>(sim["alice"].Session!.Encrypt(new string('x', GroupOptions.Default.MaxBodyBytes)));
        Assert.True(Core.Framing.FrameCodec.Encode(longest.Envelope, Core.Wire.WireLimits.DefaultMaxFrameBytes).Length <= Core.Wire.WireLimits.DefaultMaxFrameBytes + 4);
    }

    [Fact]
    public void Bodies_are_padded_to_a_multiple_of_the_padding_block()
    {
        using var sim = Scenario.Group(57, "alice", "bob");
        Scenario.Seal(sim, "alice", "the epoch's first message also carries alice's count for the epoch before");
        var a = Scenario.Seal(sim, "alice", "hi");
        var b = Scenario.Seal(sim, "alice", new string('y', 60));
        Assert.Equal(a.Ciphertext.Length, b.Ciphertext.Length);
    }
}
