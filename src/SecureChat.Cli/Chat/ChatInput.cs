namespace SecureChat.Cli.Chat;

/// <summary>One line the user typed, understood.</summary>
internal abstract record ChatInput
{
    public sealed record JoinRoom(string RoomId) : ChatInput;

    public sealed record LeaveRoom(string? RoomId) : ChatInput;

    public sealed record ListRooms : ChatInput;

    public sealed record Who : ChatInput;

    public sealed record Say(string Text) : ChatInput;

    public sealed record ShowFingerprint : ChatInput;

    public sealed record ShowCode : ChatInput;

    public sealed record TrustKey(string ClientId) : ChatInput;

    public sealed record Quit : ChatInput;

    public sealed record Help : ChatInput;

    public sealed record Nothing : ChatInput;

    /// <summary>Not understood; <paramref name="Problem"/> is the one line to show.</summary>
    public sealed record Invalid(string Problem) : ChatInput;

    public const string HelpText =
        """
        commands:
          /join ROOM       join (or create) a room and make it the current room
          /leave [ROOM]    leave a room (default: the current one)
          /rooms           list joined rooms
          /who             members of the current room with their fingerprints
          /msg TEXT        send TEXT to the current room (plain text does the same)
          /fingerprint     your own identity fingerprint
          /code            the current room's epoch code; compare it with the others
          /trust ID        accept a changed identity key for ID
          /quit            leave every room and exit
          /help            this list
        """;

    public static ChatInput Parse(string? line)
    {
        if (line is null)
        {
            return new Quit();
        }

        var trimmed = line.Trim();
        if (trimmed.Length == 0)
        {
            return new Nothing();
        }

        if (!trimmed.StartsWith('/'))
        {
            return new Say(trimmed);
        }

        if (trimmed.StartsWith("//", StringComparison.Ordinal))
        {
            // "//text" sends "/text": a way to say something that starts with a slash.
            return new Say(trimmed[1..]);
        }

        var space = trimmed.IndexOf(' ', StringComparison.Ordinal);
        var command = (space < 0 ? trimmed : trimmed[..space]).ToLowerInvariant();
        var argument = space < 0 ? string.Empty : trimmed[(space + 1)..].Trim();

        return command switch
        {
            "/join" => argument.Length == 0 || argument.Contains(' ', StringComparison.Ordinal)
                ? new Invalid("usage: /join ROOM")
                : new JoinRoom(argument),
            "/leave" => argument.Contains(' ', StringComparison.Ordinal)
                ? new Invalid("usage: /leave [ROOM]")
                : new LeaveRoom(argument.Length == 0 ? null : argument),
            "/rooms" => new ListRooms(),
            "/who" => new Who(),
            "/msg" => argument.Length == 0 ? new Invalid("usage: /msg TEXT") : new Say(argument),
            "/fingerprint" => new ShowFingerprint(),
            "/code" => new ShowCode(),
            "/trust" => argument.Length == 0 || argument.Contains(' ', StringComparison.Ordinal)
                ? new Invalid("usage: /trust ID")
                : new TrustKey(argument),
            "/quit" or "/exit" => new Quit(),
            "/help" or "/?" => new Help(),
            _ => new Invalid($"unknown command {command}; type /help for the list"),
        };
    }
}
