using System.Globalization;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Testing.Simulation;

namespace SecureChat.Protocol.Tests;

/// <summary>
/// <see cref="GroupSession.ExportState"/> and <see cref="GroupSession.ImportState"/>: a session written to a client's store and
/// read back after a restart is the same session — it reads what comes next, others read what it sends, a message it had
/// read is a replay, its pending commit is still its own, and exporting it again gives the same bytes.
/// </summary>
public sealed class GroupStateTests
{
    [Fact]
    public void An_imported_session_continues_the_conversation_both_ways()
    {
        using var sim = Scenario.Group(901, "alice", "bob", "carol");
        var bob = sim["bob"].Session!;
        Assert.IsType<MessageDelivered>(bob.Decrypt(Scenario.Seal(sim, "alice", "before")));

        using var restored = Restore(sim, "bob", bob);
        Assert.Equal((bob.Epoch, bob.EpochCode, bob.Status, bob.FirstEpoch), (restored.Epoch, restored.EpochCode, restored.Status, restored.FirstEpoch));
        Assert.Equal(bob.TranscriptHash, restored.TranscriptHash);
        Assert.Equal(bob.Roster.Select(m => m.ClientId), restored.Roster.Select(m => m.ClientId));

        var fromAlice = Assert.IsType<MessageDelivered>(restored.Decrypt(Scenario.Seal(sim, "alice", "after")));
        Assert.Equal("after", fromAlice.Text);
        var sent = Assert.IsType<MessageSealed>(restored.Encrypt("bob again")).Envelope;
        Assert.Equal("bob again", Assert.IsType<MessageDelivered>(sim["alice"].Session!.Decrypt(sent)).Text);
        Assert.Equal("bob again", Assert.IsType<MessageDelivered>(sim["carol"].Session!.Decrypt(sent)).Text);

        // A rekey by carol: the restored bob follows it into the next epoch with everyone else.
        var commit = Scenario.RekeyCommit(sim, "carol");
        Assert.IsType<CommitAccepted>(sim["carol"].Session!.ProcessCommit(commit));
        Assert.IsType<CommitAccepted>(sim["alice"].Session!.ProcessCommit(commit));
        var accepted = Assert.IsType<CommitAccepted>(restored.ProcessCommit(commit));
        Assert.Equal(sim["alice"].Session!.EpochCode, accepted.EpochCode);
    }

    [Fact]
    public void A_message_read_before_the_export_is_a_replay_after_the_import()
    {
        using var sim = Scenario.Group(902, "alice", "bob");
        var bob = sim["bob"].Session!;
        var first = Scenario.Seal(sim, "alice", "one");
        var skipped = Scenario.Seal(sim, "alice", "two (arrives late)");
        var third = Scenario.Seal(sim, "alice", "three");
        bob.Decrypt(first);
        bob.Decrypt(third);

        using var restored = Restore(sim, "bob", bob);
        Assert.Equal(DecryptRejection.Replay, Assert.IsType<MessageRejected>(restored.Decrypt(first)).Reason);
        Assert.Equal(DecryptRejection.Replay, Assert.IsType<MessageRejected>(restored.Decrypt(third)).Reason);

        // The skipped generation's key came along: the late message still opens, once.
        Assert.Equal("two (arrives late)", Assert.IsType<MessageDelivered>(restored.Decrypt(skipped)).Text);
        Assert.IsType<MessageRejected>(restored.Decrypt(skipped));
    }

    [Fact]
    public void A_pending_commit_is_still_our_own_after_the_import()
    {
        using var sim = Scenario.Group(903, "alice", "bob");
        var alice = sim["alice"].Session!;
        var commit = Scenario.RekeyCommit(sim, "alice");

        using var restored = Restore(sim, "alice", alice);
        Assert.Equal(commit, restored.PendingCommit);
        var echo = Assert.IsType<CommitAccepted>(restored.ProcessCommit(commit));
        Assert.True(echo.OwnCommit);
        var atBob = Assert.IsType<CommitAccepted>(sim["bob"].Session!.ProcessCommit(commit));
        Assert.Equal(atBob.EpochCode, echo.EpochCode);
    }

