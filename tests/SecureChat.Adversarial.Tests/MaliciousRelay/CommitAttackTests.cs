using Google.Protobuf;
using SecureChat.Client.Rooms;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Testing.Simulation;
using static SecureChat.Adversarial.Tests.MaliciousRelay.AttackingRelay;

namespace SecureChat.Adversarial.Tests.MaliciousRelay;

/// <summary>
/// A malicious relay attacking the key messages (COMMIT and COMMIT_REQUEST): tampering, key and bundle
/// substitution, ghosts, forks, rollback and stale key messages. Each test names what the victim must see.
/// </summary>
public sealed class CommitAttackTests
{
    private static readonly string[] Members = ["alice", "bob", "carol"];

    [Fact]
    public void Flip_any_bit_of_a_commit_and_no_member_accepts_it_then_the_genuine_commit_moves_everyone_on()
    {
        using var relay = new AttackingRelay(201, Members);
        var commit = Scenario.RekeyCommit(relay.Sim, "alice");
        var bytes = commit.ToByteArray();
        var outcomes = new Dictionary<string, int>();

        for (var i = 0; i < bytes.Length; i++)
        {
            var flipped = (byte[])bytes.Clone();
            flipped[i] ^= (byte)(1 << (i % 8));
            SignedCommit tampered;
            try
            {
                tampered = SignedCommit.Parser.ParseFrom(flipped);
            }
            catch (InvalidProtocolBufferException)
            {
                continue;
            }

            foreach (var victim in new[] { "alice", "bob" }) // the committer's own echo, too
            {
                var outcome = relay.Session(victim).ProcessCommit(tampered);
                Assert.IsNotType<CommitAccepted>(outcome);
                var key = outcome is CommitRejected r ? r.Reason.ToString() : outcome.GetType().Name;
                outcomes[key] = outcomes.GetValueOrDefault(key) + 1;
            }
        }

        Assert.True(outcomes.ContainsKey(nameof(CommitRejection.BadSignature)), string.Join(", ", outcomes));
        DeliverGenuine(relay, "alice", commit);
        relay.AssertOneBranch(Members);
        relay.Send("bob", "after the commit");
        relay.AssertEveryGenuineMessageArrived(Members);
    }

    [Fact]
    public void Substitute_a_members_X25519_key_in_a_commit_in_transit_and_every_member_rejects_it_for_its_signature()
    {
        using var relay = new AttackingRelay(202, Members);
        using var attackerKey = Core.Crypto.X25519KeyPair.Generate();
        relay.Attack = (_, e) => e.Type == MessageType.Commit ? [WithContent(e, c => ReplaceMembershipKey(c, "carol", attackerKey.PublicKey))] : [e];

        relay.Rekey("alice");

        foreach (var member in Members)
        {
            Assert.Equal(CommitRejection.BadSignature, Rejection(relay.LastCommit(member)));
        }

        StopAndRedeliverOriginals(relay);
        relay.AssertOneBranch(Members);
        relay.Send("carol", "my key is still my own");
        relay.AssertNothingForgedOrReplayedWasDelivered();
        relay.AssertEveryGenuineMessageArrived(Members);
    }

    [Fact]
    public void Substitute_a_bundle_in_a_commit_request_and_the_committer_leaves_it_out()
    {
        using var relay = new AttackingRelay(203, Members);
        using var dave = LocalIdentity.Generate("dave", new SeededRandomSource(2031));
        using var attackerKey = Core.Crypto.X25519KeyPair.Generate();
        var genuine = dave.CreateMembershipKey(relay.Relay.RoomId, 1, relay.Sim.Clock.UtcNowMs, 3_600_000, new SeededRandomSource(2032));
        var content = BundleContent.Parser.ParseFrom(genuine.Bundle.Content);
        content.MembershipKey = ByteString.CopyFrom(attackerKey.PublicKey); // dave's bundle, the relay's X25519 key
        var substituted = new SignedBundle { Content = content.ToByteString(), Signature = genuine.Bundle.Signature };
        var alice = relay.Session("alice");

        var request = new CommitRequest { NewEpoch = alice.Epoch + 1, Suite = alice.Suite };
        request.Adds.Add(new Add { Bundle = substituted });
        var outcome = alice.CreateCommit(request);

        Assert.Equal(CommitRefusal.NothingToCommit, Assert.IsType<CommitNotCreated>(outcome).Reason);
        genuine.Dispose();
        relay.Send("alice", "nobody new was let in");
        relay.AssertEveryGenuineMessageArrived(Members);
    }

