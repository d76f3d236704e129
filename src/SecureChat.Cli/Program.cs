using System.CommandLine;
using SecureChat.Cli.Certs;
using SecureChat.Cli.Chat;
using SecureChat.Cli.Simulate;

var root = new RootCommand("securechat: end-to-end encrypted group chat over an untrusted server")
{
    ChatCommand.Create(),
    CertsCommand.Create(),
    SimulateCommand.Create(),
};

return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
