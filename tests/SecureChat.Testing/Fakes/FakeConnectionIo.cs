using System.Collections.Concurrent;
using Akka.Actor;
using Google.Protobuf;
using SecureChat.Core.Wire;
using SecureChat.Server.Connections;
using Envelope = SecureChat.Core.Wire.Envelope;

namespace SecureChat.Testing.Fakes;

/// <summary>
/// Stands in for the socket of one ConnectionActor: keeps every envelope the actor writes (each must parse: the
/// server only ever writes parsable envelopes), records how it closes, can refuse writes as a full queue would,
/// and signals once the actor answered the PING with sequence <paramref name="settleOnPong"/> or closed.
/// </summary>
public sealed class FakeConnectionIo(ulong? settleOnPong = null) : IConnectionIo, IDisposable
{
    private readonly BlockingCollection<Envelope> _unread = [];
    private readonly ConcurrentQueue<Envelope> _sent = new();
    private readonly ManualResetEventSlim _settled = new();

    public IActorRef? Owner { get; private set; }

    public bool QueueFull { get; set; }

    public bool? ClosedWithFlush { get; private set; }

    public bool Closed => ClosedWithFlush is not null;

    /// <summary>Every envelope written so far, in order (<see cref="NextSent(TimeSpan?)"/> does not take from it).</summary>
    public IReadOnlyCollection<Envelope> Sent => _sent;

    /// <summary>Whether something was written that <see cref="NextSent(TimeSpan?)"/> has not returned yet.</summary>
    public bool HasSent => _unread.Count > 0;

    public void Start(IActorRef owner) => Owner = owner;

    public bool TrySend(ByteString envelope)
    {
        if (QueueFull)
        {
            return false;
        }

        var parsed = Envelope.Parser.ParseFrom(envelope);
        _sent.Enqueue(parsed);
        _unread.Add(parsed);
        if (parsed.Type == MessageType.Pong && parsed.Sequence == settleOnPong)
        {
            _settled.Set();
        }

        return true;
    }

    public void Close(bool flush)
    {
        ClosedWithFlush ??= flush;
        _settled.Set();
    }

    /// <summary>Waits until the actor answered the chosen PING or closed the connection.</summary>
    public bool WaitSettled(TimeSpan timeout) => _settled.Wait(timeout);

    /// <summary>The next envelope the actor wrote, waiting up to the timeout.</summary>
    public Envelope NextSent(TimeSpan? timeout = null) =>
        _unread.TryTake(out var envelope, timeout ?? TimeSpan.FromSeconds(5)) ? envelope : throw new TimeoutException("the actor wrote nothing");

    public Envelope NextSent(MessageType type, TimeSpan? timeout = null)
    {
        var envelope = NextSent(timeout);
        Assert.Equal(type, envelope.Type);
        return envelope;
    }

    public void Dispose()
    {
        _unread.Dispose();
        _settled.Dispose();
    }
}
