namespace SecureChat.Transport.Certificates;

/// <summary>
/// The file names shared by the server and <c>securechat certs</c>: PEM certificates (<c>.pem</c>)
/// next to PKCS#8 PEM private keys (<c>.key</c>), both named after what they identify.
/// </summary>
public static class CertificateFiles
{
    public const string CaCertificate = "ca.pem";
    public const string CaKey = "ca.key";
    public const string ServerCertificate = "server.pem";
    public const string ServerKey = "server.key";

    public static string CaCertificatePath(string directory) => Path.Combine(directory, CaCertificate);

    public static string CaKeyPath(string directory) => Path.Combine(directory, CaKey);

    public static string ServerCertificatePath(string directory) => Path.Combine(directory, ServerCertificate);

    public static string ServerKeyPath(string directory) => Path.Combine(directory, ServerKey);

    /// <summary>The certificate file of a client, <c>ID.pem</c>; the id must be a valid wire id.</summary>
    public static string ClientCertificatePath(string directory, string clientId) =>
        Path.Combine(directory, CheckedId(clientId) + ".pem");

    /// <summary>The private key file of a client, <c>ID.key</c>.</summary>
    public static string ClientKeyPath(string directory, string clientId) =>
        Path.Combine(directory, CheckedId(clientId) + ".key");

    private static string CheckedId(string clientId)
    {
        // The id becomes a file name: the wire id alphabet has no separators, but "." and ".." do exist in it.
        if (!ClientIdentity.IsValidClientId(clientId) || clientId is "." or ".." || clientId is "ca" or "server")
        {
            throw new ArgumentException("client id must be 1-64 characters of [A-Za-z0-9._@-] and not a reserved name", nameof(clientId));
        }

        return clientId;
    }
}