    [Fact]
    public void Substitute_a_reconnecting_members_identity_and_the_others_are_warned_and_cannot_send_to_the_impostor()
    {
        using var relay = new AttackingRelay(204, Members);

        // The relay presents its own "bob" (a fresh identity key under bob's id) as bob reconnecting.
        using var impostor = new SimulatedClient("bob", relay.Sim.Clock, new SeededRandomSource(2041));
        impostor.Join(relay.Relay);
        relay.Run();

        foreach (var member in new[] { "alice", "carol" })
        {
            var accepted = Assert.IsType<CommitAccepted>(relay[member].CommitOutcomes.Last(o => o is CommitAccepted));
            Assert.Equal("bob", Assert.Single(accepted.KeyChanges).ClientId);
            var refused = Assert.IsType<SendRefused>(relay.Session(member).Encrypt("for bob's eyes"));
            Assert.Equal(SendRefusal.BlockedByKeyChange, refused.Reason);
            Assert.Equal(["bob"], refused.BlockingMembers);
        }

        // The room took the impostor's join as bob reconnecting, so the real bob's connection is out of the room; the
        // attacker shows him the commit anyway. He sees a roster that gives his id someone else's identity key, and
        // nothing reached the impostor.
        relay.Inject("bob", relay.Recorded.Last(r => r.To == "alice" && r.Envelope.Type == MessageType.Commit).Envelope);
        Assert.Equal(CommitRejection.OwnIdentityMismatch, Rejection(relay.LastCommit("bob")));
        Assert.Empty(impostor.Delivered);
        relay.AssertNothingForgedOrReplayedWasDelivered();
    }

    [Fact]
    public void Inject_a_ghost_into_a_commit_in_transit_and_every_member_rejects_it_for_its_signature()
    {
        using var relay = new AttackingRelay(205, Members);
        using var ghost = LocalIdentity.Generate("ghost", new SeededRandomSource(2051));
        using var ghostKey = ghost.CreateMembershipKey(relay.Relay.RoomId, 1, relay.Sim.Clock.UtcNowMs, 3_600_000, new SeededRandomSource(2052));
        relay.Attack = (_, e) => e.Type == MessageType.Commit ? [WithContent(e, c => AddToRoster(c, ghostKey.Bundle))] : [e];

        relay.Rekey("bob");

        foreach (var member in Members)
        {
            Assert.Equal(CommitRejection.BadSignature, Rejection(relay.LastCommit(member)));
            Assert.DoesNotContain(relay.Session(member).Roster, m => m.ClientId == "ghost");
        }

        StopAndRedeliverOriginals(relay);
        relay.AssertOneBranch(Members);
        relay.Send("alice", "still just us");
        relay.AssertEveryGenuineMessageArrived(Members);
    }

    [Fact]
    public void Inject_a_ghost_through_a_commit_request_and_every_member_is_shown_the_new_member()
    {
        using var relay = new AttackingRelay(206, Members);
        using var ghost = new SimulatedClient("ghost", relay.Sim.Clock, new SeededRandomSource(2061));

        ghost.Join(relay.Relay);
        relay.Run();

        // Not preventable (the server decides who joins), but never silent: a signed commit adds it and each member reports it.
        foreach (var member in Members)
        {
            var accepted = Assert.IsType<CommitAccepted>(relay[member].CommitOutcomes.Last(o => o is CommitAccepted));
            Assert.Equal("ghost", Assert.Single(accepted.Added).ClientId);
            Assert.Contains(accepted.FirstSeen, m => m.ClientId == "ghost");
        }

        relay.AssertOneBranch(Members);
    }

