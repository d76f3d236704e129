using Akka.Actor;
using SecureChat.Client.Connection;

namespace SecureChat.Testing.RealClients;

/// <summary>Real TLS links that a test can cut, as a network failure would, and keep cut until released.</summary>
public sealed class BreakableConnector(IServerConnector inner) : IServerConnector
{
    private IServerLink? _current;
    private volatile bool _offline;

    public string Address => inner.Address;

    public IServerLink Connect(IActorRef session, long linkId)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (_offline)
        {
            session.Tell(new LinkEvents.LinkDown(linkId, "the test keeps this client offline"));
            return new RefusedLink(linkId);
        }

        var link = inner.Connect(session, linkId);
        Volatile.Write(ref _current, link);
        return link;
    }

    public void BreakCurrentLink(bool stayOffline = false)
    {
        _offline = stayOffline;
        Volatile.Read(ref _current)?.Dispose();
    }

    public void Release() => _offline = false;

    private sealed class RefusedLink(long linkId) : IServerLink
    {
        public long LinkId => linkId;

        public bool TrySend(Core.Wire.Envelope envelope) => false;

        public void Dispose()
        {
        }
    }
}
