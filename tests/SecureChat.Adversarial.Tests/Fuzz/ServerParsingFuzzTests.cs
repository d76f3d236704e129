using System.Security.Cryptography;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using CsCheck;
using Google.Protobuf;
using SecureChat.Core.Framing;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Protocol.Relay;
using SecureChat.Server.Connections;
using SecureChat.Testing.Fakes;
using SecureChat.Testing.RawClients;
using SecureChat.Testing.Rooms;
using Xunit.Abstractions;
using Envelope = SecureChat.Core.Wire.Envelope;

namespace SecureChat.Adversarial.Tests.Fuzz;

/// <summary>
/// Property-based fuzzing of the server's parsing path: thousands of generated frames (random bytes, valid
/// envelopes of every type with bytes flipped, garbage length varints spliced in, truncations) go into real
/// ConnectionActors wired to the real rooms (a shard region in a cluster of one, every message through the cluster
/// serializer). Every answer must be a parsable envelope, every ERROR a
/// defined code, a close must follow a fatal ERROR, no actor may crash (no Akka Error event), and afterwards
/// a fresh connection is served normally. CsCheck prints the seed of any failing case; crashes found are
/// kept as regression cases in <see cref="Regressions"/>.
/// </summary>
public sealed class ServerParsingFuzzTests : TestKit
{
    private const ulong Sentinel = 0xF0F0_F0F0;
    private const string Client = "alice";
    private static readonly TestMember Keys = new(Client, room: "fuzz-room");
    private static readonly byte[][] Valid = BuildValidFrames();
    private readonly ITestOutputHelper _output;
    private readonly RoomsHost _host;
    private readonly IActorRef _rooms;
    private readonly Akka.TestKit.TestProbe _errors;
    private int _connections;

    public ServerParsingFuzzTests(ITestOutputHelper output)
        : this(RoomsHost.Start(new RoomSettings(10, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(500), SystemClock.Instance)), output)
    {
    }

    private ServerParsingFuzzTests(RoomsHost host, ITestOutputHelper output)
        : base(host.System, output)
    {
        _output = output;
        _host = host;
        _rooms = host.Relays;
        _errors = CreateTestProbe();
        Sys.EventStream.Subscribe(_errors.Ref, typeof(Akka.Event.Error));
    }

    private static readonly Gen<byte[]> HostileFrame = Gen.Frequency(
        (2, Gen.Byte.Array[0, 300]),
        (5, Gen.Select(Gen.Int[0, Valid.Length - 1], Gen.Int[0, 65536], Gen.Byte.Array[1, 6], (which, position, noise) =>
        {
            var bytes = (byte[])Valid[which].Clone();
            var at = position % bytes.Length;
            for (var i = 0; i < noise.Length; i++)
            {
                bytes[(at + (i * 7)) % bytes.Length] ^= noise[i] == 0 ? (byte)0x80 : noise[i];
            }

            return bytes;
        })),
        (2, Gen.Select(Gen.Int[0, Valid.Length - 1], Gen.Int[0, 65536], Gen.UInt, SpliceGarbageLength)),
        (1, Gen.Select(Gen.Int[0, Valid.Length - 1], Gen.Int[0, 65536], (which, cut) => Valid[which][..(cut % Valid[which].Length)])),
        (2, Gen.Int[0, Valid.Length - 1].Select(which => Valid[which])));

    [Fact]
    public void Thousands_of_hostile_frames_get_typed_errors_or_a_fatal_close_and_never_crash_a_connection()
    {
        var frames = 0;
        HostileFrame.Array[1, 25].Sample(sequence =>
        {
            Interlocked.Add(ref frames, sequence.Length);
            FeedOneConnection(sequence);
        }, iter: 400, threads: 1);

        _output.WriteLine($"{frames} hostile frames over 400 connections");
        Assert.True(frames > 2000);
        AssertNothingCrashed();
        AssertStillServing();
    }

