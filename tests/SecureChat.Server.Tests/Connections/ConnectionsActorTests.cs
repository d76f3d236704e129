using Akka.Actor;
using Akka.TestKit.Xunit2;
using Google.Protobuf;
using SecureChat.Core.Wire;
using SecureChat.Server.Connections;
using SecureChat.Testing.Fakes;
using SecureChat.Testing.RawClients;

namespace SecureChat.Server.Tests.Connections;

/// <summary>The parent of the connections: starts them for the listener and stops (never restarts) one that fails.</summary>
public sealed class ConnectionsActorTests : TestKit
{
    private static readonly ConnectionSettings Settings = new(4096, 2, 10, TimeSpan.FromSeconds(10), TimeSpan.Zero, 10);

    [Fact]
    public async Task A_connection_that_fails_is_stopped_once_closed_and_logged_with_its_client()
    {
        var parent = Sys.ActorOf(ConnectionsActor.Props(CreateTestProbe().Ref, Sys.ActorOf(SignInActor.Props()), Settings));
        var io = new FailingIo();
        var connection = (await parent.Ask<ConnectionOpened>(new OpenConnection(io, "alice", "127.0.0.1:5555"), TimeSpan.FromSeconds(3))).Connection;
        Watch(connection);
        AwaitCondition(() => io.Starts == 1);

        EventFilter.Error(contains: "Connection of alice at 127.0.0.1:5555 failed").ExpectOne(() =>
            connection.Tell(new FrameReceived(Frames.Hello("alice").ToByteString()))); // answering it, the socket throws

        ExpectTerminated(connection);
        Assert.Equal(1, io.Starts); // a restart would have started a second read loop
        Assert.True(io.Closed);
    }

    [Fact]
    public async Task A_second_connection_with_the_same_id_takes_over_the_first_is_told_signed_in_elsewhere_and_closed_cleanly()
    {
        var parent = Sys.ActorOf(ConnectionsActor.Props(CreateTestProbe().Ref, Sys.ActorOf(SignInActor.Props()), Settings));
        using var firstIo = new FakeConnectionIo();
        using var secondIo = new FakeConnectionIo();
        using var bobIo = new FakeConnectionIo();
        var first = await OpenAsync(parent, firstIo, "alice");
        var bob = await OpenAsync(parent, bobIo, "bob");
        Watch(first);
        Watch(bob);
        first.Tell(new FrameReceived(Frames.Hello("alice").ToByteString()));
        bob.Tell(new FrameReceived(Frames.Hello("bob").ToByteString()));
        firstIo.NextSent(MessageType.Welcome);
        bobIo.NextSent(MessageType.Welcome);

        var second = await OpenAsync(parent, secondIo, "alice");
        Watch(second);
        Assert.False(firstIo.Closed); // an authenticated connection alone takes nothing over: its HELLO does
        second.Tell(new FrameReceived(Frames.Hello("alice").ToByteString()));

        secondIo.NextSent(MessageType.Welcome);
        var error = firstIo.NextSent(MessageType.Error).Error;
        Assert.Equal((ErrorCode.SignedInElsewhere, true), (error.Code, error.Fatal));
        Assert.Contains("alice", error.Reason, StringComparison.Ordinal);
        ExpectTerminated(first);
        Assert.True(firstIo.ClosedWithFlush); // the ERROR is written before the socket closes

        // The newer connection and the other id's stay; the first one's end took nothing from them.
        second.Tell(new FrameReceived(Frames.Ping("alice", 7).ToByteString()));
        Assert.Equal(7UL, secondIo.NextSent(MessageType.Pong).Sequence);
        bob.Tell(new FrameReceived(Frames.Ping("bob", 8).ToByteString()));
        Assert.Equal(8UL, bobIo.NextSent(MessageType.Pong).Sequence);
        Assert.False(secondIo.Closed);
        Assert.False(bobIo.Closed);

        // A third takes over from the second in turn.
        using var thirdIo = new FakeConnectionIo();
        var third = await OpenAsync(parent, thirdIo, "alice");
        third.Tell(new FrameReceived(Frames.Hello("alice").ToByteString()));
        Assert.Equal(ErrorCode.SignedInElsewhere, secondIo.NextSent(MessageType.Error).Error.Code);
        ExpectTerminated(second);
        ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // bob's connection goes on
    }

    private static async Task<IActorRef> OpenAsync(IActorRef parent, FakeConnectionIo io, string clientId)
    {
        var connection = (await parent.Ask<ConnectionOpened>(new OpenConnection(io, clientId, "127.0.0.1:5555"), TimeSpan.FromSeconds(3))).Connection;
        await Testing.Honest.Eventually.TrueAsync(() => io.Owner is not null, "the connection started its socket");
        return connection;
    }

    /// <summary>A socket whose writes throw: what the connection does not expect.</summary>
    private sealed class FailingIo : IConnectionIo
    {
        private int _starts;

        public int Starts => Volatile.Read(ref _starts);

        public bool Closed { get; private set; }

        public void Start(IActorRef owner) => Interlocked.Increment(ref _starts);

        public bool TrySend(ByteString envelope) => throw new InvalidOperationException("socket broke");

        public void Close(bool flush) => Closed = true;
    }
}
