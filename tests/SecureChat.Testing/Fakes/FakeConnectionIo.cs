using System.Collections.Concurrent;
using Akka.Actor;
using Google.Protobuf;
using SecureChat.Core.Wire;
using SecureChat.Server.Connections;
using Envelope = SecureChat.Core.Wire.Envelope;

namespace SecureChat.Testing.Fakes;

/// <summary>Stands in for the socket: records what the actor sends and how it closes; a full queue can be simulated.</summary>
public sealed class FakeConnectionIo : IConnectionIo
{
    private readonly BlockingCollection<Envelope> _sent = [];

    public IActorRef? Owner { get; private set; }

    public bool QueueFull { get; set; }

    public bool? ClosedWithFlush { get; private set; }

    public void Start(IActorRef owner) => Owner = owner;

    public bool TrySend(ByteString envelope)
    {
        if (QueueFull)
        {
            return false;
        }

        _sent.Add(Envelope.Parser.ParseFrom(envelope));
        return true;
    }

    public void Close(bool flush) => ClosedWithFlush ??= flush;

    /// <summary>The next envelope the actor wrote, waiting up to the timeout.</summary>
    public Envelope NextSent(TimeSpan? timeout = null) =>
        _sent.TryTake(out var envelope, timeout ?? TimeSpan.FromSeconds(5)) ? envelope : throw new TimeoutException("the actor wrote nothing");

    public Envelope NextSent(MessageType type, TimeSpan? timeout = null)
    {
        var envelope = NextSent(timeout);
        Assert.Equal(type, envelope.Type);
        return envelope;
    }

    public bool HasSent => _sent.Count > 0;
}
