using Google.Protobuf;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Testing.Simulation;
using static SecureChat.Adversarial.Tests.MaliciousRelay.AttackingRelay;

namespace SecureChat.Adversarial.Tests.MaliciousRelay;

/// <summary>
/// A malicious relay attacking APPLICATION messages. For each attack: what the victim sees, that no forged or
/// replayed message is ever delivered as genuine, and that all genuine messages arrive once the attack stops.
/// </summary>
public sealed class MessageAttackTests
{
    private static readonly string[] Members = ["alice", "bob", "carol"];

    [Fact]
    public void Record_and_drop_the_victim_sees_nothing_later_messages_still_open_and_a_late_copy_opens_once()
    {
        using var relay = new AttackingRelay(101, Members);
        relay.Attack = (to, e) => to == "bob" && e.Type == MessageType.Application ? [] : [e];

        relay.Send("alice", "dropped for bob 1");
        relay.Send("alice", "dropped for bob 2");
        Assert.Empty(relay["bob"].Delivered); // not claimed: the relay can silently drop (availability)

        relay.Attack = null;
        relay.Send("alice", "after the attack");
        Assert.Equal(["after the attack"], relay["bob"].Delivered.Select(d => d.Message.Text));

        // The recording replayed late: the skipped keys were cached, so each opens exactly once.
        foreach (var (_, recorded) in relay.Recorded.Where(r => r.To == "bob" && r.Envelope.Type == MessageType.Application).Take(2).ToList())
        {
            relay.Inject("bob", recorded);
            relay.Inject("bob", recorded);
            Assert.Equal(DecryptRejection.Replay, Rejection(relay.LastDecrypt("bob")));
        }

        relay.AssertNothingForgedOrReplayedWasDelivered();
        relay.AssertEveryGenuineMessageArrived(Members);
    }

    [Fact]
    public void Duplicate_every_message_the_copies_are_refused_as_replays_and_each_message_is_delivered_once()
    {
        using var relay = new AttackingRelay(102, Members);
        relay.Attack = (_, e) => e.Type == MessageType.Application ? [e, e.Clone(), e.Clone()] : [e];

        for (var i = 0; i < 5; i++)
        {
            relay.Send(Members[i % 3], $"line {i}");
        }

        foreach (var member in Members)
        {
            var refusals = relay[member].DecryptOutcomes.OfType<MessageRejected>().ToList();
            Assert.NotEmpty(refusals);
            Assert.All(refusals, r => Assert.Equal(DecryptRejection.Replay, r.Reason));
        }

        relay.AssertNothingForgedOrReplayedWasDelivered();
        relay.AssertEveryGenuineMessageArrived(Members);
    }

    [Fact]
    public void Reorder_messages_each_is_delivered_once_with_its_true_generation()
    {
        using var relay = new AttackingRelay(103, Members);
        relay.Attack = (to, e) =>
        {
            if (e.Type != MessageType.Application)
            {
                return [e];
            }

            relay.Withheld.Add((to, e));
            return [];
        };

        for (var i = 0; i < 20; i++)
        {
            relay.Send("alice", $"ordered {i}");
        }

        relay.Attack = null;
        relay.Release(held => held.Reverse());

        var atBob = relay["bob"].Delivered.Select(d => d.Message).ToList();
        Assert.Equal(Enumerable.Range(0, 20).Reverse().Select(i => $"ordered {i}"), atBob.Select(m => m.Text));
        Assert.Equal(Enumerable.Range(0, 20).Reverse().Select(i => (ulong)i), atBob.Select(m => m.Generation)); // the reorder is visible, not hidden
        relay.AssertNothingForgedOrReplayedWasDelivered();
        relay.AssertEveryGenuineMessageArrived(Members);
    }

    [Fact]
    public void Delay_messages_across_an_epoch_change_they_still_open_from_the_retained_epoch()
    {
        using var relay = new AttackingRelay(104, Members);
        relay.Attack = (to, e) =>
        {
            if (e.Type != MessageType.Application)
            {
                return [e];
            }

            relay.Withheld.Add((to, e));
            return [];
        };
        relay.Send("alice", "written in the old epoch");
        var oldEpoch = relay.Session("bob").Epoch;

        relay.Rekey("carol");
        Assert.Equal(oldEpoch + 1, relay.Session("bob").Epoch);
        relay.Attack = null;
        relay.Release();

        Assert.Equal(oldEpoch, relay["bob"].Delivered.Single().Message.Epoch);
        relay.Send("bob", "written in the new epoch");
        relay.AssertNothingForgedOrReplayedWasDelivered();
        relay.AssertEveryGenuineMessageArrived(Members);
    }

