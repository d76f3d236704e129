using System.Diagnostics;
using System.Text.RegularExpressions;
using SecureChat.Core.Wire;
using SecureChat.Testing.Hosting;
using SecureChat.Testing.RawClients;
using SecureChat.Transport.Certificates;
using SecureChat.Transport.Tls;
using Xunit.Abstractions;

namespace SecureChat.Server.Tests.Integration;

/// <summary>The built server as a child process: a signal stops it through CoordinatedShutdown and it exits 0.</summary>
public sealed partial class ProcessShutdownTests(ITestOutputHelper output)
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
        var lines = new List<string>();
        var listening = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var server = StartServer(dir.Path, certs, line =>
        {
            lock (lines)
            {
                lines.Add(line);
            }

            if (ListeningLine().Match(line) is { Success: true } match)
            {
                listening.TrySetResult(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
            }
        });

        try
        {
            var port = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(File.Exists(CertificateFiles.CaCertificatePath(certs)), "development certificates were made in --certs");
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
            lock (lines)
            {
                Assert.Contains(lines, line => line.Contains("SecureChat server stopped", StringComparison.Ordinal));
                Assert.Contains(lines, line => line.Contains("closing 1 connections", StringComparison.Ordinal));
            }
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
            }

            lock (lines)
            {
                foreach (var line in lines)
                {
                    output.WriteLine(line);
                }
            }
        }
    }

    private static Process StartServer(string workingDirectory, string certs, Action<string> onLine)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            WorkingDirectory = workingDirectory, // no hocon/ here: the copy next to the binary must be found
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "SecureChat.Server.dll"));
        start.ArgumentList.Add("--port");
        start.ArgumentList.Add("0");
        start.ArgumentList.Add("--certs");
        start.ArgumentList.Add(certs);
        start.ArgumentList.Add("--data");
        start.ArgumentList.Add(Path.Combine(workingDirectory, "data"));
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                onLine(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                onLine("stderr: " + e.Data);
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task SendSignalAsync(int pid, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture) }, UseShellExecute = false })!;
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }

    [GeneratedRegex(@"listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningLine();
}
