using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace SecureChat.Transport.Tls;

/// <summary>The SslStream options of both ends: TLS 1.3 only, both sides authenticated against the one CA.</summary>
public static class TlsSettings
{
    public const SslProtocols Protocols = SslProtocols.Tls13;

    /// <summary>
    /// Server options: TLS 1.3 only, a client certificate required and accepted only if it chains to
    /// <paramref name="caCertificate"/> with clientAuth usage. The CA is announced as the acceptable issuer.
    /// The options keep their own copy of the CA; <paramref name="serverCertificate"/> must stay undisposed while they are used.
    /// </summary>
    public static SslServerAuthenticationOptions ForServer(X509Certificate2 serverCertificate, X509Certificate2 caCertificate, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(serverCertificate);
        ArgumentNullException.ThrowIfNull(caCertificate);
        var validator = PeerCertificateValidator.ForClients(caCertificate, clock);

        // Our own copy: the caller may dispose its certificate while the options live on.
        var anchor = X509CertificateLoader.LoadCertificate(caCertificate.RawData);
        var trust = SslCertificateTrust.CreateForX509Collection([anchor], sendTrustInHandshake: !OperatingSystem.IsWindows());
        return new SslServerAuthenticationOptions
        {
            EnabledSslProtocols = Protocols,
            ClientCertificateRequired = true,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            ServerCertificateContext = SslStreamCertificateContext.Create(serverCertificate, additionalCertificates: null, offline: true, trust),
            CertificateChainPolicy = validator.ChainPolicy(),
            RemoteCertificateValidationCallback = validator.Validate,
            AllowRenegotiation = false,
        };
    }

    /// <summary>
    /// Client options: TLS 1.3 only, presents <paramref name="clientCertificate"/>, and accepts the
    /// server only if its certificate chains to <paramref name="caCertificate"/> and names <paramref name="targetHost"/>.
    /// The CA may be disposed afterwards; <paramref name="clientCertificate"/> must stay undisposed while the options are used.
    /// </summary>
    public static SslClientAuthenticationOptions ForClient(X509Certificate2 clientCertificate, X509Certificate2 caCertificate, string targetHost, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(clientCertificate);
        ArgumentException.ThrowIfNullOrWhiteSpace(targetHost);
        var validator = PeerCertificateValidator.ForServer(caCertificate, clock);
        return new SslClientAuthenticationOptions
        {
            TargetHost = targetHost,
            EnabledSslProtocols = Protocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            // A context instead of a collection: the certificate is sent whatever issuers the server lists.
            ClientCertificateContext = SslStreamCertificateContext.Create(clientCertificate, additionalCertificates: null, offline: true),
            CertificateChainPolicy = validator.ChainPolicy(),
            RemoteCertificateValidationCallback = validator.Validate,
            AllowRenegotiation = false,
        };
    }
}
