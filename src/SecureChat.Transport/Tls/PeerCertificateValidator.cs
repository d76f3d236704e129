using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SecureChat.Transport.Certificates;

namespace SecureChat.Transport.Tls;

/// <summary>
/// Accepts a peer certificate only when it chains to the one configured CA (no system roots, no
/// revocation lookups, no downloads) and carries the expected extended key usage.
/// </summary>
public sealed class PeerCertificateValidator
{
    private readonly X509Certificate2 _caCertificate;
    private readonly string _requiredUsageOid;
    private readonly TimeProvider _clock;

    private PeerCertificateValidator(X509Certificate2 caCertificate, string requiredUsageOid, TimeProvider? clock)
    {
        ArgumentNullException.ThrowIfNull(caCertificate);
        _caCertificate = X509CertificateLoader.LoadCertificate(caCertificate.RawData); // the public part only
        _requiredUsageOid = requiredUsageOid;
        _clock = clock ?? TimeProvider.System;
    }

    /// <summary>For the server: client certificates with clientAuth usage.</summary>
    public static PeerCertificateValidator ForClients(X509Certificate2 caCertificate, TimeProvider? clock = null) =>
        new(caCertificate, CertificateAuthority.ClientAuthenticationOid, clock);

    /// <summary>For clients: the server certificate with serverAuth usage.</summary>
    public static PeerCertificateValidator ForServer(X509Certificate2 caCertificate, TimeProvider? clock = null) =>
        new(caCertificate, CertificateAuthority.ServerAuthenticationOid, clock);

    public bool IsTrusted(X509Certificate? certificate)
    {
        if (certificate is null)
        {
            return false;
        }

        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_caCertificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.VerificationTime = _clock.GetUtcNow().UtcDateTime;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(_requiredUsageOid));
        if (!chain.Build(leaf))
        {
            return false;
        }

        // The chain must end at our CA itself, not at anything else that happens to be trusted.
        var root = chain.ChainElements[^1].Certificate;
        return chain.ChainElements.Count >= 2 && root.RawDataMemory.Span.SequenceEqual(_caCertificate.RawDataMemory.Span);
    }

    /// <summary>
    /// A callback for SslStream: the platform's own chain errors are expected (our CA is not a system
    /// root) and replaced by <see cref="IsTrusted"/>; every other policy error still refuses.
    /// </summary>
    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        var otherErrors = errors & ~SslPolicyErrors.RemoteCertificateChainErrors;
        return otherErrors == SslPolicyErrors.None && IsTrusted(certificate);
    }
}
