using System.Security.Cryptography.X509Certificates;
using SecureChat.Core.Wire;

namespace SecureChat.Transport.Certificates;

/// <summary>The client id is the subject CN of the client's certificate, and nothing the client says.</summary>
public static class ClientIdentity
{
    private const string CommonNameOid = "2.5.4.3";

    public static bool IsValidClientId(string? clientId) => clientId is not null && EnvelopeCodec.IsValidId(clientId);

    /// <summary>The single subject CN, if it is a valid client id; otherwise throws <see cref="ArgumentException"/>.</summary>
    public static string FromCertificate(X509Certificate2 certificate) =>
        TryFromCertificate(certificate, out var clientId)
            ? clientId
            : throw new ArgumentException("certificate subject has no single common name that is a valid client id", nameof(certificate));

    public static bool TryFromCertificate(X509Certificate2? certificate, out string clientId)
    {
        clientId = string.Empty;
        if (certificate is null)
        {
            return false;
        }

        string? found = null;
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (rdn.GetSingleElementType().Value != CommonNameOid)
            {
                continue;
            }

            if (found is not null || rdn.HasMultipleElements)
            {
                return false; // two CNs would make the identity ambiguous
            }

            found = rdn.GetSingleElementValue();
        }

        if (!IsValidClientId(found))
        {
            return false;
        }

        clientId = found!;
        return true;
    }
}
