using System.Security.Cryptography.X509Certificates;
using SecureChat.Transport.Certificates;

namespace SecureChat.Cli.Certs;

/// <summary>Finding, or issuing from the local CA, the certificate a client connects with.</summary>
internal static class ClientCertificates
{
    public static void IssueToFiles(string directory, string clientId)
    {
        using var authority = CertificateAuthority.Load(directory);
        using var certificate = authority.IssueClientCertificate(clientId);
        PemFiles.SaveCertificateAndKey(certificate, CertificateFiles.ClientCertificatePath(directory, clientId),
            CertificateFiles.ClientKeyPath(directory, clientId));
    }

    /// <summary>
    /// The client certificate for <paramref name="clientId"/> from <paramref name="directory"/>. When it is
    /// missing but the folder holds the CA key (the local development setup), one is issued and
    /// <paramref name="issued"/> is true. Throws <see cref="InvalidOperationException"/> with one readable line otherwise.
    /// </summary>
    public static X509Certificate2 LoadOrIssue(string directory, string clientId, out bool issued)
    {
        issued = false;
        var certPath = CertificateFiles.ClientCertificatePath(directory, clientId);
        var keyPath = CertificateFiles.ClientKeyPath(directory, clientId);
        if (!File.Exists(CertificateFiles.CaCertificatePath(directory)))
        {
            throw new InvalidOperationException(
                $"no {CertificateFiles.CaCertificate} in {Path.GetFullPath(directory)}; start the server once (it makes the development CA) or run: securechat certs init --out {directory}");
        }

        if (!File.Exists(certPath) || !File.Exists(keyPath))
        {
            if (!File.Exists(CertificateFiles.CaKeyPath(directory)))
            {
                throw new InvalidOperationException(
                    $"no certificate for {clientId} in {directory} and no CA key there to issue one; ask the CA owner for {clientId}.pem and {clientId}.key");
            }

            IssueToFiles(directory, clientId);
            issued = true;
        }

        return PemFiles.LoadCertificateWithKey(certPath, keyPath);
    }

    public static X509Certificate2 LoadCa(string directory) =>
        PemFiles.LoadCertificate(CertificateFiles.CaCertificatePath(directory));
}