    [Fact]
    public void Show_different_rosters_to_different_members_and_the_fork_shows_as_different_epoch_codes_and_stays_apart()
    {
        using var relay = new AttackingRelay(207, "alice", "bob", "carol", "dave");
        using var erin = new SimulatedClient("erin", relay.Sim.Clock, new SeededRandomSource(2071));

        // Two commits for the same epoch: alice's rekey, and carol's that (as asked) adds erin. Each half sees one.
        var left = Scenario.RekeyCommit(relay.Sim, "alice");
        erin.Join(new InMemoryRelay("room-1", relay.Sim.Clock)); // only to get erin's join session and bundle
        var request = new CommitRequest { NewEpoch = relay.Session("carol").Epoch + 1, Suite = relay.Session("carol").Suite };
        request.Adds.Add(new Add { Bundle = erin.Session!.JoinBundle });
        var right = Assert.IsType<CommitCreated>(relay.Session("carol").CreateCommit(request)).Commit;
        foreach (var member in new[] { "alice", "bob" })
        {
            Assert.IsType<CommitAccepted>(relay.Session(member).ProcessCommit(left));
        }

        foreach (var member in new[] { "carol", "dave" })
        {
            Assert.IsType<CommitAccepted>(relay.Session(member).ProcessCommit(right));
        }

        Assert.IsType<CommitAccepted>(erin.Session!.ProcessCommit(right));

        relay.AssertOneBranch("alice", "bob");
        relay.AssertOneBranch("carol", "dave");
        Assert.Equal(relay.Session("alice").Epoch, relay.Session("carol").Epoch);
        Assert.NotEqual(relay.Session("alice").EpochCode, relay.Session("carol").EpochCode); // what users compare
        Assert.Equal(relay.Session("carol").Roster.Count, relay.Session("alice").Roster.Count + 1);

        var fromAlice = Assert.IsType<MessageSealed>(relay.Session("alice").Encrypt("left branch")).Envelope;
        Assert.IsType<MessageDelivered>(relay.Session("bob").Decrypt(fromAlice));
        Assert.Equal(DecryptRejection.OtherHistory, Rejection(relay.Session("dave").Decrypt(fromAlice)));
        Assert.Equal(DecryptRejection.OtherHistory, Rejection(erin.Session!.Decrypt(fromAlice)));
        var next = Assert.IsType<CommitCreated>(relay.Session("bob").CreateRekeyCommit()).Commit;
        Assert.Equal(CommitRejection.TranscriptMismatch, Rejection(relay.Session("dave").ProcessCommit(next)));
    }

    [Fact]
    public void Roll_the_epoch_back_and_old_commits_are_stale_old_requests_refused_and_old_messages_do_not_reopen()
    {
        using var relay = new AttackingRelay(208, Members);
        var old = relay.Send("alice", "in the first epoch");
        relay.Rekey("bob");
        relay.Rekey("carol");
        var commits = relay.Recorded.Where(r => r.To == "alice" && r.Envelope.Type == MessageType.Commit).Select(r => r.Envelope).ToList();
        var alice = relay.Session("alice");
        var epoch = alice.Epoch;

        relay.Inject("alice", commits[^2]);
        Assert.IsType<CommitStale>(relay.LastCommit("alice"));
        relay.Inject("alice", commits[^1]);
        Assert.IsType<CommitAlreadyApplied>(relay.LastCommit("alice"));
        var backwards = new CommitRequest { NewEpoch = epoch - 1, Suite = alice.Suite };
        backwards.Removes.Add(new Remove { ClientId = "bob", Reason = RemoveReason.Removed });
        Assert.Equal(CommitRefusal.EpochMismatch, Assert.IsType<CommitNotCreated>(alice.CreateCommit(backwards)).Reason);
        relay.Inject("bob", old);
        Assert.Equal(DecryptRejection.Replay, Rejection(relay.LastDecrypt("bob")));

        Assert.Equal(epoch, alice.Epoch);
        relay.AssertOneBranch(Members);
        relay.Send("carol", "still moving forward");
        relay.AssertNothingForgedOrReplayedWasDelivered();
        relay.AssertEveryGenuineMessageArrived(Members);
    }

