using System.Diagnostics;
using SecureChat.Core.Wire;
using SecureChat.Testing.Hosting;
using SecureChat.Testing.RawClients;
using SecureChat.Transport.Certificates;
using SecureChat.Transport.Tls;
using Xunit.Abstractions;

namespace SecureChat.Server.Tests.Integration;

/// <summary>The built server as a child process: a signal stops it through CoordinatedShutdown and it exits 0.</summary>
public sealed class ProcessShutdownTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public async Task A_signal_closes_the_connections_and_the_process_exits_with_zero(string signal)
    {
        if (OperatingSystem.IsWindows())
        {
            return; // POSIX signals
        }

        using var dir = new TempDirectory();
        var certs = Path.Combine(dir.Path, "certs");
        // No hocon/ in the working directory: the copy next to the binary must be found.
        using var server = ServerProcess.Start("server", dir.Path, ["--port", "0", "--certs", certs, "--dev-certs", "--data", Path.Combine(dir.Path, "data")]);
        try
        {
            var port = await server.ListeningPortAsync(TimeSpan.FromSeconds(60));
            Assert.True(File.Exists(CertificateFiles.CaCertificatePath(certs)), "development certificates were made in --certs, as --dev-certs asks");
            using var authority = CertificateAuthority.Load(certs);
            using var aliceCert = authority.IssueClientCertificate("alice");
            await using var alice = await TestClient.ConnectAsync("alice", port, TlsSettings.ForClient(aliceCert, authority.Certificate, "localhost"));
            await alice.HelloAsync();

            await SendSignalAsync(server.Id, signal);

            var goodbye = await alice.ExpectAsync(MessageType.Error);
            Assert.Equal(ErrorCode.ServerShutdown, goodbye.Error.Code);
            Assert.Null(await alice.ReadAsync());
            using var exitDeadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await server.WaitForExitAsync(exitDeadline.Token);
            Assert.Equal(0, server.ExitCode);
            Assert.Contains(server.Lines, line => line.Contains("SecureChat server stopped", StringComparison.Ordinal));
            Assert.Contains(server.Lines, line => line.Contains("closing 1 connections", StringComparison.Ordinal));
        }
        finally
        {
            server.Kill();
            foreach (var line in server.Lines)
            {
                output.WriteLine(line);
            }
        }
    }

    private static async Task SendSignalAsync(int pid, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture) }, UseShellExecute = false })!;
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }
}
