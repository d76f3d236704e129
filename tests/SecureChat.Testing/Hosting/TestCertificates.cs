using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using SecureChat.Client.Connection;
using SecureChat.Transport.Certificates;
using SecureChat.Transport.Tls;

namespace SecureChat.Testing.Hosting;

/// <summary>
/// A development CA and server certificate in a temp folder (ca.pem, ca.key, server.pem, server.key, made the
/// way the server makes them on first run), and client certificates issued from it; all removed on dispose.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    /// <summary>The name clients check the server certificate against (the dev server certificate covers it).</summary>
    public const string ServerName = "localhost";

    private readonly TempDirectory _directory = new();
    private readonly Lock _gate = new();
    private readonly List<X509Certificate2> _issued = [];

    public TestCertificates()
    {
        DevCertificates.EnsureServerCertificates(Directory);
        Authority = CertificateAuthority.Load(Directory);
        CaCertificate = PemFiles.LoadCertificate(CertificateFiles.CaCertificatePath(Directory));
        ServerCertificate = PemFiles.LoadCertificateWithKey(CertificateFiles.ServerCertificatePath(Directory), CertificateFiles.ServerKeyPath(Directory));
    }

    public string Directory => _directory.Path;

    public CertificateAuthority Authority { get; }

    public X509Certificate2 CaCertificate { get; }

    public X509Certificate2 ServerCertificate { get; }

    /// <summary>A client certificate for <paramref name="clientId"/>, disposed with this object.</summary>
    public X509Certificate2 IssueClientCertificate(string clientId)
    {
        var certificate = Authority.IssueClientCertificate(clientId);
        lock (_gate)
        {
            _issued.Add(certificate);
        }

        return certificate;
    }

    /// <summary>Mutual-TLS options for a raw connection as <paramref name="clientId"/>.</summary>
    public SslClientAuthenticationOptions TlsClientOptions(string clientId) =>
        TlsSettings.ForClient(IssueClientCertificate(clientId), CaCertificate, ServerName);

    /// <summary>Options that verify the server but present no client certificate.</summary>
    public SslClientAuthenticationOptions AnonymousTlsClientOptions(SslProtocols protocols = SslProtocols.Tls13) => new()
    {
        TargetHost = ServerName,
        EnabledSslProtocols = protocols,
        RemoteCertificateValidationCallback = PeerCertificateValidator.ForServer(CaCertificate).Validate,
    };

    /// <summary>The connector a real client uses to reach a server on this machine's <paramref name="port"/> as <paramref name="clientId"/>.</summary>
    public TlsServerConnector ChatConnector(string clientId, int port)
    {
        var certificate = IssueClientCertificate(clientId);
        return new TlsServerConnector("127.0.0.1", port, () => TlsSettings.ForClient(certificate, CaCertificate, ServerName), expectedClientId: clientId);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _issued.ForEach(c => c.Dispose());
        }

        ServerCertificate.Dispose();
        CaCertificate.Dispose();
        Authority.Dispose();
        _directory.Dispose();
    }
}
