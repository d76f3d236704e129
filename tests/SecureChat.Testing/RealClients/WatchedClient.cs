using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using SecureChat.Client;
using SecureChat.Client.Connection;
using SecureChat.Client.Session;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Testing.Honest;
using SecureChat.Testing.Hosting;
using SecureChat.Transport.Tls;

namespace SecureChat.Testing.RealClients;

/// <summary>A real <see cref="ChatClient"/> (ClientSessionActor and all) whose events are all kept for assertions.</summary>
public sealed class WatchedClient : IAsyncDisposable
{
    private readonly List<ClientEvent> _events = [];
    private readonly Lock _gate = new();
    private readonly Task _pump;
    private readonly X509Certificate2 _certificate;

    private WatchedClient(ChatClient client, X509Certificate2 certificate, LocalIdentity identity)
    {
        Client = client;
        Identity = identity;
        _certificate = certificate;
        _pump = Task.Run(async () =>
        {
            await foreach (var e in client.Events.ReadAllAsync())
            {
                lock (_gate)
                {
                    _events.Add(e);
                }
            }
        });
    }

    public ChatClient Client { get; }

    public LocalIdentity Identity { get; }

    public string Id => Client.ClientId;

    public IReadOnlyList<ClientEvent> Events { get { lock (_gate) { return [.. _events]; } } }

    public IReadOnlyList<MessageReceived> Received => Events.OfType<MessageReceived>().ToList();

    /// <summary>Starts a client that connects to <paramref name="port"/> (the interceptor) with a certificate from the server's CA.</summary>
    public static WatchedClient Start(TestServer server, int port, ActorSystem system, string clientId, string? actorName = null)
    {
        var certificate = server.Authority.IssueClientCertificate(clientId);
        var ca = server.CaCertificate;
        var identity = LocalIdentity.Generate(clientId, SystemRandomSource.Instance);
        var connector = new TlsServerConnector("127.0.0.1", port, () => TlsSettings.ForClient(certificate, ca, "localhost"));
        var client = ChatClient.Start(
            owner => new RoomContext(clientId, owner, identity, new TrustStore(), SystemClock.Instance, SystemRandomSource.Instance,
                new ClientSessionSettings { InitialBackoff = TimeSpan.FromMilliseconds(100) }),
            connector, system, actorName ?? clientId);
        return new WatchedClient(client, certificate, identity);
    }

    public Task<T> WaitForAsync<T>(Func<T, bool>? match = null)
        where T : ClientEvent => WaitForAsync(match, Eventually.Deadline);

    public async Task<T> WaitForAsync<T>(Func<T, bool>? match, TimeSpan deadline)
        where T : ClientEvent
    {
        T? found = null;
        await Eventually.TrueAsync(() => (found = Events.OfType<T>().FirstOrDefault(e => match?.Invoke(e) ?? true)) is not null,
            $"{Id} saw a {typeof(T).Name}; saw: {string.Join(" | ", Events.TakeLast(15))}", deadline);
        return found!;
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await _pump;
        _certificate.Dispose();
        Identity.Dispose();
    }
}
