using System.Security.Cryptography.X509Certificates;
using SecureChat.Transport.Certificates;

namespace SecureChat.Testing.EndToEnd;

/// <summary>A development CA in a temp folder (ca.pem, ca.key, server.pem, server.key), removed on dispose.</summary>
public sealed class TestCertificates : IDisposable
{
    public TestCertificates()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("securechat-client-tests-").FullName;
        Authority = CertificateAuthority.Create();
        Authority.Save(Directory);
        using var server = Authority.IssueServerCertificate();
        PemFiles.SaveCertificateAndKey(server, CertificateFiles.ServerCertificatePath(Directory), CertificateFiles.ServerKeyPath(Directory));
        CaCertificate = Authority.PublicCertificate;
        ServerCertificate = PemFiles.LoadCertificateWithKey(CertificateFiles.ServerCertificatePath(Directory), CertificateFiles.ServerKeyPath(Directory));
    }

    public string Directory { get; }

    public CertificateAuthority Authority { get; }

    public X509Certificate2 CaCertificate { get; }

    public X509Certificate2 ServerCertificate { get; }

    public X509Certificate2 IssueClient(string clientId)
    {
        using var issued = Authority.IssueClientCertificate(clientId);
        return PemFiles.MakeUsableForTls(issued);
    }

    public void Dispose()
    {
        ServerCertificate.Dispose();
        CaCertificate.Dispose();
        Authority.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