    /// <summary>Inputs that once crashed or hung something (kept so they never come back); plus edge cases.</summary>
    public static TheoryData<string, string> Regressions => new()
    {
        { "empty body", "" },
        { "single zero byte", "00" },
        { "APPLICATION with a payload", Convert.ToHexString(new Envelope { Version = WireLimits.ProtocolVersion, Type = MessageType.Application, SenderId = Client, RoomId = "r", Hello = new Hello() }.ToByteArray()) },
        { "JOIN without a bundle", Convert.ToHexString(new Envelope { Version = WireLimits.ProtocolVersion, Type = MessageType.Join, SenderId = Client, RoomId = "r", Join = new Join() }.ToByteArray()) },
        { "COMMIT with garbage content", Convert.ToHexString(new Envelope { Version = WireLimits.ProtocolVersion, Type = MessageType.Commit, SenderId = Client, RoomId = "r", Epoch = 1, Commit = new SignedCommit { Content = ByteString.CopyFrom(0xFF, 0xFF), Signature = ByteString.CopyFrom(new byte[64]) } }.ToByteArray()) },
        { "huge epoch", Convert.ToHexString(new Envelope { Version = WireLimits.ProtocolVersion, Type = MessageType.Application, SenderId = Client, RoomId = "r", Epoch = ulong.MaxValue, Sequence = ulong.MaxValue, Nonce = ByteString.CopyFrom(new byte[12]), HistoryTag = ByteString.CopyFrom(new byte[8]), Ciphertext = ByteString.CopyFrom(new byte[16]) }.ToByteArray()) },
        { "version 1 HELLO", Convert.ToHexString(new Envelope { Version = 1, Type = MessageType.Hello, SenderId = Client, Hello = new Hello() }.ToByteArray()) },
        { "unknown type", Convert.ToHexString(new Envelope { Version = WireLimits.ProtocolVersion, Type = (MessageType)999, SenderId = Client }.ToByteArray()) },
    };

    [Theory]
    [MemberData(nameof(Regressions))]
    public void A_kept_hostile_frame_is_answered_without_a_crash(string name, string hex)
    {
        var io = FeedOneConnection([Convert.FromHexString(hex)]);
        Assert.NotEmpty(io.Sent);
        _output.WriteLine($"{name}: {string.Join(", ", io.Sent.Select(e => e.Type == MessageType.Error ? $"ERROR {e.Error.Code}" : e.Type.ToString()))}");
        AssertNothingCrashed();
        AssertStillServing();
    }

