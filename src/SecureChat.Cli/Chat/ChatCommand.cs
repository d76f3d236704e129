using System.CommandLine;

namespace SecureChat.Cli.Chat;

/// <summary><c>securechat chat --id ID</c>: the interactive chat client.</summary>
internal static class ChatCommand
{
    public static Command Create()
    {
        var id = new Option<string>("--id") { Description = "Your client id (the CN of your certificate)", Required = true };
        var server = new Option<string>("--server") { Description = "Server address HOST:PORT", DefaultValueFactory = _ => Endpoint.Default };
        var certs = new Option<string>("--certs")
        {
            Description = "Folder with ca.pem and ID.pem/ID.key; if it holds the development CA key, a missing ID certificate is issued",
            DefaultValueFactory = _ => "certs",
        };
        var home = new Option<string?>("--home")
        {
            Description = "Folder for identity keys and trusted pins (default: $SECURECHAT_HOME or ~/.securechat); a subfolder per id is used",
        };
        var chat = new Command("chat", "Chat interactively: /join ROOM, then type. /help lists the commands.") { id, server, certs, home };
        chat.SetAction((parse, cancellationToken) =>
        {
            var options = new ChatOptions(parse.GetValue(id)!, parse.GetValue(server)!, parse.GetValue(certs)!, parse.GetValue(home));
            return ChatApp.RunAsync(options, cancellationToken);
        });
        return chat;
    }
}

internal sealed record ChatOptions(string ClientId, string Server, string CertsDirectory, string? Home)
{
    public string IdentityFolder
    {
        get
        {
            var root = Home ?? Environment.GetEnvironmentVariable("SECURECHAT_HOME");
            if (string.IsNullOrEmpty(root))
            {
                root = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".securechat");
            }

            return Path.Combine(root, ClientId);
        }
    }
}
