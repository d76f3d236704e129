using System.CommandLine;
using System.Runtime.InteropServices;
using SecureChat.Cli.Certs;
using SecureChat.Cli.Chat;
using SecureChat.Cli.Simulate;

var root = new RootCommand("securechat: end-to-end encrypted group chat over an untrusted server")
{
    ChatCommand.Create(),
    CertsCommand.Create(),
    SimulateCommand.Create(),
};

// Ctrl-C and SIGTERM cancel the running command, which then closes its connections and servers in
// order; the process is not torn down under it (that left the in-process server's shutdown hanging).
using var stop = new CancellationTokenSource();
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);
var configuration = new InvocationConfiguration { ProcessTerminationTimeout = null };
return await root.Parse(args).InvokeAsync(configuration, stop.Token).ConfigureAwait(false);

void Cancel(PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}
