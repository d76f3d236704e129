using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.TestKit;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Google.Protobuf;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Protocol.Relay;
using SecureChat.Server.Messaging;
using SecureChat.Server.Rooms;
using SecureChat.Testing.RawClients;
using SecureChat.Testing.Rooms;
using Envelope = SecureChat.Core.Wire.Envelope;

namespace SecureChat.Server.Tests.Rooms;

/// <summary>
/// A TestKit for one <see cref="RoomActor"/> at a time, with TestProbes standing in for the members' connections.
/// The room journals in the Akka.Persistence.TestKit journal, and every message goes through the cluster serializer
/// (<see cref="PersistenceTestConfig"/>).
/// </summary>
public abstract class RoomTestKit : TestKit
{
    protected const string Room = "lobby";
    protected static readonly TimeSpan CommitTimeout = TimeSpan.FromMilliseconds(400);
    private readonly List<TestMember> _members = [];

    protected RoomTestKit()
        : base(PersistenceTestConfig.Hocon)
    {
    }

    /// <summary>The test journal, told by a test to pass, delay, fail or refuse writes.</summary>
    protected ITestJournal Journal => TestJournal.FromRef(Persistence.Instance.Apply(Sys).JournalFor(null));

    /// <summary>A room actor for <see cref="Room"/>: a new incarnation each call, recovering from the journal.</summary>
    protected IActorRef StartRoom(int snapshotEvery = 100, MessageLogLimits? messageLog = null) =>
        Sys.ActorOf(RoomActor.Props(Room, new RoomSettings(10, CommitTimeout, TimeSpan.FromMinutes(5), SystemClock.Instance) { MessageLog = messageLog },
            snapshotEvery));

    protected (TestMember Member, TestProbe Connection) Member(string id)
    {
        var member = new TestMember(id);
        _members.Add(member);
        return (member, CreateTestProbe());
    }

    /// <summary>
    /// Alice creates the room and admits bob: epoch 2, both connected, every frame so far read. Returns TH_2 (the next
    /// commit's previous transcript hash).
    /// </summary>
    protected static ByteString AliceAndBobInTheRoom(IActorRef room, (TestMember Member, TestProbe Connection) alice, (TestMember Member, TestProbe Connection) bob)
    {
        room.Tell(Join(alice.Member, alice.Connection));
        var creation = alice.Member.CreateRoom(Room);
        room.Tell(Submit(alice.Member, alice.Connection, creation));
        room.Tell(Join(bob.Member, bob.Connection));
        var admission = alice.Member.Commit(Room, 2, [alice.Member.Bundle, bob.Member.Bundle], added: [bob.Member.Bundle],
            previous: TestMember.TranscriptHashOf(creation));
        room.Tell(Submit(alice.Member, alice.Connection, admission));
        ExpectFrame(bob.Connection, MessageType.Joined);
        ExpectFrame(bob.Connection, MessageType.Commit);
        alice.Connection.FishForMessage(m => m is RoomFrame frame && Frames.Parse(frame.Envelope) is { Type: MessageType.Commit, Epoch: 2 });
        return TestMember.TranscriptHashOf(admission);
    }

    protected static JoinRoom Join(TestMember member, TestProbe connection) =>
        new(Room, member.Id, member.Bundle.Content, member.Bundle.Signature, CipherSuite.Aes256GcmX25519Ed25519Sha256, connection.Ref);

    protected static SubmitCommit Submit(TestMember member, TestProbe connection, SignedCommit commit) =>
        new(Room, member.Id, commit.Content, commit.Signature, commit.ConfirmationTag, connection.Ref);

    protected static Envelope ExpectFrame(TestProbe connection, MessageType type, TimeSpan? timeout = null)
    {
        var frame = connection.ExpectMsg<RoomFrame>(timeout ?? TimeSpan.FromSeconds(10)); // generous: CI shares its cores
        Assert.Equal(Room, frame.RoomId);
        var envelope = Frames.Parse(frame.Envelope);
        Assert.Equal(type, envelope.Type);
        return envelope;
    }

    /// <summary>Stops the room as sharding does (the stop message waits for writes in flight) and starts its next incarnation.</summary>
    protected IActorRef Restart(IActorRef room, MessageLogLimits? messageLog = null)
    {
        Stop(room);
        return StartRoom(messageLog: messageLog);
    }

    /// <summary>Stops the room as sharding does (the stop message waits for writes in flight), and waits until it has.</summary>
    protected void Stop(IActorRef room)
    {
        Watch(room);
        room.Tell(StopRoom.Instance);
        ExpectTerminated(room);
    }

    /// <summary>What the journal holds for <paramref name="persistenceId"/>, in order.</summary>
    protected List<IPersistentRepresentation> Journaled(string persistenceId)
    {
        var journal = Persistence.Instance.Apply(Sys).JournalFor(null);
        var replayer = CreateTestProbe();
        journal.Tell(new ReplayMessages(0, long.MaxValue, long.MaxValue, persistenceId, replayer.Ref));
        var events = new List<IPersistentRepresentation>();
        replayer.FishForMessage(message =>
        {
            if (message is ReplayedMessage replayed)
            {
                events.Add(replayed.Persistent);
            }

            return message is RecoverySuccess or ReplayMessagesFailure;
        });
        return events;
    }

    protected RoomStatus Status(IActorRef room)
    {
        room.Tell(new GetRoomState(Room), TestActor);
        return ExpectMsg<RoomStatus>();
    }

    protected override void Dispose(bool disposing)
    {
        foreach (var member in _members)
        {
            member.Dispose();
        }

        base.Dispose(disposing);
    }
}
