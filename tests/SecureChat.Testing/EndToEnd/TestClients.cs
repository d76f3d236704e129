using System.Threading.Channels;
using Akka.Actor;
using SecureChat.Client;
using SecureChat.Client.Connection;
using SecureChat.Client.Session;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Transport.Tls;

namespace SecureChat.Testing.EndToEnd;

/// <summary>Real clients (own TLS connection each) against a <see cref="TestServer"/>, with event waiting helpers.</summary>
public static class TestClients
{
    public static ChatClient Start(TestServer server, ActorSystem system, string clientId, ClientSessionSettings? settings = null)
    {
        var certificate = server.Certificates.IssueClient(clientId);
        var ca = server.Certificates.CaCertificate;
        var identity = LocalIdentity.Generate(clientId, SystemRandomSource.Instance);
        var connector = new TlsServerConnector("127.0.0.1", server.Port, () => TlsSettings.ForClient(certificate, ca, "127.0.0.1"));
        return ChatClient.Start(
            owner => new RoomContext(clientId, owner, identity, new TrustStore(), SystemClock.Instance, SystemRandomSource.Instance,
                settings ?? new ClientSessionSettings { InitialBackoff = TimeSpan.FromMilliseconds(100) }),
            connector,
            system,
            clientId);
    }

    /// <summary>Reads events until one matches; fails with the events seen when the timeout passes first.</summary>
    public static async Task<T> WaitForAsync<T>(this ChatClient client, Func<T, bool>? match = null, TimeSpan? timeout = null)
        where T : ClientEvent
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        var seen = new List<ClientEvent>();
        try
        {
            while (true)
            {
                var e = await client.Events.ReadAsync(cts.Token);
                if (e is T typed && (match is null || match(typed)))
                {
                    return typed;
                }

                seen.Add(e);
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{client.ClientId}: no {typeof(T).Name} in time; saw: {string.Join(" | ", seen)}");
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"{client.ClientId}: events ended before {typeof(T).Name}; saw: {string.Join(" | ", seen)}");
        }
    }
}