    [Fact]
    public void Hostile_byte_streams_split_into_frames_only_by_the_rules_and_fail_only_with_wire_format_errors()
    {
        const int Max = 4096;
        Gen.Select(Gen.Byte.Array[0, 64], HostileFrame.Array[0, 5], Gen.UInt).Sample((noise, bodies, length) =>
        {
            using var stream = new MemoryStream();
            foreach (var body in bodies)
            {
                stream.Write(FrameCodec.Encode(body.Length == 0 ? [0] : body, WireLimits.DefaultMaxFrameBytes));
            }

            var prefix = new byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(prefix, length);
            stream.Write(prefix);
            stream.Write(noise);
            stream.Position = 0;
            var reader = new FrameReader(stream, Max);
            try
            {
                while (reader.ReadFrameAsync().AsTask().GetAwaiter().GetResult() is { } frame)
                {
                    Assert.InRange(frame.Length, 1, Max);
                }
            }
            catch (WireFormatException)
            {
                // the only allowed failure
            }
        }, iter: 5000);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _host.Dispose();
        }
    }

    private FakeConnectionIo FeedOneConnection(byte[][] sequence)
    {
        var io = new FakeConnectionIo(settleOnPong: Sentinel);
        var settings = new ConnectionSettings(WireLimits.DefaultMaxFrameBytes, 4, 10, TimeSpan.FromSeconds(30), TimeSpan.Zero, 1000);
        var connection = Sys.ActorOf(ConnectionActor.Props(io, Client, "fuzz", _rooms, _host.SignIns, settings), $"fuzz-{Interlocked.Increment(ref _connections)}");
        connection.Tell(new FrameReceived(Frames.Hello(Client).ToByteString()));
        foreach (var frame in sequence)
        {
            connection.Tell(new FrameReceived(ByteString.CopyFrom(frame)));
        }

        connection.Tell(new FrameReceived(Frames.Ping(Client, Sentinel).ToByteString()));
        Assert.True(io.WaitSettled(TimeSpan.FromSeconds(10)), "the connection neither answered the final PING nor closed");

        foreach (var envelope in io.Sent.Where(e => e.Type == MessageType.Error))
        {
            Assert.True(Enum.IsDefined(envelope.Error.Code) && envelope.Error.Code != ErrorCode.Unspecified, $"undefined error code {envelope.Error.Code}");
            Assert.InRange(envelope.Error.Reason.Length, 0, 200);
        }

        if (io.Closed)
        {
            Assert.Contains(io.Sent, e => e.Type == MessageType.Error && e.Error.Fatal);
        }

        Sys.Stop(connection);
        return io;
    }

    private void AssertNothingCrashed()
    {
        var crashes = new List<string>();
        while (_errors.HasMessages)
        {
            crashes.Add(_errors.ReceiveOne(TimeSpan.Zero)?.ToString() ?? "");
        }

        Assert.True(crashes.Count == 0, "actors crashed: " + string.Join("\n", crashes));
    }

    /// <summary>A fresh, well-behaved client is still served: HELLO, JOIN a room, PING.</summary>
    private void AssertStillServing()
    {
        var io = new FakeConnectionIo(settleOnPong: 7);
        var connection = Sys.ActorOf(ConnectionActor.Props(io, "bob", "honest", _rooms, _host.SignIns,
            new ConnectionSettings(WireLimits.DefaultMaxFrameBytes, 4, 10, TimeSpan.FromSeconds(30), TimeSpan.Zero, 10)));
        using var bob = new TestMember("bob");
        var room = "after-" + Guid.NewGuid().ToString("N")[..8];
        connection.Tell(new FrameReceived(Frames.Hello("bob").ToByteString()));
        connection.Tell(new FrameReceived(Frames.Join("bob", room, bob.BundleFor(room)).ToByteString()));
        AwaitCondition(() => io.Sent.Any(e => e.Type == MessageType.CommitRequest), TimeSpan.FromSeconds(10));
        connection.Tell(new FrameReceived(Frames.Ping("bob", 7).ToByteString()));
        Assert.True(io.WaitSettled(TimeSpan.FromSeconds(10)));
        Assert.Equal([MessageType.Welcome, MessageType.Joined, MessageType.CommitRequest, MessageType.Pong], io.Sent.Select(e => e.Type));
        Sys.Stop(connection);
    }

    private static byte[][] BuildValidFrames()
    {
        const string Room = "fuzz-room";
        var create = Keys.CreateRoom(Room);
        var commitRequest = new CommitRequest { NewEpoch = 2, Suite = CipherSuite.Aes256GcmX25519Ed25519Sha256, DeadlineMs = 1000 };
        commitRequest.Adds.Add(new Add { Bundle = Keys.Bundle });
        Envelope[] envelopes =
        [
            Frames.Hello(Client),
            Frames.Join(Client, Room, Keys.Bundle),
            Frames.Leave(Client, Room),
            Frames.Commit(Client, Room, 1, create),
            Frames.Commit(Client, Room, 2, Keys.Commit(Room, 2, [Keys.Bundle], previous: TestMember.TranscriptHashOf(create))),
            Frames.Application(Client, Room, 1, 0),
            Frames.Ping(Client, 1),
            new() { Version = WireLimits.ProtocolVersion, Type = MessageType.Pong, SenderId = Client, Sequence = 1 },
            new() { Version = WireLimits.ProtocolVersion, Type = MessageType.Welcome, SenderId = Client, Welcome = new Welcome { ClientId = Client, MaxFrameBytes = 65536 } },
            new() { Version = WireLimits.ProtocolVersion, Type = MessageType.Joined, SenderId = Client, RoomId = Room, Joined = new Joined { CurrentEpoch = 1, MemberCount = 1 } },
            new() { Version = WireLimits.ProtocolVersion, Type = MessageType.CommitRequest, SenderId = Client, RoomId = Room, Epoch = 2, CommitRequest = commitRequest },
            new() { Version = WireLimits.ProtocolVersion, Type = MessageType.Error, SenderId = Client, Error = new Error { Code = ErrorCode.Internal, Reason = "x", Fatal = false } },
        ];
        return [.. envelopes.Select(e => e.ToByteArray()), RandomNumberGenerator.GetBytes(64)];
    }

    /// <summary>Inserts a length-delimited field whose varint length is garbage, up to ~4 GiB.</summary>
    private static byte[] SpliceGarbageLength(int which, int position, uint length)
    {
        var source = Valid[which];
        var at = position % (source.Length + 1);
        var tag = (byte)((((length % 14) + 2) << 3) | 2);
        var varint = new byte[10];
        var output = new CodedOutputStream(varint);
        output.WriteUInt32(length);
        output.Flush();
        return [.. source.AsSpan(0, at), tag, .. varint.AsSpan(0, (int)output.Position), .. source.AsSpan(at)];
    }
}
