using System.CommandLine;
using System.Net;
using System.Security.Cryptography;
using SecureChat.Transport.Certificates;

namespace SecureChat.Cli.Certs;

/// <summary><c>securechat certs init|issue</c>: the development CA and the certificates it signs.</summary>
internal static class CertsCommand
{
    public static Command Create()
    {
        var certs = new Command("certs", "Create the development certificate authority and issue certificates (ECDSA P-256, PEM).");
        certs.Subcommands.Add(CreateInit());
        certs.Subcommands.Add(CreateIssue());
        return certs;
    }

    private static Command CreateInit()
    {
        var output = new Option<string>("--out") { Description = "Folder for ca.pem, ca.key, server.pem, server.key", DefaultValueFactory = _ => "certs" };
        var force = new Option<bool>("--force") { Description = "Replace an existing CA (every certificate it issued stops working)" };
        var host = new Option<string[]>("--host")
        {
            Description = "Extra DNS names or IP addresses for the server certificate (localhost, 127.0.0.1 and ::1 are always included)",
            AllowMultipleArgumentsPerToken = true,
        };
        var init = new Command("init", "Create a new local CA and a server certificate signed by it") { output, force, host };
        init.SetAction(parse => Run(() => Init(parse.GetValue(output)!, parse.GetValue(force), parse.GetValue(host) ?? [])));
        return init;
    }

    private static Command CreateIssue()
    {
        var id = new Argument<string>("ID") { Description = "Client id: becomes the certificate's CN and the chat id" };
        var output = new Option<string>("--out") { Description = "Folder holding ca.pem and ca.key; ID.pem and ID.key are written there", DefaultValueFactory = _ => "certs" };
        var force = new Option<bool>("--force") { Description = "Replace an existing certificate for ID" };
        var issue = new Command("issue", "Issue a client certificate (CN=ID) signed by the CA in --out") { id, output, force };
        issue.SetAction(parse => Run(() => Issue(parse.GetValue(id)!, parse.GetValue(output)!, parse.GetValue(force))));
        return issue;
    }

    private static int Init(string directory, bool force, string[] extraHosts)
    {
        if (File.Exists(CertificateFiles.CaKeyPath(directory)) && !force)
        {
            Console.Error.WriteLine($"{CertificateFiles.CaKeyPath(directory)} exists; keeping that CA (use --force to replace it).");
            return 2;
        }

        Directory.CreateDirectory(directory);
        var dnsNames = new List<string> { "localhost" };
        var addresses = new List<IPAddress> { IPAddress.Loopback, IPAddress.IPv6Loopback };
        foreach (var extra in extraHosts)
        {
            if (IPAddress.TryParse(extra, out var address))
            {
                addresses.Add(address);
            }
            else
            {
                dnsNames.Add(extra);
            }
        }

        using var authority = CertificateAuthority.Create();
        authority.Save(directory);
        using var server = authority.IssueServerCertificate(dnsNames, addresses);
        PemFiles.SaveCertificateAndKey(server, CertificateFiles.ServerCertificatePath(directory), CertificateFiles.ServerKeyPath(directory));
        Console.WriteLine($"wrote {CertificateFiles.CaCertificate}, {CertificateFiles.CaKey}, {CertificateFiles.ServerCertificate}, {CertificateFiles.ServerKey} to {directory}");
        Console.WriteLine($"server certificate names: {string.Join(", ", dnsNames.Concat(addresses.Select(a => a.ToString())))}");
        return 0;
    }

    private static int Issue(string clientId, string directory, bool force)
    {
        if (!ClientIdentity.IsValidClientId(clientId) || clientId is "ca" or "server" or "." or "..")
        {
            Console.Error.WriteLine($"'{clientId}' is not a usable id: 1-64 characters of A-Z a-z 0-9 . _ @ - (and not 'ca' or 'server')");
            return 2;
        }

        if (!File.Exists(CertificateFiles.CaKeyPath(directory)))
        {
            Console.Error.WriteLine($"no CA in {directory} ({CertificateFiles.CaKey} missing); run: securechat certs init --out {directory}");
            return 2;
        }

        var certPath = CertificateFiles.ClientCertificatePath(directory, clientId);
        if (File.Exists(certPath) && !force)
        {
            Console.Error.WriteLine($"{certPath} exists (use --force to replace it)");
            return 2;
        }

        ClientCertificates.IssueToFiles(directory, clientId);
        Console.WriteLine($"wrote {clientId}.pem and {clientId}.key to {directory} (client certificate CN={clientId})");
        return 0;
    }

    /// <summary>Turns the expected failures into one line on stderr.</summary>
    internal static int Run(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or InvalidOperationException or ArgumentException)
        {
            Console.Error.WriteLine($"securechat: {ex.Message}");
            return 1;
        }
    }
}
