using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using SecureChat.Transport.Certificates;

namespace SecureChat.Benchmarks.Targets;

/// <summary>
/// One CA for every target of a run, in a temp folder deleted on dispose: ca.pem/ca.key, server.pem/server.key
/// (the file names our server reads), and client certificates (CN = client id) issued on demand; a client's
/// PEM files are written only when a target needs them on disk.
/// </summary>
internal sealed class BenchCertificates : IDisposable
{
    private readonly ConcurrentDictionary<string, X509Certificate2> _clients = new(StringComparer.Ordinal);

    public BenchCertificates()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("securechat-bench-certs-").FullName;
        Authority = CertificateAuthority.Create("SecureChat Benchmark CA");
        Authority.Save(Directory);
        Server = Authority.IssueServerCertificate();
        PemFiles.SaveCertificateAndKey(Server, ServerCertificatePath, ServerKeyPath);
        CaCertificate = Authority.PublicCertificate;
    }

    public string Directory { get; }

    public CertificateAuthority Authority { get; }

    public X509Certificate2 Server { get; }

    public X509Certificate2 CaCertificate { get; }

    public string CaCertificatePath => CertificateFiles.CaCertificatePath(Directory);

    public string ServerCertificatePath => CertificateFiles.ServerCertificatePath(Directory);

    public string ServerKeyPath => CertificateFiles.ServerKeyPath(Directory);

    public X509Certificate2 Client(string clientId) => _clients.GetOrAdd(clientId, id => Authority.IssueClientCertificate(id));

    public void Dispose()
    {
        foreach (var certificate in _clients.Values)
        {
            certificate.Dispose();
        }

        Server.Dispose();
        CaCertificate.Dispose();
        Authority.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A child process may still hold a file for a moment; the folder is under the temp directory.
        }
    }
}
