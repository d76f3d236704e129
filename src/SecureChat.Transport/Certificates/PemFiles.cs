using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureChat.Transport.Certificates;

/// <summary>Reading and writing PEM certificates and private keys.</summary>
public static class PemFiles
{
    /// <summary>Loads a certificate without a private key (a trust anchor such as the CA).</summary>
    public static X509Certificate2 LoadCertificate(string certificatePath)
    {
        var pem = File.ReadAllText(certificatePath);
        var fields = PemEncoding.Find(pem);
        if (!pem.AsSpan()[fields.Label].SequenceEqual("CERTIFICATE"))
        {
            throw new CryptographicException($"{Path.GetFileName(certificatePath)} does not start with a PEM CERTIFICATE");
        }

        return X509CertificateLoader.LoadCertificate(Convert.FromBase64String(pem[fields.Base64Data]));
    }

    /// <summary>
    /// Loads a certificate with its private key in a form SslStream accepts as a local certificate.
    /// A key attached straight from PEM is ephemeral, which the platform TLS stacks do not all take;
    /// a round trip through PKCS#12 gives a regular key.
    /// </summary>
    public static X509Certificate2 LoadCertificateWithKey(string certificatePath, string keyPath)
    {
        using var fromPem = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        return MakeUsableForTls(fromPem);
    }

    /// <summary>Re-imports a certificate that has a private key through PKCS#12 (see <see cref="LoadCertificateWithKey"/>).</summary>
    public static X509Certificate2 MakeUsableForTls(X509Certificate2 certificateWithKey)
    {
        ArgumentNullException.ThrowIfNull(certificateWithKey);
        if (!certificateWithKey.HasPrivateKey)
        {
            throw new ArgumentException("certificate has no private key", nameof(certificateWithKey));
        }

        var pkcs12 = certificateWithKey.Export(X509ContentType.Pkcs12);
        try
        {
            return X509CertificateLoader.LoadPkcs12(pkcs12, password: null, X509KeyStorageFlags.Exportable);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs12);
        }
    }

    /// <summary>Writes the certificate as PEM (world-readable is fine: it is public).</summary>
    public static void SaveCertificate(X509Certificate2 certificate, string certificatePath)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem() + "\n");
    }

    /// <summary>Writes the certificate's ECDSA private key as PKCS#8 PEM, readable by the owner only.</summary>
    public static void SavePrivateKey(X509Certificate2 certificate, string keyPath)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using var key = certificate.GetECDsaPrivateKey()
            ?? throw new ArgumentException("certificate has no ECDSA private key", nameof(certificate));
        var pem = key.ExportPkcs8PrivateKeyPem();
        WriteOwnerOnly(keyPath, pem + "\n");
    }

    /// <summary>Writes both files; the key is created owner-only before any byte of it is written.</summary>
    public static void SaveCertificateAndKey(X509Certificate2 certificate, string certificatePath, string keyPath)
    {
        SavePrivateKey(certificate, keyPath);
        SaveCertificate(certificate, certificatePath);
    }

    private static void WriteOwnerOnly(string path, string text)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(path, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(text);
        }

        if (!OperatingSystem.IsWindows())
        {
            // UnixCreateMode applies only when the file is new; an existing file keeps its mode otherwise.
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}