    [Fact]
    public void Bytes_that_are_not_a_state_of_this_client_are_refused_with_a_reason()
    {
        using var sim = Scenario.Group(904, "alice", "bob");
        var exported = sim["bob"].Session!.ExportState();

        Assert.Throws<GroupStateException>(() => GroupSession.ImportState([1, 2, 3, 4, 5], sim["bob"].Identity, sim["bob"].Trust));
        var otherClient = Assert.Throws<GroupStateException>(() => GroupSession.ImportState(exported, sim["alice"].Identity, sim["alice"].Trust));
        Assert.Contains("another client", otherClient.Message, StringComparison.Ordinal);

        var state = Group.State.GroupSessionState.Parser.ParseFrom(exported);
        state.Format = 99;
        var format = Assert.Throws<GroupStateException>(() => GroupSession.ImportState(Google.Protobuf.MessageExtensions.ToByteArray(state), sim["bob"].Identity, sim["bob"].Trust));
        Assert.Contains("format 99", format.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Random histories of sends, late and duplicated deliveries, rekeys and restores (any member, any time): every message
    /// reaches every other member exactly once, and a restored session exports the bytes it was imported from.
    /// </summary>
    [Fact]
    public void Random_histories_with_restores_deliver_every_message_exactly_once()
    {
        string[] names = ["alice", "bob", "carol"];
        var restores = 0;
        for (ulong seed = 1; seed <= 25; seed++)
        {
            // Every epoch stays readable for the whole history, so "exactly once" is exact.
            using var sim = Scenario.Group(950 + seed, GroupOptions.Default with { PreviousEpochRetentionMs = long.MaxValue / 4, MaxRetainedEpochs = 10_000 },
                names);
            var random = new Random((int)seed);
            var sessions = names.ToDictionary(n => n, n => sim[n].Session!);
            var owned = new List<GroupSession>();
            var inboxes = names.ToDictionary(n => n, _ => new List<Envelope>());
            var expected = names.ToDictionary(n => n, _ => new List<string>());
            var received = names.ToDictionary(n => n, _ => new List<string>());
            var sent = 0;
            try
            {
                for (var step = 0; step < 120; step++)
                {
                    var who = names[random.Next(names.Length)];
                    switch (random.Next(10))
                    {
                        case < 4:
                            var text = string.Create(CultureInfo.InvariantCulture, $"{who}-{sent++}");
                            var envelope = Assert.IsType<MessageSealed>(sessions[who].Encrypt(text)).Envelope;
                            foreach (var other in names.Where(n => n != who))
                            {
                                inboxes[other].Add(envelope);
                                expected[other].Add(text);
                            }

                            break;
                        case < 7 when inboxes[who].Count > 0:
                            // Any waiting message, sometimes twice (a resend after a restore looks like this).
                            var index = random.Next(inboxes[who].Count);
                            var next = inboxes[who][index];
                            if (random.Next(4) != 0)
                            {
                                inboxes[who].RemoveAt(index);
                            }

                            Record(sessions[who].Decrypt(next), received[who]);
                            break;
                        case 7 when sessions[who].PendingCommit is null:
                            var commit = Assert.IsType<CommitCreated>(sessions[who].CreateRekeyCommit()).Commit;
                            foreach (var name in names)
                            {
                                Assert.IsType<CommitAccepted>(sessions[name].ProcessCommit(commit));
                            }

                            break;
                        default:
                            var exported = sessions[who].ExportState();
                            var restored = GroupSession.ImportState(exported, sim[who].Identity, sim[who].Trust, sim.Options, sim.Clock, sim.Random);
                            owned.Add(restored);
                            Assert.Equal(exported, restored.ExportState());
                            sessions[who] = restored;
                            restores++;
                            break;
                    }

                    sim.Clock.Advance(random.Next(50));
                }

                foreach (var name in names)
                {
                    foreach (var envelope in inboxes[name])
                    {
                        Record(sessions[name].Decrypt(envelope), received[name]);
                    }

                    Assert.Equal(expected[name].Order(StringComparer.Ordinal), received[name].Order(StringComparer.Ordinal));
                }
            }
            catch (Exception ex) when (ex is Xunit.Sdk.XunitException)
            {
                throw new Xunit.Sdk.XunitException($"seed {seed}: {ex.Message}");
            }
            finally
            {
                owned.ForEach(s => s.Dispose());
            }
        }

        Assert.True(restores > 100, $"only {restores} restores");
    }

    private static void Record(DecryptOutcome outcome, List<string> received)
    {
        switch (outcome)
        {
            case MessageDelivered delivered:
                received.Add(delivered.Text);
                break;
            case MessageRejected { Reason: DecryptRejection.Replay }:
                break;
            default:
                Assert.Fail($"unexpected outcome {outcome}");
                break;
        }
    }

    private static GroupSession Restore(GroupSimulation sim, string clientId, GroupSession session)
    {
        var exported = session.ExportState();
        var restored = GroupSession.ImportState(exported, sim[clientId].Identity, sim[clientId].Trust, sim.Options, sim.Clock, sim.Random);
        Assert.Equal(exported, restored.ExportState());
        return restored;
    }
}
