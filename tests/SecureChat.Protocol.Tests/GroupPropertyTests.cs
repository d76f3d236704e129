using System.Globalization;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Testing.Simulation;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace SecureChat.Protocol.Tests;

/// <summary>
/// Random histories of joins, leaves, reconnects, rekeys (often concurrent), messages, reordering, duplication
/// and committer failover, driven through the in-memory relay. After each history: every member of a message's
/// epoch that was connected throughout reads it exactly once, nobody outside that epoch's roster reads it
/// (every message is finally replayed into every session ever created), and all members agree on the epoch,
/// transcript hash, epoch code and roster. Set SECURECHAT_PROPERTY_SEED to replay one seed.
/// </summary>
public sealed class GroupPropertyTests(ITestOutputHelper output)
{
    private const int Seeds = 120;
    private static readonly string[] Names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace"];

    private static readonly GroupOptions Options = GroupOptions.Default with
    {
        // Every retained epoch stays readable for the whole history, so "exactly once" is exact.
        PreviousEpochRetentionMs = long.MaxValue / 4,
        MaxRetainedEpochs = 10_000,
        RekeyAfterMessages = 5,
    };

    [Fact]
    public void Random_histories_keep_every_member_reading_every_message_exactly_once_and_outsiders_nothing()
    {
        var only = Environment.GetEnvironmentVariable("SECURECHAT_PROPERTY_SEED");
        var seeds = only is null ? Enumerable.Range(1, Seeds).Select(s => (ulong)s) : [ulong.Parse(only, CultureInfo.InvariantCulture)];
        var totals = new Totals();
        List<string> lastTrace = [];
        foreach (var seed in seeds)
        {
            try
            {
                RunHistory(seed, totals, lastTrace);
            }
            catch (Exception ex) when (ex is XunitException or InvalidOperationException)
            {
                if (only is not null)
                {
                    output.WriteLine(string.Join("\n", lastTrace));
                    throw;
                }

                throw new XunitException($"property failed for seed {seed} (replay: SECURECHAT_PROPERTY_SEED={seed}): {ex.Message}");
            }
        }

        output.WriteLine($"seeds {seeds.Count()}, messages {totals.Messages}, deliveries {totals.Deliveries}, commits {totals.Commits}, " +
                         $"lost commit races {totals.RejectedCommits}, held {totals.Held}, replays {totals.Replays}");
        if (only is null)
        {
            // The histories must actually exercise what the property is about.
            Assert.True(totals.RejectedCommits > 20, "too few concurrent commits");
            Assert.True(totals.Held > 20, "too few messages overtaking their commit");
            Assert.True(totals.Replays > 50, "too few duplicates");
            Assert.True(totals.Commits > Seeds * 10, "histories too short");
        }
    }

    private static void RunHistory(ulong seed, Totals totals, List<string> trace)
    {
        using var sim = new GroupSimulation(seed, options: Options)
        {
            ReorderProbability = 0.3,
            DuplicateProbability = 0.1,
        };
        var rng = new Random((int)seed * 7919);
        var sent = new List<(string Text, string Sender, Envelope Envelope)>();
        var labels = new Dictionary<string, string>();
        sim.Relay.LabelOf = envelope => labels.GetValueOrDefault(Convert.ToHexString(envelope.Nonce.Span));
        var actions = rng.Next(60, 140);
        for (var i = 0; i < actions; i++)
        {
            var roll = rng.NextDouble();
            var offline = Names.Where(n => !sim.Clients.Any(c => c.ClientId == n && c.IsConnected)).ToList();
            var online = sim.Clients.Where(c => c.IsConnected).ToList();
            var active = online.Where(c => c.Session?.Status == GroupStatus.Active).ToList();
            if (roll < 0.18 && offline.Count > 0)
            {
                sim.Join(offline[rng.Next(offline.Count)]);
            }
            else if (roll < 0.26 && online.Count > 0)
            {
                online[rng.Next(online.Count)].Leave(sim.Relay);
            }
            else if (roll < 0.30 && online.Count > 0)
            {
                // Reconnect: drop the connection and join again with a new session and key.
                var client = online[rng.Next(online.Count)];
                client.Leave(sim.Relay);
                client.Join(sim.Relay);
            }
            else if (roll < 0.38 && active.Count > 0)
            {
                active[rng.Next(active.Count)].Rekey(sim.Relay);
            }
            else if (roll < 0.42 && online.Count > 0)
            {
                var client = online[rng.Next(online.Count)];
                client.AnswersCommitRequests = !client.AnswersCommitRequests;
            }
            else if (roll < 0.47)
            {
                sim.Clock.Advance(rng.Next(0, 6_000));
                sim.Relay.Tick();
            }
            else if (active.Count > 0)
            {
                var sender = active[rng.Next(active.Count)];
                var text = $"m{sent.Count}:{sender.ClientId}";
                if (sender.Send(sim.Relay, text) is MessageSealed sealedMessage)
                {
                    sent.Add((text, sender.Incarnation, sealedMessage.Envelope));
                    labels[Convert.ToHexString(sealedMessage.Envelope.Nonce.Span)] = text;
                }
            }

            for (var s = rng.Next(0, 8); s > 0 && sim.Step(); s--)
            {
            }
        }

        // Let everything settle: responsive committers, deadlines passed, all frames handled.
        foreach (var client in sim.Clients)
        {
            client.AnswersCommitRequests = true;
        }

        // Long enough for the longest backoff after failed rounds (16 deadlines). A joiner the room gave up on while nobody answered
        // (NOT_ADMITTED) joins again, as its user would.
        for (var round = 0; round < 20; round++)
        {
            foreach (var refused in sim.Clients.Where(c => c.IsConnected && c.HasLeftRoom).ToList())
            {
                refused.Leave(sim.Relay);
                refused.Join(sim.Relay);
            }

            sim.RunUntilQuiet();
            sim.Clock.Advance(sim.Relay.CommitDeadlineMs);
            sim.Relay.Tick();
        }

        sim.RunUntilQuiet();
        trace.Clear();
        trace.AddRange(sim.Relay.Trace);
        CheckHistory(sim, sent, totals);
    }

