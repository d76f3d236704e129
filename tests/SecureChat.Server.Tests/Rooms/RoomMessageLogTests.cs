using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.TestKit;
using Akka.TestKit;
using Newtonsoft.Json;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Relay;
using SecureChat.Server.Messaging;
using SecureChat.Server.Rooms;
using SecureChat.Testing.RawClients;

namespace SecureChat.Server.Tests.Rooms;

/// <summary>
/// The room's message log in its journal (PROTOCOL.md §4.4.1): one journal event per group-commit batch, one write in flight
/// while the next batch gathers, the fan-out never waiting for it; STORED only once a sender's batch is durable, never when
/// the journal fails it; and a journal written before batching (one event per message) still recovers.
/// </summary>
public sealed class RoomMessageLogTests : RoomTestKit
{
    private static readonly MessageLogLimits WithLog = MessageLogLimits.Default;
    private readonly (TestMember Member, TestProbe Connection) _alice;
    private readonly (TestMember Member, TestProbe Connection) _bob;

    public RoomMessageLogTests()
    {
        _alice = Member("alice");
        _bob = Member("bob");
    }

    [Fact]
    public async Task Stored_reaches_a_sender_only_once_its_batch_is_durable_while_the_fan_out_and_the_next_batch_go_on_meanwhile()
    {
        var room = RoomWithAliceAndBobAndOneStoredMessage();
        var held = new BatchWrites();
        await Journal.OnWrite.SetInterceptorAsync(held);

        Publish(room, 2);
        Assert.Equal(2ul, ExpectFrame(_bob.Connection, MessageType.Application).RoomSeq); // the fan-out did not wait for the disk
        Assert.Equal(2ul, ExpectFrame(_alice.Connection, MessageType.Relayed).RoomSeq);
        await held.First.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Publish(room, 3);
        Publish(room, 4);
        Assert.Equal([3ul, 4ul], [ExpectFrame(_bob.Connection, MessageType.Application).RoomSeq, ExpectFrame(_bob.Connection, MessageType.Application).RoomSeq]);
        Assert.Equal([3ul, 4ul], [ExpectFrame(_alice.Connection, MessageType.Relayed).RoomSeq, ExpectFrame(_alice.Connection, MessageType.Relayed).RoomSeq]);
        _alice.Connection.ExpectNoMsg(TimeSpan.FromMilliseconds(300)); // message 2's batch is still being written: no STORED

        held.Release.SetResult();

        // One STORED per write for each sender: message 2's, then one naming 4 that lists 3 before it.
        Assert.Equal(2ul, ExpectFrame(_alice.Connection, MessageType.Stored).RoomSeq);
        var both = ExpectFrame(_alice.Connection, MessageType.Stored);
        Assert.Equal(4ul, both.RoomSeq);
        Assert.Equal([3ul], both.Stored.Earlier.Select(m => m.RoomSeq));
        var batches = Journaled(RoomActor.PersistenceIdOf(Room)).Select(p => p.Payload).OfType<MessageLogBatch>();
        Assert.Equal([[1ul], [2ul], [3ul, 4ul]], batches.Select(b => b.Entries.Cast<MessageLogged>().Select(m => m.Message.Seq).ToArray()));
    }

    [Fact]
    public async Task A_batch_the_journal_fails_is_never_stored_and_its_sender_is_told_the_room_could_not_keep_it()
    {
        var room = RoomWithAliceAndBobAndOneStoredMessage();
        Watch(room);
        await Journal.OnWrite.SetInterceptorAsync(new BatchWrites { Fail = true });

        Publish(room, 2);

        ExpectFrame(_bob.Connection, MessageType.Application);
        ExpectFrame(_alice.Connection, MessageType.Relayed);
        var error = _alice.Connection.ExpectMsg<RoomError>(TimeSpan.FromSeconds(10));
        Assert.Equal((ErrorCode.Internal, true), (error.Code, error.NotInRoom));
        Assert.Contains("could not store", error.Reason, StringComparison.Ordinal);
        ExpectTerminated(room);
        _alice.Connection.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // no STORED, ever

        await Journal.OnWrite.Pass();
        Assert.Equal([1ul], Status(StartRoom(messageLog: WithLog)).Durable.Messages.Select(m => m.Seq));
    }

