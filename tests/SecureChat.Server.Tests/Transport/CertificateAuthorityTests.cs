using System.Security.Cryptography.X509Certificates;
using SecureChat.Testing.Hosting;
using SecureChat.Transport.Certificates;
using SecureChat.Transport.Tls;

namespace SecureChat.Server.Tests.Transport;

public sealed class CertificateAuthorityTests
{
    [Fact]
    public void Client_certificate_names_the_client_in_its_common_name_and_chains_to_the_ca()
    {
        using var ca = CertificateAuthority.Create();
        using var alice = ca.IssueClientCertificate("alice@example.org");

        Assert.True(alice.HasPrivateKey);
        Assert.Equal("alice@example.org", ClientIdentity.FromCertificate(alice));
        Assert.True(PeerCertificateValidator.ForClients(ca.Certificate).IsTrusted(alice));
    }

    [Fact]
    public void Certificates_from_another_ca_are_not_trusted()
    {
        using var ours = CertificateAuthority.Create();
        using var theirs = CertificateAuthority.Create();
        using var mallory = theirs.IssueClientCertificate("alice");

        Assert.False(PeerCertificateValidator.ForClients(ours.Certificate).IsTrusted(mallory));
    }

    [Fact]
    public void A_server_certificate_is_not_accepted_as_a_client_certificate_and_vice_versa()
    {
        using var ca = CertificateAuthority.Create();
        using var server = ca.IssueServerCertificate();
        using var client = ca.IssueClientCertificate("bob");

        Assert.False(PeerCertificateValidator.ForClients(ca.Certificate).IsTrusted(server));
        Assert.False(PeerCertificateValidator.ForServer(ca.Certificate).IsTrusted(client));
        Assert.True(PeerCertificateValidator.ForServer(ca.Certificate).IsTrusted(server));
    }

    [Fact]
    public void The_ca_itself_is_not_a_client_certificate()
    {
        using var ca = CertificateAuthority.Create();

        Assert.False(PeerCertificateValidator.ForClients(ca.Certificate).IsTrusted(ca.PublicCertificate));
    }

    [Fact]
    public void Server_certificate_covers_loopback_names()
    {
        using var ca = CertificateAuthority.Create();
        using var server = ca.IssueServerCertificate(["chat.example.org"]);

        Assert.True(server.MatchesHostname("localhost"));
        Assert.True(server.MatchesHostname("127.0.0.1"));
        Assert.True(server.MatchesHostname("chat.example.org"));
        Assert.False(server.MatchesHostname("other.example.org"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("../escape")]
    public void Invalid_client_ids_are_refused(string clientId)
    {
        using var ca = CertificateAuthority.Create();

        Assert.Throws<ArgumentException>(() => ca.IssueClientCertificate(clientId));
    }

    [Fact]
    public void Saved_authority_loads_back_and_keeps_issuing_certificates_it_trusts()
    {
        using var dir = new TempDirectory();
        using (var ca = CertificateAuthority.Create())
        {
            ca.Save(dir.Path);
        }

        using var loaded = CertificateAuthority.Load(dir.Path);
        using var carol = loaded.IssueClientCertificate("carol");
        using var caFromFile = PemFiles.LoadCertificate(CertificateFiles.CaCertificatePath(dir.Path));

        Assert.False(caFromFile.HasPrivateKey);
        Assert.True(PeerCertificateValidator.ForClients(caFromFile).IsTrusted(carol));
    }

    [Fact]
    public void Private_keys_are_written_owner_only()
    {
        using var dir = new TempDirectory();
        using var ca = CertificateAuthority.Create();
        using var dave = ca.IssueClientCertificate("dave");
        var keyPath = CertificateFiles.ClientKeyPath(dir.Path, "dave");

        PemFiles.SaveCertificateAndKey(dave, CertificateFiles.ClientCertificatePath(dir.Path, "dave"), keyPath);

        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyPath));
        }

        using var loaded = PemFiles.LoadCertificateWithKey(CertificateFiles.ClientCertificatePath(dir.Path, "dave"), keyPath);
        Assert.True(loaded.HasPrivateKey);
        Assert.Equal("dave", ClientIdentity.FromCertificate(loaded));
    }
}