    [Fact]
    public void Resend_an_old_key_message_to_a_joiner_and_to_a_removed_member_and_neither_takes_it()
    {
        using var relay = new AttackingRelay(209, Members);
        var creation = relay.Sim["alice"].CommitLog[0]; // recorded while the room formed

        // A joiner that has not been admitted yet: the room's old creating commit does not admit it.
        relay.Sim.Client("dave").Join(relay.Relay);
        relay.Sim["dave"].Handle(creation.Clone(), relay.Relay);
        Assert.IsType<CommitNotForUs>(relay.LastCommit("dave"));
        relay.Run();
        Assert.Equal(GroupStatus.Active, relay.Session("dave").Status);

        // A member removed while away keeps its whole session (its client left the room, so the relay hands the
        // frames to that state directly): after the removal commit, old and new key messages are refused.
        var carol = relay.Session("carol");
        relay.Sim["carol"].Leave(relay.Relay);
        relay.Run();
        var removal = relay.Recorded.Last(r => r.To == "alice" && r.Envelope.Type == MessageType.Commit).Envelope;
        Assert.True(Assert.IsType<CommitAccepted>(carol.ProcessCommit(removal.Commit.Clone())).RemovedFromGroup);
        Assert.IsNotType<CommitAccepted>(carol.ProcessCommit(removal.Commit.Clone()));
        relay.Rekey("bob");
        var later = relay.Recorded.Last(r => r.To == "alice" && r.Envelope.Type == MessageType.Commit).Envelope;
        Assert.Equal(CommitRejection.NotAMember, Rejection(carol.ProcessCommit(later.Commit.Clone())));

        relay.Send("alice", "carol cannot read this");
        Assert.DoesNotContain(relay["carol"].Delivered, d => d.Message.Text == "carol cannot read this");
        relay.AssertNothingForgedOrReplayedWasDelivered();
        relay.AssertEveryGenuineMessageArrived("alice", "bob", "dave");
    }

    [Fact]
    public void Drop_a_commit_for_one_member_and_it_detects_the_gap_holds_what_it_cannot_read_and_recovers_by_rejoining()
    {
        using var relay = new AttackingRelay(210, Members);
        relay.Attack = (to, e) => to == "bob" && e.Type == MessageType.Commit ? [] : [e];
        relay.Rekey("alice");
        relay.Attack = null;

        var unreadable = Scenario.Seal(relay.Sim, "carol", "sent in the epoch bob missed");
        relay.Inject("bob", unreadable);
        Assert.IsType<MessageHeld>(relay.LastDecrypt("bob"));
        relay.Rekey("carol");
        Assert.Contains(relay["bob"].CommitOutcomes, o => o is CommitRejected { Reason: CommitRejection.EpochGap });

        // What the protocol tells bob to do, and his room loop did by itself: leave and join again with a new session.
        Assert.Equal("bob/2", relay["bob"].Incarnation);
        Assert.Equal(RoomPhase.Ready, relay["bob"].Phase);
        relay.AssertOneBranch(Members);
        relay.Send("alice", "welcome back bob");
        relay.AssertNothingForgedOrReplayedWasDelivered();
        relay.AssertEveryGenuineMessageArrived(Members);
    }

    [Fact]
    public void A_committer_sealing_different_secrets_to_different_members_gets_its_commit_refused_by_those_it_cheated_who_rejoin()
    {
        using var relay = new AttackingRelay(211, Members);
        byte[] one = [.. Enumerable.Repeat((byte)1, 32)], two = [.. Enumerable.Repeat((byte)2, 32)];
        var carolBefore = relay.Session("carol");
        var split = Scenario.HandMadeCommit(relay.Sim, "alice", m => m.ClientId == "carol" ? two : one, one);
        var commit = relay.Session("alice").CommitEnvelope(split);

        // One tag for all: the member handed the other secret cannot confirm it, refuses the commit and rejoins.
        relay.Inject("bob", commit);
        Assert.IsType<CommitAccepted>(relay.LastCommit("bob"));
        relay.Inject("carol", commit);
        var refused = Assert.IsType<CommitRejected>(relay["carol"].CommitOutcomes.Single(o => o is CommitRejected));
        Assert.Equal(CommitRejection.ConfirmationFailed, refused.Reason);
        Assert.NotSame(carolBefore, relay.Session("carol")); // a new session, on the relay's real history
        relay.AssertNothingForgedOrReplayedWasDelivered();
    }

