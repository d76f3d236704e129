using System.Collections.Concurrent;
using Akka.Actor;
using Google.Protobuf;
using SecureChat.Core.Wire;
using SecureChat.Server.Connections;
using Envelope = SecureChat.Core.Wire.Envelope;

namespace SecureChat.Testing.Fakes;

/// <summary>A fake socket for one ConnectionActor: keeps what it writes and signals a close or a chosen PONG.</summary>
public sealed class RecordingConnectionIo(ulong sentinel) : IConnectionIo, IDisposable
{
    private readonly ManualResetEventSlim _settled = new();

    public ConcurrentQueue<Envelope> Sent { get; } = new();

    public bool Closed { get; private set; }

    public void Start(IActorRef owner)
    {
    }

    public bool TrySend(ByteString envelope)
    {
        var parsed = Envelope.Parser.ParseFrom(envelope); // the server must only ever write parsable envelopes
        Sent.Enqueue(parsed);
        if (parsed.Type == MessageType.Pong && parsed.Sequence == sentinel)
        {
            _settled.Set();
        }

        return true;
    }

    public void Close(bool flush)
    {
        Closed = true;
        _settled.Set();
    }

    /// <summary>Waits until the actor answered the sentinel PING or closed the connection.</summary>
    public bool WaitSettled(TimeSpan timeout) => _settled.Wait(timeout);

    public void Dispose() => _settled.Dispose();
}
