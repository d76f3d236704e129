namespace SecureChat.Transport.Certificates;

/// <summary>Development certificates: a local CA and a server certificate, made on first run.</summary>
public static class DevCertificates
{
    /// <summary>
    /// Makes sure <c>server.pem</c>, <c>server.key</c> and <c>ca.pem</c> exist in <paramref name="directory"/>.
    /// Creates a new CA when there is none, and issues the server certificate from the CA on disk when only
    /// that is missing. Returns true when it wrote anything. An existing CA is never replaced.
    /// </summary>
    public static bool EnsureServerCertificates(string directory, TimeProvider? clock = null)
    {
        var caCert = CertificateFiles.CaCertificatePath(directory);
        var caKey = CertificateFiles.CaKeyPath(directory);
        var serverCert = CertificateFiles.ServerCertificatePath(directory);
        var serverKey = CertificateFiles.ServerKeyPath(directory);

        if (File.Exists(caCert) && File.Exists(serverCert) && File.Exists(serverKey))
        {
            return false;
        }

        if (File.Exists(caCert) && !File.Exists(caKey))
        {
            throw new InvalidOperationException(
                $"{directory} has {CertificateFiles.CaCertificate} but no {CertificateFiles.ServerCertificate}/{CertificateFiles.ServerKey} and no {CertificateFiles.CaKey} to issue them; " +
                "issue the server certificate with the offline CA (certs/README.md)");
        }

        Directory.CreateDirectory(directory);
        using var authority = File.Exists(caCert) ? CertificateAuthority.Load(directory, clock) : CreateAndSave(directory, clock);
        using var server = authority.IssueServerCertificate();
        PemFiles.SaveCertificateAndKey(server, serverCert, serverKey);
        return true;
    }

    private static CertificateAuthority CreateAndSave(string directory, TimeProvider? clock)
    {
        var authority = CertificateAuthority.Create(clock: clock);
        authority.Save(directory);
        return authority;
    }
}