    [Fact]
    public void Given_each_the_tag_of_its_own_secret_the_cheated_members_are_on_two_histories_that_cannot_be_bridged()
    {
        using var relay = new AttackingRelay(216, Members);
        byte[] one = [.. Enumerable.Repeat((byte)1, 32)], two = [.. Enumerable.Repeat((byte)2, 32)];
        var split = Scenario.HandMadeCommit(relay.Sim, "alice", m => m.ClientId == "carol" ? two : one, one);
        var (bob, carol) = (relay.Session("bob"), relay.Session("carol"));

        // The tag is outside the signature: the relay hands carol the tag of her secret. Both accept ...
        Assert.IsType<CommitAccepted>(bob.ProcessCommit(split));
        Assert.IsType<CommitAccepted>(carol.ProcessCommit(Scenario.Retag(split, two)));

        // ... on two histories (the tag is inside TH): different codes, carol's message is from another history for bob.
        Assert.NotEqual(bob.EpochCode, carol.EpochCode);
        var fromCarol = Scenario.Seal(relay.Sim, "carol", "carol's words");
        Assert.Equal(DecryptRejection.OtherHistory, Rejection(bob.Decrypt(fromCarol)));

        // The relay moves the history tag over: the header is carol's history, so bob's keys do not open it.
        var moved = fromCarol.Clone();
        moved.HistoryTag = ByteString.CopyFrom(bob.TranscriptHash[..WireLimits.HistoryTagBytes]);
        Assert.Equal(DecryptRejection.AuthenticationFailed, Rejection(bob.Decrypt(moved)));
        relay.AssertNothingForgedOrReplayedWasDelivered();
    }

    [Fact]
    public void Replay_a_members_bundle_from_another_room_and_neither_the_server_nor_a_committer_admits_the_phantom()
    {
        using var relay = new AttackingRelay(212, Members);
        using var roomB = new GroupSimulation(213, roomId: "room-b");
        roomB.JoinAll("dave");
        var davesBundleForB = roomB["dave"].Session!.Roster.Single().Bundle;

        // The server's JOIN check refuses it for room-1 ...
        Assert.Equal(BundleRejection.WrongRoom, Protocol.Relay.RelayRules.CheckJoinBundle(davesBundleForB, "dave", relay.Relay.RoomId,
            relay.Sim.Clock.UtcNowMs, out _, out _));

        // ... and a relay that puts it in a COMMIT_REQUEST anyway gets nothing: the honest committer leaves it out.
        var request = new CommitRequest { NewEpoch = relay.Session("alice").Epoch + 1, Suite = relay.Session("alice").Suite };
        request.Adds.Add(new Add { Bundle = davesBundleForB });
        relay.Inject("alice", new Envelope
        {
            Version = WireLimits.ProtocolVersion, Type = MessageType.CommitRequest, RoomId = relay.Relay.RoomId, Epoch = request.NewEpoch, CommitRequest = request,
        });
        Assert.Null(relay.Session("alice").PendingCommit);
        Assert.All(Members, m => Assert.DoesNotContain(relay.Session(m).Roster, r => r.ClientId == "dave"));
        relay.Send("alice", "no phantom links the two rooms");
        relay.AssertEveryGenuineMessageArrived(Members);
    }

    [Fact]
    public void Forged_commits_for_the_next_epochs_cause_nothing_and_the_room_carries_on()
    {
        using var relay = new AttackingRelay(214, Members);
        var genuine = relay.Recorded.LastOrDefault(r => r.Envelope.Type == MessageType.Commit).Envelope ?? relay.Session("alice").CommitEnvelope(Scenario.RekeyCommit(relay.Sim, "alice"));
        relay.Session("alice").AbandonPendingCommit(relay.Session("alice").Epoch + 1);
        var epochs = Members.ToDictionary(m => m, m => relay.Session(m).Epoch);

        foreach (var shift in new ulong[] { 1, 2, 5 })
        {
            var content = CommitContent.Parser.ParseFrom(genuine.Commit.Content);
            content.Epoch = relay.Session("alice").Epoch + shift;
            content.PreviousTranscriptHash = ByteString.CopyFrom(new byte[32]);
            var forged = genuine.Clone();
            forged.Epoch = content.Epoch;
            forged.Commit = new SignedCommit { Content = content.ToByteString(), Signature = ByteString.CopyFrom(new byte[64]), ConfirmationTag = ByteString.CopyFrom(new byte[32]) };
            foreach (var member in Members)
            {
                relay.Inject(member, forged);
                Assert.Equal(CommitRejection.BadSignature, Rejection(relay.LastCommit(member)));
            }
        }

        Assert.All(Members, m => Assert.Equal(epochs[m], relay.Session(m).Epoch));
        relay.AssertOneBranch(Members);
        relay.Send("bob", "nothing happened");
        relay.Rekey("carol");
        relay.Send("alice", "and commits still work");
        relay.AssertEveryGenuineMessageArrived(Members);
    }