    private static void CheckHistory(GroupSimulation sim, List<(string Text, string Sender, Envelope Envelope)> sent, Totals totals)
    {
        var relay = sim.Relay;
        var live = sim.Clients.Where(c => c.IsConnected).ToList();

        // Honest runs never produce these.
        foreach (var client in sim.Clients)
        {
            var bad = client.DecryptOutcomes.OfType<MessageRejected>()
                .Where(r => r.Reason is not (DecryptRejection.Replay or DecryptRejection.EpochBeforeJoin)).ToList();
            Assert.True(bad.Count == 0, $"{client.ClientId}: unexpected rejection {bad.FirstOrDefault()}");
            var badCommits = client.CommitOutcomes.OfType<CommitRejected>().ToList();
            Assert.True(badCommits.Count == 0, $"{client.ClientId}: commit rejected {badCommits.FirstOrDefault()} " +
                string.Join(", ", client.CommitOutcomes.Select(o => o.GetType().Name + ":" + (o as CommitAccepted)?.Epoch)));
        }

        // Agreement: every live member sees the relay's roster and the same epoch state.
        var members = live.Where(c => c.Session!.Status == GroupStatus.Active).ToList();
        Assert.True(members.Count == live.Count, "a connected client is not an active member after settling");
        if (members.Count > 0)
        {
            Assert.Single(members.Select(m => m.Session!.Epoch).Distinct());
            Assert.Single(members.Select(m => m.Session!.EpochCode).Distinct());
            Assert.Single(members.Select(m => Convert.ToHexString(m.Session!.TranscriptHash)).Distinct());
            Assert.All(members, m => Assert.Equal(relay.RosterIds, m.Session!.Roster.Select(r => r.ClientId)));
            Assert.Equal(relay.Epoch, members[0].Session!.Epoch);
        }

        // Delivered content is what was sent, and nobody reads a message twice.
        var byText = sent.ToDictionary(s => s.Text);
        var deliveries = sim.Clients.SelectMany(c => c.Delivered).ToList();
        foreach (var (incarnation, message) in deliveries)
        {
            var original = byText[message.Text];
            Assert.Equal(original.Envelope.SenderId, message.SenderId);
            Assert.Equal(original.Envelope.Epoch, message.Epoch);
            Assert.Equal(original.Envelope.Sequence, message.Generation);
            Assert.Contains(incarnation, relay.MembersOfEpoch(message.Epoch));
            Assert.NotEqual(original.Sender, incarnation);
        }

        var duplicates = deliveries.GroupBy(d => (d.Incarnation, d.Message.Text)).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(duplicates.Count == 0, $"delivered twice: {duplicates.FirstOrDefault()}");

        // Liveness: a member of the message's epoch that stayed connected throughout reads every relayed message.
        var delivered = deliveries.Select(d => (d.Incarnation, d.Message.Text)).ToHashSet();
        foreach (var (text, sender, envelope) in sent.Where(s => relay.FannedOut.Contains(s.Text)))
        {
            foreach (var client in live)
            {
                var incarnation = client.Incarnation;
                if (incarnation != sender && relay.MembersOfEpoch(envelope.Epoch).Contains(incarnation)
                    && relay.RecipientsOf(text).Contains(incarnation))
                {
                    Assert.True(delivered.Contains((incarnation, text)), $"{incarnation} never read {text} (epoch {envelope.Epoch})");
                }
            }
        }

        // Safety: replay every message into every session ever created; only members of its epoch may read it,
        // and only if they had not read it yet.
        foreach (var (text, sender, envelope) in sent)
        {
            var insiders = relay.MembersOfEpoch(envelope.Epoch);
            foreach (var client in sim.Clients)
            {
                foreach (var (incarnation, session) in client.AllSessions)
                {
                    var outcome = session.Decrypt(envelope.Clone());
                    if (outcome is MessageDelivered)
                    {
                        Assert.True(insiders.Contains(incarnation) && incarnation != sender, $"outsider {incarnation} read {text} of epoch {envelope.Epoch}");
                        Assert.False(delivered.Contains((incarnation, text)), $"{incarnation} read {text} a second time");
                    }
                }
            }
        }

        totals.Messages += sent.Count;
        totals.Deliveries += deliveries.Count;
        totals.Commits += relay.AcceptedCommits;
        totals.RejectedCommits += relay.RejectedCommits;
        totals.Held += sim.Clients.Sum(c => c.DecryptOutcomes.Count(o => o is MessageHeld));
        totals.Replays += sim.Clients.Sum(c => c.DecryptOutcomes.Count(o => o is MessageRejected { Reason: DecryptRejection.Replay }));
    }

    private sealed class Totals
    {
        public int Messages { get; set; }

        public int Deliveries { get; set; }

        public int Commits { get; set; }

        public int RejectedCommits { get; set; }

        public int Held { get; set; }

        public int Replays { get; set; }
    }
}
