using System.Net.Security;
using System.Net.Sockets;

namespace SecureChat.Transport.Tls;

/// <summary>Opens a TCP connection and completes the client side of the TLS handshake within a deadline.</summary>
public static class TlsConnector
{
    public static async Task<SslStream> ConnectAsync(string host, int port, SslClientAuthenticationOptions options, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var client = new TcpClient { NoDelay = true };
        SslStream? tls = null;
        try
        {
            await client.ConnectAsync(host, port, deadline.Token).ConfigureAwait(false);
            tls = new SslStream(client.GetStream(), leaveInnerStreamOpen: false);
            await tls.AuthenticateAsClientAsync(options, deadline.Token).ConfigureAwait(false);
            return tls;
        }
        catch
        {
            if (tls is not null)
            {
                await tls.DisposeAsync().ConfigureAwait(false);
            }

            client.Dispose();
            throw;
        }
    }
}
