using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SecureChat.Server.Configuration;
using SecureChat.Transport.Certificates;
using SecureChat.Transport.Tls;

namespace SecureChat.Server.Listener;

/// <summary>
/// The server's certificates (<c>--certs</c>), loaded as the first hosted service is made, so that a folder without
/// them stops the server before it opens its storage or joins a cluster. Development certificates are made only
/// where <see cref="ServerOptions.MayCreateDevelopmentCertificates"/> allows.
/// </summary>
public sealed partial class ServerCertificates(IOptions<ServerOptions> settings, ILogger<ServerCertificates> logger) : IHostedService
{
    private readonly Lazy<SslServerAuthenticationOptions> _tls = new(() => Load(settings.Value, logger));

    /// <summary>The listener's TLS settings; throws <see cref="StartupException"/> naming what is missing or unreadable.</summary>
    public SslServerAuthenticationOptions Tls => _tls.Value;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static SslServerAuthenticationOptions Load(ServerOptions options, ILogger logger)
    {
        var directory = Path.GetFullPath(options.CertificatesPath);
        var caPath = CertificateFiles.CaCertificatePath(directory);
        var serverPath = CertificateFiles.ServerCertificatePath(directory);
        var keyPath = CertificateFiles.ServerKeyPath(directory);
        try
        {
            if (options.MayCreateDevelopmentCertificates(directory) && DevCertificates.EnsureServerCertificates(directory))
            {
                LogDevelopmentCertificates(logger, directory);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StartupException($"cannot make development certificates in {directory}: {ex.Message}", ex);
        }

        string[] missing = [.. new[] { caPath, serverPath, keyPath }.Where(f => !File.Exists(f)).Select(Path.GetFileName)!];
        if (missing.Length > 0)
        {
            throw new StartupException($"certificate folder {directory} (--certs) lacks {string.Join(", ", missing)}: copy them there (certs/README.md), " +
                                       $"make a CA with 'securechat certs init --out {directory}', or start once with --dev-certs for development ones");
        }

        X509Certificate2 server;
        try
        {
            using var ca = PemFiles.LoadCertificate(caPath);
            server = PemFiles.LoadCertificateWithKey(serverPath, keyPath);
            if (!PeerCertificateValidator.ForServer(ca).IsTrusted(server))
            {
                server.Dispose();
                throw new StartupException($"{serverPath} is not a valid server certificate issued by {caPath}");
            }

            LogCertificates(logger, directory, ca.Subject, server.NotAfter);
            return TlsSettings.ForServer(server, ca);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new StartupException($"cannot load the certificates in {directory} (ca.pem, server.pem, server.key): {ex.Message}", ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Created development certificates (a local CA and the server certificate) in {Directory}. Issue client certificates from that CA: securechat certs issue ID --out {Directory}. For production see certs/README.md")]
    private static partial void LogDevelopmentCertificates(ILogger logger, string directory);

    [LoggerMessage(Level = LogLevel.Information, Message = "Certificates from {Directory}: clients must chain to {CaSubject}; server certificate valid until {NotAfter:u}")]
    private static partial void LogCertificates(ILogger logger, string directory, string caSubject, DateTime notAfter);
}
