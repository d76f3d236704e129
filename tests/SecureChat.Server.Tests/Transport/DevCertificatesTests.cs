using SecureChat.Testing.Hosting;
using SecureChat.Transport.Certificates;
using SecureChat.Transport.Tls;

namespace SecureChat.Server.Tests.Transport;

public sealed class DevCertificatesTests
{
    [Fact]
    public void First_run_creates_ca_and_server_certificate_and_second_run_keeps_them()
    {
        using var dir = new TempDirectory();
        var certs = Path.Combine(dir.Path, "certs");

        Assert.True(DevCertificates.EnsureServerCertificates(certs));
        var firstCa = File.ReadAllText(CertificateFiles.CaCertificatePath(certs));
        Assert.False(DevCertificates.EnsureServerCertificates(certs));

        Assert.Equal(firstCa, File.ReadAllText(CertificateFiles.CaCertificatePath(certs)));
        using var ca = PemFiles.LoadCertificate(CertificateFiles.CaCertificatePath(certs));
        using var server = PemFiles.LoadCertificateWithKey(CertificateFiles.ServerCertificatePath(certs), CertificateFiles.ServerKeyPath(certs));
        Assert.True(PeerCertificateValidator.ForServer(ca).IsTrusted(server));
    }

    [Fact]
    public void Missing_server_certificate_is_issued_from_the_existing_ca()
    {
        using var dir = new TempDirectory();
        using (var ca = CertificateAuthority.Create())
        {
            ca.Save(dir.Path);
        }

        var caPem = File.ReadAllText(CertificateFiles.CaCertificatePath(dir.Path));

        Assert.True(DevCertificates.EnsureServerCertificates(dir.Path));

        Assert.Equal(caPem, File.ReadAllText(CertificateFiles.CaCertificatePath(dir.Path)));
        using var caCert = PemFiles.LoadCertificate(CertificateFiles.CaCertificatePath(dir.Path));
        using var server = PemFiles.LoadCertificate(CertificateFiles.ServerCertificatePath(dir.Path));
        Assert.True(PeerCertificateValidator.ForServer(caCert).IsTrusted(server));
    }

    [Fact]
    public void A_ca_certificate_without_its_key_and_without_a_server_certificate_is_an_error_not_a_new_ca()
    {
        using var dir = new TempDirectory();
        using (var ca = CertificateAuthority.Create())
        {
            PemFiles.SaveCertificate(ca.Certificate, CertificateFiles.CaCertificatePath(dir.Path));
        }

        Assert.Throws<InvalidOperationException>(() => DevCertificates.EnsureServerCertificates(dir.Path));
    }
}
