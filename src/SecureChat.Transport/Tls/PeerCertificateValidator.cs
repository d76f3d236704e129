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

    /// <summary>
    /// The chain policy SslStream builds the peer's chain with during the handshake: our CA as the only root, the
    /// required usage, nothing fetched or looked up. With it the platform's one chain build is the check, so a
    /// handshake builds no second chain and leaves no chain elements behind for the finalizer.
    /// </summary>
    public X509ChainPolicy ChainPolicy()
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.Add(_caCertificate);
        policy.ApplicationPolicy.Add(new Oid(_requiredUsageOid));
        if (_clock != TimeProvider.System)
        {
            policy.VerificationTime = _clock.GetUtcNow().UtcDateTime;
            policy.VerificationTimeIgnored = false;
        }

        return policy;
    }

    public bool IsTrusted(X509Certificate? certificate)
    {
        if (certificate is null)
        {
            return false;
        }

        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        using var chain = new X509Chain { ChainPolicy = ChainPolicy() };
        try
        {
            return chain.Build(leaf) && EndsAtOurCa(chain);
        }
        finally
        {
            // X509Chain.Dispose leaves its elements' certificates to the finalizer.
            foreach (var element in chain.ChainElements)
            {
                element.Certificate.Dispose();
            }
        }
    }

    /// <summary>The chain must end at our CA itself, not at anything else that happens to be trusted.</summary>
    private bool EndsAtOurCa(X509Chain chain) =>
        chain.ChainElements.Count >= 2 && chain.ChainElements[^1].Certificate.RawDataMemory.Span.SequenceEqual(_caCertificate.RawDataMemory.Span);

    /// <summary>
    /// A callback for SslStream whose options carry <see cref="ChainPolicy"/>: the platform's chain, built against our
    /// CA alone, must have no error and end at that CA. A chain built against the system roots (options copied
    /// without the policy) has the expected chain errors; the certificate is then checked by <see cref="IsTrusted"/>.
    /// </summary>
    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        var otherErrors = errors & ~SslPolicyErrors.RemoteCertificateChainErrors;
        if (certificate is null || otherErrors != SslPolicyErrors.None)
        {
            return false;
        }

        // A policy made with another clock froze that clock's time when the options were made; IsTrusted reads it now.
        return chain is { ChainPolicy.TrustMode: X509ChainTrustMode.CustomRootTrust } && _clock == TimeProvider.System
            ? errors == SslPolicyErrors.None && EndsAtOurCa(chain)
            : IsTrusted(certificate);
    }
}
