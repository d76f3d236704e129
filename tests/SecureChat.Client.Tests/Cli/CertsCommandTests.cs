using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using SecureChat.Cli.Certs;
using SecureChat.Transport.Certificates;
using SecureChat.Transport.Tls;

namespace SecureChat.Client.Tests.Cli;

public sealed class CertsCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("securechat-certs-").FullName;

    [Fact]
    public void Init_then_issue_writes_a_ca_a_server_and_a_client_certificate_that_chain_to_it()
    {
        Assert.Equal(0, Run("init", "--out", _dir));
        Assert.Equal(0, Run("issue", "alice", "--out", _dir));

        foreach (var name in new[] { "ca.pem", "ca.key", "server.pem", "server.key", "alice.pem", "alice.key" })
        {
            Assert.True(File.Exists(Path.Combine(_dir, name)), name);
        }

        using var ca = PemFiles.LoadCertificate(Path.Combine(_dir, "ca.pem"));
        using var alice = PemFiles.LoadCertificateWithKey(Path.Combine(_dir, "alice.pem"), Path.Combine(_dir, "alice.key"));
        Assert.Equal("alice", ClientIdentity.FromCertificate(alice));
        Assert.True(PeerCertificateValidator.ForClients(ca).IsTrusted(alice));
        using var server = PemFiles.LoadCertificate(Path.Combine(_dir, "server.pem"));
        Assert.True(PeerCertificateValidator.ForServer(ca).IsTrusted(server));
        Assert.Equal("ECC", alice.PublicKey.Oid.FriendlyName);
    }

    [Fact]
    public void Private_keys_are_readable_by_the_owner_only()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Unix file modes only.
        }

        Run("init", "--out", _dir);
        Run("issue", "bob", "--out", _dir);

        foreach (var key in new[] { "ca.key", "server.key", "bob.key" })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_dir, key)));
        }
    }

    [Fact]
    public void Init_keeps_an_existing_ca_and_issue_refuses_without_one_or_with_a_bad_id()
    {
        Assert.NotEqual(0, Run("issue", "alice", "--out", _dir));
        Assert.Equal(0, Run("init", "--out", _dir));
        var caBefore = File.ReadAllText(Path.Combine(_dir, "ca.pem"));

        Assert.NotEqual(0, Run("init", "--out", _dir));
        Assert.Equal(caBefore, File.ReadAllText(Path.Combine(_dir, "ca.pem")));
        Assert.NotEqual(0, Run("issue", "../evil", "--out", _dir));
        Assert.NotEqual(0, Run("issue", "server", "--out", _dir));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static int Run(params string[] args)
    {
        var root = new RootCommand { CertsCommand.Create() };
        return root.Parse(["certs", .. args]).Invoke();
    }
}
