using Akka.Actor;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Protocol.Relay;
using SecureChat.Server.Serialization;
using SecureChat.Testing.RawClients;

namespace SecureChat.Benchmarks.Micro;

/// <summary>
/// What the durable message log adds to a relayed message on the server, without sockets or actors: the room state's
/// publish with and without the log (with the log, its STORED once durable), one journal event of a batch serialized,
/// and the snapshot that carries a full log (10,000 messages), per message.
/// </summary>
[MemoryDiagnoser]
public class MessageLogBenchmarks
{
    private const string Room = "lobby";
    private const int BatchMessages = 180; // one 64 KiB journal event of 256-byte messages
    private const int LogMessages = 10_000;

    private readonly List<IDisposable> _owned = [];
    private RoomState<string> _withLog = null!;
    private RoomState<string> _withoutLog = null!;
    private ByteString _envelope = null!;
    private ulong _sequence;
    private ActorSystem _system = null!;
    private ClusterMessageSerializer _serializer = null!;
    private MessageLogBatch _batch = null!;
    private RoomState<string> _fullLog = null!;

    [GlobalSetup]
    public void Setup()
    {
        var alice = Own(new TestMember("alice"));
        var bob = Own(new TestMember("bob"));
        _withLog = AliceAndBob(alice, bob, MessageLogLimits.Default);
        _withoutLog = AliceAndBob(alice, bob, null);
        _fullLog = AliceAndBob(alice, bob, MessageLogLimits.Default);
        _envelope = Frames.Application("alice", Room, 2, 1, ciphertextBytes: 256).Bytes();
        for (ulong i = 1; i <= LogMessages; i++)
        {
            _fullLog.Publish("alice", 2, i, _envelope, "alice-1");
        }

        _batch = new MessageLogBatch(2, [.. _fullLog.Messages.Take(BatchMessages).Select(m => new MessageLogged(2, m))]);
        _system = ActorSystem.Create("bench", ClusterMessageSerializer.Hocon);
        _serializer = new ClusterMessageSerializer((ExtendedActorSystem)_system);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _system.Terminate().Wait();
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }
    }

    [Benchmark(Baseline = true, Description = "publish, no log")]
    public RoomDecision<string> PublishWithoutLog() => _withoutLog.Publish("alice", 2, ++_sequence, _envelope, "alice-1");

    [Benchmark(Description = "publish + STORED, log")]
    public RoomDecision<string> PublishWithLog()
    {
        _withLog.Publish("alice", 2, ++_sequence, _envelope, "alice-1");
        return _withLog.Stored(_withLog.LastSeq);
    }

    [Benchmark(OperationsPerInvoke = BatchMessages, Description = "journal event, per message")]
    public byte[] SerializeBatch() => _serializer.ToBinary(_batch);

    [Benchmark(OperationsPerInvoke = LogMessages, Description = "snapshot of a full log, per message")]
    public byte[] SerializeSnapshot() => _serializer.ToBinary(_fullLog.Durable());

    private static RoomState<string> AliceAndBob(TestMember alice, TestMember bob, MessageLogLimits? log)
    {
        var room = new RoomState<string>(Room, 0, new RoomSettings(10, TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(5), SystemClock.Instance)
        {
            MessageLog = log,
        });
        room.Start();
        room.Join("alice", alice.Bundle, CipherSuite.Aes256GcmX25519Ed25519Sha256, "alice-1");
        var creation = alice.CreateRoom(Room);
        room.SubmitCommit("alice", creation, "alice-1");
        room.Join("bob", bob.Bundle, CipherSuite.Aes256GcmX25519Ed25519Sha256, "bob-1");
        room.SubmitCommit("alice", alice.Commit(Room, 2, [alice.Bundle, bob.Bundle], added: [bob.Bundle], previous: TestMember.TranscriptHashOf(creation)), "alice-1");
        return room.Epoch == 2 ? room : throw new InvalidOperationException("the benchmark room did not form");
    }

    private T Own<T>(T owned)
        where T : IDisposable
    {
        _owned.Add(owned);
        return owned;
    }
}
