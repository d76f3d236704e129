using System.Net;
using System.Net.Sockets;

namespace SecureChat.Benchmarks.Processes;

internal static class FreePort
{
    /// <summary>A loopback port free right now, for programs that cannot be told to bind port 0 and report it.</summary>
    public static int Pick()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