    [Fact]
    public void Replay_in_the_same_room_is_refused_as_a_replay_and_never_redelivered()
    {
        using var relay = new AttackingRelay(105, Members);
        var first = relay.Send("alice", "pay 10 euros");
        relay.Send("alice", "and nothing more");

        relay.Inject("bob", first);
        Assert.Equal(DecryptRejection.Replay, Rejection(relay.LastDecrypt("bob")));

        relay.AssertNothingForgedOrReplayedWasDelivered();
        relay.AssertEveryGenuineMessageArrived(Members);
    }

    [Fact]
    public void Replay_into_another_room_is_refused_whether_the_room_field_is_left_or_rewritten()
    {
        using var relay = new AttackingRelay(106, Members);
        using var otherRoom = new GroupSimulation(106, roomId: "room-2"); // same seed: same people, same key material draws
        otherRoom.JoinAll(Members);
        var envelope = relay.Send("alice", "for room-1 only");
        var bobElsewhere = otherRoom["bob"].Session!;

        Assert.Equal(DecryptRejection.WrongRoom, Rejection(bobElsewhere.Decrypt(envelope)));
        var rewritten = envelope.Clone();
        rewritten.RoomId = "room-2";
        Assert.Equal(DecryptRejection.OtherHistory, Rejection(bobElsewhere.Decrypt(rewritten)));
        rewritten.HistoryTag = ByteString.CopyFrom(bobElsewhere.TranscriptHash[..8]);
        Assert.Equal(DecryptRejection.AuthenticationFailed, Rejection(bobElsewhere.Decrypt(rewritten)));

        Assert.Empty(otherRoom["bob"].Delivered);
        relay.AssertNothingForgedOrReplayedWasDelivered();
        relay.AssertEveryGenuineMessageArrived(Members);
    }

    [Fact]
    public void Replay_into_another_epoch_is_refused_and_after_retention_the_old_epoch_is_gone()
    {
        using var relay = new AttackingRelay(107, Members);
        var old = relay.Send("alice", "epoch one");
        relay.Rekey("alice"); // her commit carries her count: no summary takes generation 0 of the new epoch (§10.4)

        var relabelled = old.Clone();
        relabelled.Epoch = relay.Session("carol").Epoch;
        relay.Inject("carol", relabelled);
        Assert.Equal(DecryptRejection.OtherHistory, Rejection(relay.LastDecrypt("carol")));
        relabelled.HistoryTag = ByteString.CopyFrom(relay.Session("carol").TranscriptHash[..8]);
        relay.Inject("carol", relabelled);
        Assert.Equal(DecryptRejection.AuthenticationFailed, Rejection(relay.LastDecrypt("carol")));

        relay.Inject("carol", old);
        Assert.Equal(DecryptRejection.Replay, Rejection(relay.LastDecrypt("carol")));

        relay.Sim.Clock.Advance(relay.Session("carol").Options.PreviousEpochRetentionMs + 1);
        relay.Session("carol").Tick();
        relay.Inject("carol", old);
        Assert.Equal(DecryptRejection.ExpiredEpoch, Rejection(relay.LastDecrypt("carol")));

        relay.Send("alice", "new epoch");
        relay.AssertNothingForgedOrReplayedWasDelivered();
        relay.AssertEveryGenuineMessageArrived(Members);
    }

    [Fact]
    public void Flip_any_bit_of_an_application_envelope_and_it_is_never_delivered_nor_burns_the_real_key()
    {
        using var relay = new AttackingRelay(108, Members);
        var original = Scenario.Seal(relay.Sim, "alice", "the genuine text");
        var bytes = original.ToByteArray();
        var bob = relay.Session("bob");
        var outcomes = new Dictionary<string, int>();
        var held = new List<Envelope>();

        for (var bit = 0; bit < bytes.Length * 8; bit++)
        {
            var flipped = (byte[])bytes.Clone();
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));
            Envelope envelope;
            try
            {
                envelope = Envelope.Parser.ParseFrom(flipped);
            }
            catch (InvalidProtocolBufferException)
            {
                Count(outcomes, "unparsable");
                continue;
            }

            var outcome = bob.Decrypt(envelope);
            Assert.IsNotType<MessageDelivered>(outcome);
            if (outcome is MessageHeld)
            {
                held.Add(envelope);
            }

            Count(outcomes, outcome is MessageRejected r ? r.Reason.ToString() : outcome.GetType().Name);
        }

        // Held ones (epoch field flipped upward) are retried after the next commit, as a client does: still refused.
        relay.Rekey("carol");
        Assert.All(held, e => Assert.IsNotType<MessageDelivered>(bob.Decrypt(e)));

        Assert.Equal("the genuine text", Assert.IsType<MessageDelivered>(bob.Decrypt(original)).Text);
        Assert.True(outcomes.ContainsKey(nameof(DecryptRejection.AuthenticationFailed)), string.Join(", ", outcomes));
    }

    private static void Count(Dictionary<string, int> counts, string key) => counts[key] = counts.GetValueOrDefault(key) + 1;
}
