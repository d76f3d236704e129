using SecureChat.Client.Session;
using System.CommandLine;

namespace SecureChat.Cli.Chat;

/// <summary><c>securechat chat --id ID</c>: the interactive chat client.</summary>
internal static class ChatCommand
{
    public static Command Create()
    {
        var id = new Option<string>("--id") { Description = "Your client id (the CN of your certificate)", Required = true };
        var server = new Option<string>("--server")
        {
            Description = "Server address HOST:PORT, or a comma-separated list A,B,C: when one fails the client moves to the next",
            DefaultValueFactory = _ => Endpoint.Default,
        };
        var ackTimeout = new Option<double>("--ack-timeout")
        {
            Description = "Seconds a sent message waits for the server's confirmation before it is reported as maybe not delivered",
            DefaultValueFactory = _ => ChatOptions.DefaultAckTimeout.TotalSeconds,
        };
        var certs = new Option<string>("--certs")
        {
            Description = "Folder with ca.pem and ID.pem/ID.key; if it holds the development CA key, a missing ID certificate is issued",
            DefaultValueFactory = _ => "certs",
        };
        var home = new Option<string?>("--home")
        {
            Description = "Folder for the encrypted local store (identity key, pins, rooms, history; default: $SECURECHAT_HOME or ~/.securechat); a subfolder per id is used",
        };
        var noHistory = new Option<bool>("--no-history")
        {
            Description = "Keep no decrypted lines in the local store (and remove those kept); /history then shows nothing",
        };
        var chat = new Command("chat", "Chat interactively: /join ROOM, then type. /help lists the commands.") { id, server, certs, home, ackTimeout, noHistory };
        chat.SetAction((parse, cancellationToken) =>
        {
            var options = new ChatOptions(parse.GetValue(id)!, parse.GetValue(server)!, parse.GetValue(certs)!, parse.GetValue(home))
            {
                AckTimeout = TimeSpan.FromSeconds(parse.GetValue(ackTimeout)),
                KeepHistory = !parse.GetValue(noHistory),
            };
            return ChatApp.RunAsync(options, cancellationToken);
        });
        return chat;
    }
}

internal sealed record ChatOptions(string ClientId, string Server, string CertsDirectory, string? Home)
{
    public static readonly TimeSpan DefaultAckTimeout = new ClientSessionSettings().AckTimeout;

    public TimeSpan AckTimeout { get; init; } = DefaultAckTimeout;

    /// <summary>Keep the last decrypted lines per room in the encrypted local store (--no-history turns it off).</summary>
    public bool KeepHistory { get; init; } = true;

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