    [Fact]
    public void An_insiders_roster_entry_with_a_low_order_key_is_refused_and_every_honest_commit_still_works()
    {
        using var relay = new AttackingRelay(215, Members);
        var poisoned = relay["carol"].Identity.MakeBundle(relay.Relay.RoomId, new byte[32], 2, relay.Sim.Clock.UtcNowMs, relay.Sim.Clock.UtcNowMs + 3_600_000);
        var commit = Scenario.HandMadeCommit(relay.Sim, "carol", _ => new byte[32], new byte[32], c =>
        {
            var index = c.Roster.ToList().FindIndex(b => BundleContent.Parser.ParseFrom(b.Content).ClientId == "carol");
            c.Roster[index] = poisoned;
        });

        // The server's room refuses it (same commit rule) ...
        relay.Relay.Submit(relay["carol"], relay.Session("carol").CommitEnvelope(commit));
        relay.Run();
        Assert.Equal(Protocol.Relay.RelayCommitRejection.BadRoster, relay.Relay.LastRejection);

        // ... and so does every member the attacker hands it to directly.
        foreach (var member in new[] { "alice", "bob" })
        {
            relay.Inject(member, relay.Session("carol").CommitEnvelope(commit));
            Assert.Equal(CommitRejection.InvalidBundle, Rejection(relay.LastCommit(member)));
        }

        relay.Rekey("alice");
        relay.Rekey("bob");
        relay.Send("bob", "the room still commits");
        relay.AssertOneBranch(Members);
        relay.AssertEveryGenuineMessageArrived(Members);
    }

    private static void DeliverGenuine(AttackingRelay relay, string committer, SignedCommit commit)
    {
        relay.Relay.Submit(relay[committer], relay.Session(committer).CommitEnvelope(commit));
        relay.Run();
    }

    /// <summary>The attack stops: each member is handed the untouched commit the relay recorded for it.</summary>
    private static void StopAndRedeliverOriginals(AttackingRelay relay)
    {
        relay.Attack = null;
        foreach (var (to, envelope) in relay.Recorded.Where(r => r.Envelope.Type == MessageType.Commit).ToList())
        {
            relay.Inject(to, envelope);
        }
    }

    private static Envelope WithContent(Envelope envelope, Action<CommitContent> change)
    {
        var copy = envelope.Clone();
        var content = CommitContent.Parser.ParseFrom(copy.Commit.Content);
        change(content);
        copy.Commit = new SignedCommit { Content = content.ToByteString(), Signature = copy.Commit.Signature, ConfirmationTag = copy.Commit.ConfirmationTag };
        return copy;
    }

    private static void ReplaceMembershipKey(CommitContent content, string clientId, byte[] key)
    {
        for (var i = 0; i < content.Roster.Count; i++)
        {
            var bundle = BundleContent.Parser.ParseFrom(content.Roster[i].Content);
            if (bundle.ClientId == clientId)
            {
                bundle.MembershipKey = ByteString.CopyFrom(key);
                content.Roster[i] = new SignedBundle { Content = bundle.ToByteString(), Signature = content.Roster[i].Signature };
            }
        }
    }

    private static void AddToRoster(CommitContent content, SignedBundle bundle)
    {
        var id = BundleContent.Parser.ParseFrom(bundle.Content).ClientId;
        var roster = content.Roster.Append(bundle).OrderBy(b => BundleContent.Parser.ParseFrom(b.Content).ClientId, StringComparer.Ordinal).ToList();
        var index = roster.IndexOf(bundle);
        content.Roster.Clear();
        content.Roster.AddRange(roster);
        content.Operations.Add(new Operation { Add = new Add { Bundle = bundle } });
        content.Wraps.Insert(index, new Wrap { RecipientId = id, RecipientKeyId = 1, EphemeralKey = ByteString.CopyFrom(new byte[32]), SealedSecret = ByteString.CopyFrom(new byte[48]) });
    }
}
