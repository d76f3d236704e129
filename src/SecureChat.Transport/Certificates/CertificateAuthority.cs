using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureChat.Transport.Certificates;

/// <summary>
/// A small ECDSA P-256 certificate authority: the trust anchor of both sides of mutual TLS.
/// It issues the server certificate (serverAuth) and client certificates whose subject CN is the
/// client id (clientAuth). In production it lives offline (certs/README.md).
/// </summary>
public sealed class CertificateAuthority : IDisposable
{
    public static readonly TimeSpan DefaultCaValidity = TimeSpan.FromDays(5 * 365);
    public static readonly TimeSpan DefaultServerValidity = TimeSpan.FromDays(397);
    public static readonly TimeSpan DefaultClientValidity = TimeSpan.FromDays(365);

    /// <summary>Certificates are back-dated a little so that small clock differences do not reject them.</summary>
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    private readonly TimeProvider _clock;

    private CertificateAuthority(X509Certificate2 certificate, TimeProvider clock)
    {
        Certificate = certificate;
        _clock = clock;
    }

    /// <summary>The CA certificate with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The CA certificate without its key, for trust stores and files handed to clients.</summary>
    public X509Certificate2 PublicCertificate => X509CertificateLoader.LoadCertificate(Certificate.RawData);

    public static CertificateAuthority Create(string commonName = "SecureChat Development CA", TimeSpan? validity = null, TimeProvider? clock = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(commonName);
        clock ??= TimeProvider.System;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(SubjectWithCommonName(commonName), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var now = clock.GetUtcNow();
        using var selfSigned = request.CreateSelfSigned(now - ClockSkew, now + (validity ?? DefaultCaValidity));
        return new CertificateAuthority(PemFiles.MakeUsableForTls(selfSigned), clock);
    }

    /// <summary>Loads <c>ca.pem</c> and <c>ca.key</c> from a folder.</summary>
    public static CertificateAuthority Load(string directory, TimeProvider? clock = null)
    {
        var certificate = PemFiles.LoadCertificateWithKey(CertificateFiles.CaCertificatePath(directory), CertificateFiles.CaKeyPath(directory));
        return new CertificateAuthority(certificate, clock ?? TimeProvider.System);
    }

    /// <summary>Writes <c>ca.pem</c> and the owner-only <c>ca.key</c> into a folder (created if missing).</summary>
    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        PemFiles.SaveCertificateAndKey(Certificate, CertificateFiles.CaCertificatePath(directory), CertificateFiles.CaKeyPath(directory));
    }

    /// <summary>
    /// A server certificate valid for the given names and addresses, always including
    /// localhost, 127.0.0.1 and ::1 so that a development server is reachable on loopback.
    /// </summary>
    public X509Certificate2 IssueServerCertificate(IEnumerable<string>? dnsNames = null, IEnumerable<IPAddress>? addresses = null, TimeSpan? validity = null)
    {
        var names = new SortedSet<string>(StringComparer.OrdinalIgnoreCase) { "localhost" };
        names.UnionWith(dnsNames ?? []);
        var ips = new List<IPAddress> { IPAddress.Loopback, IPAddress.IPv6Loopback };
        ips.AddRange((addresses ?? []).Where(a => !ips.Contains(a)));

        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in names)
        {
            san.AddDnsName(name);
        }

        foreach (var ip in ips)
        {
            san.AddIpAddress(ip);
        }

        return Issue(names.First(), ServerAuthOid, san.Build(), validity ?? DefaultServerValidity);
    }

    /// <summary>A client certificate whose subject CN is <paramref name="clientId"/>; it stays in memory until saved.</summary>
    public X509Certificate2 IssueClientCertificate(string clientId, TimeSpan? validity = null)
    {
        if (!ClientIdentity.IsValidClientId(clientId))
        {
            throw new ArgumentException("client id must be 1-64 characters of [A-Za-z0-9._@-]", nameof(clientId));
        }

        return Issue(clientId, ClientAuthOid, subjectAlternativeNames: null, validity ?? DefaultClientValidity);
    }

    public void Dispose() => Certificate.Dispose();

    private X509Certificate2 Issue(string commonName, string extendedKeyUsageOid, X509Extension? subjectAlternativeNames, TimeSpan validity)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(SubjectWithCommonName(commonName), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(extendedKeyUsageOid)], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        if (subjectAlternativeNames is not null)
        {
            request.CertificateExtensions.Add(subjectAlternativeNames);
        }

        var now = _clock.GetUtcNow();
        var notAfter = now + validity;
        if (notAfter > Certificate.NotAfter)
        {
            notAfter = Certificate.NotAfter;
        }

        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // a positive serial number, as RFC 5280 asks
        using var issued = request.Create(Certificate, now - ClockSkew, notAfter, serial);
        using var withKey = issued.CopyWithPrivateKey(key);
        return PemFiles.MakeUsableForTls(withKey);
    }

    private static X500DistinguishedName SubjectWithCommonName(string commonName)
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.AddCommonName(commonName);
        return builder.Build();
    }

    internal static string ServerAuthenticationOid => ServerAuthOid;

    internal static string ClientAuthenticationOid => ClientAuthOid;
}
