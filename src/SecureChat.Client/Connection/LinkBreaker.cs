using Akka.Actor;

namespace SecureChat.Client.Connection;

/// <summary>
/// Cuts a client's real links as a network failure would and keeps it offline until released: the simulator's churn and
/// the tests use it. <see cref="Wrap"/> each of the client's connectors (its server and its failover servers) with the same
/// breaker; while offline every connect attempt fails at once, so the session backs off and retries as it would on a network that is down.
/// </summary>
public sealed class LinkBreaker
{
    private IServerLink? _current;
    private volatile bool _offline;

    public bool IsOffline => _offline;

    public IServerConnector Wrap(IServerConnector inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        return new Connector(inner, this);
    }

    /// <summary>Closes the current link; with <paramref name="stayOffline"/> no new one opens until <see cref="Release"/>.</summary>
    public void BreakCurrentLink(bool stayOffline = false)
    {
        _offline = stayOffline;
        Volatile.Read(ref _current)?.Dispose();
    }

    /// <summary>The network is back: the session's next attempt connects.</summary>
    public void Release() => _offline = false;

    private sealed class Connector(IServerConnector inner, LinkBreaker breaker) : IServerConnector
    {
        public string Address => inner.Address;

        public IServerLink Connect(IActorRef session, long linkId)
        {
            ArgumentNullException.ThrowIfNull(session);
            if (breaker._offline)
            {
                session.Tell(new LinkEvents.LinkDown(linkId, "offline (the link was cut on purpose)"));
                return new RefusedLink(linkId);
            }

            var link = inner.Connect(session, linkId);
            Volatile.Write(ref breaker._current, link);
            return link;
        }
    }

    private sealed class RefusedLink(long linkId) : IServerLink
    {
        public long LinkId => linkId;

        public bool TrySend(Core.Wire.Envelope envelope) => false;

        public bool IsClosed => true;

        public void Dispose()
        {
        }
    }
}
