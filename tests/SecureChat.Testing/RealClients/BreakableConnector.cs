using Akka.Actor;
using SecureChat.Client.Connection;

namespace SecureChat.Testing.RealClients;

/// <summary>Real TLS links that a test can cut, as a network failure would, and keep cut until released (<see cref="LinkBreaker"/>).</summary>
public sealed class BreakableConnector : IServerConnector
{
    private readonly LinkBreaker _breaker = new();
    private readonly IServerConnector _connector;

    public BreakableConnector(IServerConnector inner) => _connector = _breaker.Wrap(inner);

    public string Address => _connector.Address;

    public IServerLink Connect(IActorRef session, long linkId) => _connector.Connect(session, linkId);

    public void BreakCurrentLink(bool stayOffline = false) => _breaker.BreakCurrentLink(stayOffline);

    public void Release() => _breaker.Release();
}
