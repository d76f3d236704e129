using Akka.Actor;
using Google.Protobuf;

namespace SecureChat.Server.Connections;

/// <summary>
/// The socket side of one connection, owned outside the actor: a read loop that reports frames to the
/// actor, and a bounded outbound queue drained by a writer task. The actor gets it at creation only.
/// </summary>
public interface IConnectionIo
{
    /// <summary>Starts the read and write loops; the read loop reports to <paramref name="owner"/> with
    /// <see cref="FrameReceived"/>, <see cref="FrameRefused"/> and <see cref="IoClosed"/>.</summary>
    void Start(IActorRef owner);

    /// <summary>Queues one envelope for writing; false when the outbound queue is full (a slow consumer).</summary>
    bool TrySend(ByteString envelope);

    /// <summary>Closes the connection once; with <paramref name="flush"/> the queued frames are written first (within a deadline).</summary>
    void Close(bool flush);
}
