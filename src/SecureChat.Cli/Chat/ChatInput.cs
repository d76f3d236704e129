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

    /// <summary>/trust ID [FINGERPRINT]: accept the changed key with that fingerprint; without one, list the waiting keys.</summary>
    public sealed record TrustKey(string ClientId, string? Fingerprint = null) : ChatInput;

    public sealed record SendQueued(string? RoomId) : ChatInput;

    /// <summary>/invite ID: invite ID to the current room.</summary>
    public sealed record Invite(string ClientId) : ChatInput;

    /// <summary>/remove ID: remove ID from the current room.</summary>
    public sealed record Remove(string ClientId) : ChatInput;

    /// <summary>/policy open|invite: change the current room's admission policy.</summary>
    public sealed record SetPolicy(Core.Wire.Admission Admission) : ChatInput;

    public sealed record DropQueued(string? RoomId) : ChatInput;

    /// <summary>/rekey: new keys for the current room by a commit of ours.</summary>
    public sealed record Rekey : ChatInput;

    /// <summary>/status: the connection and every room.</summary>
    public sealed record ShowStatus : ChatInput;

    /// <summary>/reconnect: connect again after the connection stopped (or now, instead of after the backoff).</summary>
    public sealed record Reconnect : ChatInput;

    public sealed record Quit : ChatInput;

    public sealed record Help : ChatInput;

    public sealed record Nothing : ChatInput;

    /// <summary>Not understood; <paramref name="Problem"/> is the one line to show.</summary>
    public sealed record Invalid(string Problem) : ChatInput;

    public const string HelpText =
        """
        commands:
          /join ROOM       join (or create) a room and make it the current room (a room you are in: switch to it)
          /leave [ROOM]    leave a room (default: the current one); the room joined before it becomes current
          /rooms           list joined rooms (* marks the current one)
          /who             members of the current room with their fingerprints
          /msg TEXT        send TEXT to the current room (plain text does the same)
          /fingerprint     your own identity fingerprint
          /code            the current room's epoch code; compare it with the others
          /trust ID        list the changed identity key(s) waiting for ID, with fingerprints
          /trust ID FINGERPRINT
                           accept the changed key of ID with that fingerprint (after comparing it)
          /invite ID       invite ID to the current room (needed to join an invite-only room)
          /kick ID         remove ID from the current room (any member may; the server cannot stop it); /remove ID is the same
          /policy open|invite
                           who may join the current room: anyone (open) or only invited ids (invite)
          /rekey           new keys for the current room (a new epoch and code; the same members)
          /status          the connection, the current room and every room's state and unread count
          /reconnect       connect again after the connection stopped (a certificate problem, signed in elsewhere), or now
          /send-queued [ROOM]  send messages held because members joined since you typed them
          /drop-queued [ROOM]  drop those held messages
          /quit            leave every room and exit
          /help            this list
        """;

    /// <summary>Every command name, for Tab completion.</summary>
    public static readonly IReadOnlyList<string> CommandNames =
    [
        "/join", "/leave", "/rooms", "/who", "/msg", "/fingerprint", "/code", "/trust", "/invite", "/kick", "/remove", "/policy",
        "/rekey", "/status", "/reconnect", "/send-queued", "/drop-queued", "/quit", "/help",
    ];

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
            "/trust" => ParseTrust(argument),
            "/invite" => argument.Length == 0 || argument.Contains(' ', StringComparison.Ordinal)
                ? new Invalid("usage: /invite ID")
                : new Invite(argument),
            "/remove" or "/kick" => argument.Length == 0 || argument.Contains(' ', StringComparison.Ordinal)
                ? new Invalid($"usage: {command} ID")
                : new Remove(argument),
            "/policy" => argument.ToLowerInvariant() switch
            {
                "open" => new SetPolicy(Core.Wire.Admission.Open),
                "invite" => new SetPolicy(Core.Wire.Admission.Invite),
                _ => new Invalid("usage: /policy open|invite"),
            },
            "/send-queued" => argument.Contains(' ', StringComparison.Ordinal)
                ? new Invalid("usage: /send-queued [ROOM]")
                : new SendQueued(argument.Length == 0 ? null : argument),
            "/drop-queued" => argument.Contains(' ', StringComparison.Ordinal)
                ? new Invalid("usage: /drop-queued [ROOM]")
                : new DropQueued(argument.Length == 0 ? null : argument),
            "/rekey" => new Rekey(),
            "/status" => new ShowStatus(),
            "/reconnect" => new Reconnect(),
            "/quit" or "/exit" => new Quit(),
            "/help" or "/?" => new Help(),
            _ => new Invalid($"unknown command {command}; type /help for the list"),
        };
    }

    private static ChatInput ParseTrust(string argument)
    {
        var space = argument.IndexOf(' ', StringComparison.Ordinal);
        var id = space < 0 ? argument : argument[..space];
        var fingerprint = space < 0 ? null : argument[(space + 1)..].Trim();
        if (id.Length == 0 || (fingerprint is not null && !fingerprint.All(c => char.IsAsciiDigit(c) || c == ' ')))
        {
            return new Invalid("usage: /trust ID [FINGERPRINT] (the fingerprint's digits; spaces are ignored)");
        }

        return new TrustKey(id, fingerprint);
    }
}
