using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using SecureChat.Cli.Certs;
using SecureChat.Client;
using SecureChat.Client.Connection;
using SecureChat.Client.Session;
using SecureChat.Client.Store;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Transport.Certificates;
using SecureChat.Transport.Tls;

namespace SecureChat.Cli;

/// <summary>
/// Everything a chat client needs before it connects: address, certificates, and its encrypted local store with the identity
/// key and pins (opened with the passphrase; plaintext files of earlier versions are migrated into it once).
/// </summary>
internal sealed class ClientSetup : IDisposable
{
    private readonly string _certsDirectory;
    private readonly List<X509Certificate2> _loaded = [];

    private ClientSetup(string clientId, IReadOnlyList<Endpoint> servers, X509Certificate2 clientCertificate, X509Certificate2 caCertificate,
        LocalStore store, LocalIdentity identity, TrustStore trust, string certsDirectory)
    {
        Store = store;
        _certsDirectory = certsDirectory;
        ClientId = clientId;
        Servers = servers;
        ClientCertificate = clientCertificate;
        CaCertificate = caCertificate;
        Identity = identity;
        Trust = trust;
    }

    public string ClientId { get; }

    /// <summary>The servers in the order the client tries them (it moves to the next when one fails).</summary>
    public IReadOnlyList<Endpoint> Servers { get; }

    public X509Certificate2 ClientCertificate { get; }

    public X509Certificate2 CaCertificate { get; }

    public LocalIdentity Identity { get; }

    public TrustStore Trust { get; }

    /// <summary>The identity's encrypted local store (identity, pins, rooms).</summary>
    public LocalStore Store { get; }

    /// <summary>Loads (or, with the development CA at hand, issues) what is needed; null with one readable line otherwise.</summary>
    public static ClientSetup? TryPrepare(string clientId, string server, string certsDirectory, string identityFolder,
        TextWriter notices, out string problem, StoreKdf? kdf = null)
    {
        problem = string.Empty;
        if (!ClientIdentity.IsValidClientId(clientId) || clientId is "ca" or "server" or "." or "..")
        {
            problem = $"'{clientId}' is not a usable id: 1-64 characters of A-Z a-z 0-9 . _ @ - (and not 'ca' or 'server')";
            return null;
        }

        if (!Endpoint.TryParseList(server, out var servers, out problem))
        {
            return null;
        }

        try
        {
            var certificate = ClientCertificates.LoadOrIssue(certsDirectory, clientId, out var issued);
            if (issued)
            {
                notices.WriteLine($"issued a client certificate for {clientId} from the development CA: {CertificateFiles.ClientCertificatePath(certsDirectory, clientId)}");
            }

            var ca = ClientCertificates.LoadCa(certsDirectory);
            var store = OpenStore(identityFolder, clientId, notices, kdf, out problem);
            if (store is null)
            {
                return null;
            }

            return new ClientSetup(clientId, servers, certificate, ca, store, store.LoadIdentity(), store.OpenTrustStore(), certsDirectory);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or UnauthorizedAccessException
                                       or CryptographicException or IdentityStoreException or StoreException or ArgumentException)
        {
            problem = ex.Message;
            return null;
        }
    }

    /// <summary>Opens the store (asking for its passphrase), migrating plaintext files or creating it on first use.</summary>
    private static LocalStore? OpenStore(string folder, string clientId, TextWriter notices, StoreKdf? kdf, out string problem)
    {
        var exists = LocalStore.ExistsIn(folder);
        var passphrase = StorePassphrase.Obtain(LocalStore.PathIn(folder), creating: !exists, out problem);
        if (passphrase is null)
        {
            return null;
        }

        try
        {
            if (exists)
            {
                return LocalStore.Open(folder, clientId, passphrase);
            }

            if (IdentityMigration.IsNeeded(folder))
            {
                var migrated = IdentityMigration.Migrate(folder, clientId, passphrase, kdf, out var notice);
                notices.WriteLine(notice);
                return migrated;
            }

            var created = LocalStore.OpenOrCreate(folder, clientId, passphrase, kdf);
            notices.WriteLine($"created the encrypted local store {created.Path} with a new identity key for {clientId}");
            return created;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(passphrase);
        }
    }

    public void Dispose()
    {
        Identity.Dispose();
        Store.Dispose();
    }

    public ChatClient Start(ActorSystem? system = null, ClientSessionSettings? settings = null)
    {
        var connectors = Servers.Select(Connector).ToList();
        return ChatClient.Start(new ClientOptions(Identity, connectors[0])
        {
            FailoverServers = connectors[1..],
            Trust = Trust,
            Settings = settings ?? new ClientSessionSettings(),
        }, system);
    }

    /// <summary>
    /// Reads the certificate files again for every attempt: one replaced after a stop (re-issued, a new CA) is used by the next
    /// /reconnect. A certificate for another id than ours is refused before connecting.
    /// </summary>
    private TlsServerConnector Connector(Endpoint server) =>
        new(server.Host, server.Port, () => TlsOptions(server.Host), expectedClientId: ClientId);

    private System.Net.Security.SslClientAuthenticationOptions TlsOptions(string host)
    {
        using var ca = ClientCertificates.LoadCa(_certsDirectory); // the options keep their own copy
        return TlsSettings.ForClient(CurrentCertificate(), ca, host);
    }

    /// <summary>The certificate in the files now; the one loaded at start while they are unchanged (one certificate object per version).</summary>
    private X509Certificate2 CurrentCertificate()
    {
        var loaded = PemFiles.LoadCertificateWithKey(CertificateFiles.ClientCertificatePath(_certsDirectory, ClientId),
            CertificateFiles.ClientKeyPath(_certsDirectory, ClientId));
        lock (_loaded)
        {
            if (loaded.RawDataMemory.Span.SequenceEqual((_loaded.LastOrDefault() ?? ClientCertificate).RawDataMemory.Span))
            {
                loaded.Dispose();
                return _loaded.LastOrDefault() ?? ClientCertificate;
            }

            _loaded.Add(loaded); // kept until the process ends: an earlier attempt's TLS options may still use the one before
            return loaded;
        }
    }
}
