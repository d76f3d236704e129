using SecureChat.Benchmarks.Targets.Bare;
using SecureChat.Core.Wire;
using SecureChat.Transport.Certificates;

namespace SecureChat.Benchmarks.Cli;

/// <summary>The hidden <c>serve-bare</c> mode: the bare relay in a process of its own, until it is killed or stdin closes.</summary>
internal static class ServeBare
{
    public static async Task<int> RunAsync(string certificates, int port, CancellationToken cancellationToken)
    {
        using var server = PemFiles.LoadCertificateWithKey(CertificateFiles.ServerCertificatePath(certificates), CertificateFiles.ServerKeyPath(certificates));
        using var ca = PemFiles.LoadCertificate(CertificateFiles.CaCertificatePath(certificates));
        await using var relay = new BareRelayServer(server, ca, WireLimits.DefaultMaxFrameBytes);
        var endpoint = relay.Start(port);
        Console.WriteLine($"bare relay listening on {endpoint}");

        // The parent holds our stdin: when it goes away without killing us, so do we.
        Task stdinClosed = Task.Run(() => Console.In.ReadToEnd(), CancellationToken.None);
        await Task.WhenAny(stdinClosed, Task.Delay(Timeout.Infinite, cancellationToken));
        return 0;
    }
}