    [Fact]
    public void A_journal_written_one_event_per_message_before_batching_recovers_and_its_messages_replay_with_the_batched_ones()
    {
        var room = StartRoom(messageLog: WithLog);
        AliceAndBobInTheRoom(room, _alice, _bob);
        Stop(room);

        // What a server before batching wrote for three messages and bob's ACK: one journal event each.
        var epoch = 2ul;
        Append(
            new LogOpened(epoch, new SkippedSeqs(0, 1)),
            new MessageLogged(epoch, Logged(1)),
            new MessageLogged(epoch, Logged(2)),
            new PositionAcknowledged(epoch, "bob", 1),
            new MessageLogged(epoch, Logged(3)));

        var upgraded = StartRoom(messageLog: WithLog);
        var recovered = Status(upgraded).Durable;
        Assert.Equal([1ul, 2ul, 3ul], recovered.Messages.Select(m => m.Seq));
        Assert.Equal([new MemberPosition("alice", 0), new MemberPosition("bob", 1)], recovered.Positions);

        var aliceBack = CreateTestProbe();
        upgraded.Tell(Join(_alice.Member, aliceBack) with { KnownEpoch = epoch, LastSeq = 3 });
        ExpectFrame(aliceBack, MessageType.Joined);
        upgraded.Tell(new PublishToRoom(Room, "alice", epoch, 4, Frames.Application("alice", Room, epoch, 4).Bytes(), aliceBack.Ref));
        var fourth = ExpectFrame(aliceBack, MessageType.Relayed).RoomSeq; // a new run: past the numbers an old run may have given out
        Assert.Equal(fourth, ExpectFrame(aliceBack, MessageType.Stored).RoomSeq);
        var before = Status(upgraded).Durable;

        var again = Restart(upgraded, WithLog);
        Assert.Equal(before.Messages, Status(again).Durable.Messages);
        var bobBack = CreateTestProbe();
        again.Tell(Join(_bob.Member, bobBack) with { KnownEpoch = epoch, LastSeq = 1 });
        Assert.Equal([2ul, 3ul, fourth], Enumerable.Range(0, 3).Select(_ => ExpectFrame(bobBack, MessageType.Application).RoomSeq));
        Assert.Equal(JoinMode.Resumed, ExpectFrame(bobBack, MessageType.Joined).Joined.Mode);
    }

    /// <summary>Alice and bob in a room with a message log; alice's message 1 relayed and STORED (the log opened with it).</summary>
    private IActorRef RoomWithAliceAndBobAndOneStoredMessage()
    {
        var room = StartRoom(messageLog: WithLog);
        AliceAndBobInTheRoom(room, _alice, _bob);
        Publish(room, 1);
        ExpectFrame(_bob.Connection, MessageType.Application);
        ExpectFrame(_alice.Connection, MessageType.Relayed);
        Assert.Equal(1ul, ExpectFrame(_alice.Connection, MessageType.Stored).RoomSeq);
        return room;
    }

    private void Publish(IActorRef room, ulong sequence) =>
        room.Tell(new PublishToRoom(Room, "alice", 2, sequence, Frames.Application("alice", Room, 2, sequence).Bytes(), _alice.Connection.Ref));

    private static LoggedMessage Logged(ulong seq) =>
        new(seq, "alice", 2, seq, (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), Frames.Application("alice", Room, 2, seq).Bytes());

    /// <summary>Writes <paramref name="events"/> after what the room's journal holds, one atomic write each.</summary>
    private void Append(params RoomEvent[] events)
    {
        var persistenceId = RoomActor.PersistenceIdOf(Room);
        var next = Journaled(persistenceId).Max(p => p.SequenceNr) + 1;
        var writer = CreateTestProbe();
        var writes = events.Select((e, i) => (IPersistentEnvelope)new AtomicWrite(new Persistent(e, next + i, persistenceId, writerGuid: "before-batching")))
            .ToImmutableList();
        Persistence.Instance.Apply(Sys).JournalFor(null).Tell(new WriteMessages(writes, writer.Ref, 1));
        writer.ExpectMsg<WriteMessagesSuccessful>();
    }

    /// <summary>
    /// Holds every message-log write until <see cref="Release"/> (<see cref="First"/> is set when the first arrives), or fails
    /// each one (<see cref="Fail"/>): a disk that is slow, or gone. The journal gets a copy of it (the test system verifies
    /// that every message serializes), so the copies share their signals by <see cref="Id"/>.
    /// </summary>
    private sealed class BatchWrites : IJournalInterceptor
    {
        private static readonly ConcurrentDictionary<string, (TaskCompletionSource First, TaskCompletionSource Release)> Signals = new();

        public string Id { get; init; } = Guid.NewGuid().ToString("N");

        public bool Fail { get; init; }

        [JsonIgnore]
        public TaskCompletionSource First => Shared.First;

        [JsonIgnore]
        public TaskCompletionSource Release => Shared.Release;

        private (TaskCompletionSource First, TaskCompletionSource Release) Shared => Signals.GetOrAdd(Id, _ =>
            (new(TaskCreationOptions.RunContinuationsAsynchronously), new(TaskCreationOptions.RunContinuationsAsynchronously)));

        public async Task InterceptAsync(IPersistentRepresentation message)
        {
            if (message.Payload is not MessageLogBatch)
            {
                return;
            }

            if (Fail)
            {
                throw new IOException("the disk is gone");
            }

            First.TrySetResult();
            await Release.Task;
        }
    }
}
