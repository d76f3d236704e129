using Akka.Actor;
using Akka.TestKit.Xunit2;
using Google.Protobuf;
using SecureChat.Server.Connections;
using SecureChat.Testing.RawClients;

namespace SecureChat.Server.Tests.Connections;

/// <summary>The parent of the connections: starts them for the listener and stops (never restarts) one that fails.</summary>
public sealed class ConnectionsActorTests : TestKit
{
    private static readonly ConnectionSettings Settings = new(4096, 2, 10, TimeSpan.FromSeconds(10), TimeSpan.Zero, 10);

    [Fact]
    public async Task A_connection_that_fails_is_stopped_once_closed_and_logged_with_its_client()
    {
        var parent = Sys.ActorOf(ConnectionsActor.Props(CreateTestProbe().Ref, Settings));
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
