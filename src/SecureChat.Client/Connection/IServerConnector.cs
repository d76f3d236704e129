using Akka.Actor;
using SecureChat.Core.Wire;
using Envelope = SecureChat.Core.Wire.Envelope;

namespace SecureChat.Client.Connection;

/// <summary>
/// Opens links to the server. The session actor asks for a link and then hears about it only
/// through <see cref="LinkEvents"/> messages, so a test can stand a probe in the server's place.
/// </summary>
public interface IServerConnector
{
    /// <summary>Where it connects, for people (HOST:PORT).</summary>
    string Address { get; }

    /// <summary>
    /// Starts connecting in the background and returns at once. Every event the link produces is
    /// told to <paramref name="session"/>, tagged with <paramref name="linkId"/>.
    /// </summary>
    IServerLink Connect(IActorRef session, long linkId);
}

/// <summary>One connection to the server, owned by exactly one session actor.</summary>
public interface IServerLink : IDisposable
{
    long LinkId { get; }

    /// <summary>Queues a frame for the writer; false when the bounded outbound queue is full or the link is closed.</summary>
    bool TrySend(Envelope envelope);

    /// <summary>The link has ended (its <see cref="LinkEvents.LinkDown"/> is told or on its way): a refused send is no full queue.</summary>
    bool IsClosed => false;
}

/// <summary>What a link tells its session. A link id lets the session ignore news from links it has already dropped.</summary>
public static class LinkEvents
{
    public sealed record LinkUp(long LinkId);

    public sealed record FrameReceived(long LinkId, Envelope Envelope);

    /// <summary>The link is gone (refused, closed by the peer, broken, bad input). Sent at most once per link.</summary>
    public sealed record LinkDown(long LinkId, string Reason)
    {
        /// <summary>What kind of end it was, for the session's <see cref="Session.ReconnectRule"/>.</summary>
        public LinkFailure Kind { get; init; } = LinkFailure.ConnectionLost;
    }
}
