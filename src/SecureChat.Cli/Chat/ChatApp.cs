using System.Globalization;
using System.Security.Cryptography;
using SecureChat.Cli.Certs;
using SecureChat.Client;
using SecureChat.Client.Session;
using SecureChat.Protocol.Identity;

namespace SecureChat.Cli.Chat;

/// <summary>The chat loop: user lines become client commands, client events become printed lines.</summary>
internal sealed class ChatApp
{
    private readonly ChatClient _client;
    private readonly IChatTerminal _terminal;
    private readonly List<string> _joined = [];
    private readonly Dictionary<string, SortedSet<string>> _members = new(StringComparer.Ordinal);

    // Guards the room state above: events update it, Tab completion reads it on the key thread.
    private readonly Lock _gate = new();
    private string? _currentRoom;

    private ChatApp(ChatClient client, IChatTerminal terminal)
    {
        _client = client;
        _terminal = terminal;
    }

    /// <summary>The input history's file in the identity's folder (what was typed, owner-readable only).</summary>
    public const string HistoryFileName = "history";

    public static async Task<int> RunAsync(ChatOptions options, CancellationToken cancellationToken)
    {
        if (options.AckTimeout <= TimeSpan.Zero)
        {
            await Console.Error.WriteLineAsync("securechat: --ack-timeout must be more than 0 seconds").ConfigureAwait(false);
            return 2;
        }

        var setup = ClientSetup.TryPrepare(options.ClientId, options.Server, options.CertsDirectory, options.IdentityFolder, Console.Out, out var problem);
        if (setup is null)
        {
            await Console.Error.WriteLineAsync($"securechat: {problem}").ConfigureAwait(false);
            return 2;
        }

        var completer = new Completions();
        using var terminal = Console.IsInputRedirected || Console.IsOutputRedirected
            ? (IChatTerminal)new PlainTerminal(Console.In, Console.Out)
            : new LineEditor(Console.Out, new ConsoleKeySource(), history: InputHistory.Open(Path.Combine(options.IdentityFolder, HistoryFileName)),
                completer: new ChatCompleter(completer.Rooms, completer.Members));
        await using var client = setup.Start(settings: new ClientSessionSettings { AckTimeout = options.AckTimeout });
        var app = new ChatApp(client, terminal);
        completer.App = app;
        terminal.WriteLine($"connecting to {string.Join(", then ", setup.Servers)} as {client.ClientId}; your fingerprint: {client.Fingerprint}");
        terminal.WriteLine("type /join ROOM to start, /help for commands");
        var events = Task.Run(() => app.PrintEventsAsync(cancellationToken), CancellationToken.None);
        var exitCode = await app.ReadCommandsAsync(cancellationToken).ConfigureAwait(false);
        await client.DisposeAsync().ConfigureAwait(false);
        await events.ConfigureAwait(false);
        return exitCode;
    }

    private async Task<int> ReadCommandsAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            string? line;
            try
            {
                line = await _terminal.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            var input = ChatInput.Parse(line);
            if (input is ChatInput.Quit)
            {
                _terminal.WriteLine("bye");
                break;
            }

            try
            {
                await HandleAsync(input).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is TimeoutException or TaskCanceledException or Akka.Actor.AskTimeoutException)
            {
                _terminal.WriteLine("error: the client did not answer in time; try again");
            }
        }

        return 0;
    }

    private async Task HandleAsync(ChatInput input)
    {
        switch (input)
        {
            case ChatInput.Nothing:
                break;
            case ChatInput.Help:
                foreach (var helpLine in ChatInput.HelpText.Split('\n'))
                {
                    _terminal.WriteLine(helpLine.TrimEnd('\r'));
                }

                break;
            case ChatInput.Invalid invalid:
                _terminal.WriteLine(invalid.Problem);
                break;
            case ChatInput.JoinRoom join when !Core.Wire.EnvelopeCodec.IsValidId(join.RoomId):
                _terminal.WriteLine(EventText.RoomNameRule);
                break;
            case ChatInput.JoinRoom join:
                // The new room is current at once: lines typed before its keys arrive are queued, not lost.
                _currentRoom = join.RoomId;
                _terminal.SetPrompt(join.RoomId + "> ");
                _client.Join(join.RoomId);
                break;
            case ChatInput.LeaveRoom leave:
                var room = leave.RoomId ?? _currentRoom;
                if (room is null)
                {
                    _terminal.WriteLine("not in a room");
                    break;
                }

                _client.Leave(room);
                break;
            case ChatInput.ListRooms:
                var rooms = await _client.GetRoomsAsync().ConfigureAwait(false);
                if (rooms.Rooms.Count == 0)
                {
                    _terminal.WriteLine("no rooms; /join ROOM");
                }

                foreach (var info in rooms.Rooms)
                {
                    var marker = info.RoomId == _currentRoom ? "*" : " ";
                    _terminal.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{marker} {info.RoomId}  {EventText.Describe(info.Phase)}, epoch {info.Epoch}, {info.Members} member(s)") +
                        (info.Unacknowledged > 0 ? string.Create(CultureInfo.InvariantCulture, $", {info.Unacknowledged} sent not yet confirmed") : string.Empty));
                }

                break;
            case ChatInput.Who:
                if (RequireRoom() is { } whoRoom)
                {
                    var roster = await _client.GetRosterAsync(whoRoom).ConfigureAwait(false);
                    if (roster.Members.Count == 0)
                    {
                        _terminal.WriteLine($"{whoRoom}: no members known yet (not admitted)");
                        break;
                    }

                    _terminal.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{whoRoom}, epoch {roster.Epoch}:"));
                    foreach (var member in roster.Members)
                    {
                        var you = member.ClientId == _client.ClientId ? " (you)" : string.Empty;
                        _terminal.WriteLine($"  {member.ClientId,-16} {member.Fingerprint}{you}");
                    }
                }

                break;
            case ChatInput.Say say:
                if (RequireRoom() is { } sayRoom)
                {
                    _terminal.WriteLine($"[{sayRoom}] {_client.ClientId}: {say.Text}");
                    _client.Send(sayRoom, say.Text);
                }

                break;
            case ChatInput.ShowFingerprint:
                _terminal.WriteLine($"your fingerprint ({_client.ClientId}): {_client.Fingerprint}");
                break;
            case ChatInput.ShowCode:
                if (RequireRoom() is { } codeRoom)
                {
                    var code = await _client.GetEpochCodeAsync(codeRoom).ConfigureAwait(false);
                    _terminal.WriteLine(code.Code is null
                        ? $"{codeRoom}: no keys yet"
                        : string.Create(CultureInfo.InvariantCulture, $"{codeRoom} epoch {code.Epoch} code: {code.Code}"));
                }

                break;
            case ChatInput.TrustKey trust:
                _client.Trust(trust.ClientId, trust.Fingerprint);
                break;
            case ChatInput.Invite invite:
                if (RequireRoom() is { } inviteRoom)
                {
                    _client.Invite(inviteRoom, invite.ClientId);
                }

                break;
            case ChatInput.Remove remove:
                if (RequireRoom() is { } removeRoom)
                {
                    _client.Remove(removeRoom, remove.ClientId);
                }

                break;
            case ChatInput.SetPolicy policy:
                if (RequireRoom() is { } policyRoom)
                {
                    _client.SetPolicy(policyRoom, policy.Admission);
                }

                break;
            case ChatInput.SendQueued send:
                if ((send.RoomId ?? RequireRoom()) is { } sendRoom)
                {
                    _client.SendQueued(sendRoom);
                }

                break;
            case ChatInput.DropQueued drop:
                if ((drop.RoomId ?? RequireRoom()) is { } dropRoom)
                {
                    _client.DropQueued(dropRoom);
                }

                break;
        }
    }

    private string? RequireRoom()
    {
        if (_currentRoom is null)
        {
            _terminal.WriteLine("no current room; /join ROOM first");
        }

        return _currentRoom;
    }

    private async Task PrintEventsAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var e in _client.Events.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                lock (_gate)
                {
                    Track(e);
                }

                if (EventText.Format(e) is { } line)
                {
                    _terminal.WriteLine(line);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Quitting.
        }
    }

    private void Track(ClientEvent e)
    {
        switch (e)
        {
            case Joined joined:
                if (!_joined.Contains(joined.RoomId))
                {
                    _joined.Add(joined.RoomId);
                }

                _currentRoom = joined.RoomId;
                _terminal.SetPrompt(joined.RoomId + "> ");
                break;
            case MemberJoined member:
                RoomMembers(member.RoomId).Add(member.ClientId);
                break;
            case MemberLeft member:
                RoomMembers(member.RoomId).Remove(member.ClientId);
                break;
            case Left left:
                _joined.Remove(left.RoomId);
                _members.Remove(left.RoomId);
                if (_currentRoom == left.RoomId)
                {
                    _currentRoom = _joined.LastOrDefault();
                    _terminal.SetPrompt(_currentRoom is null ? "> " : _currentRoom + "> ");
                }

                break;
        }
    }

    private SortedSet<string> RoomMembers(string roomId)
    {
        if (!_members.TryGetValue(roomId, out var members))
        {
            _members[roomId] = members = new SortedSet<string>(StringComparer.Ordinal);
        }

        return members;
    }

    /// <summary>What Tab completes from: the rooms joined and the members of the current room (read on the key thread).</summary>
    private sealed class Completions
    {
        public ChatApp? App { get; set; }

        public IReadOnlyCollection<string> Rooms()
        {
            if (App is not { } app)
            {
                return [];
            }

            lock (app._gate)
            {
                return [.. app._joined];
            }
        }

        public IReadOnlyCollection<string> Members()
        {
            if (App is not { } app)
            {
                return [];
            }

            lock (app._gate)
            {
                return app._currentRoom is { } room && app._members.TryGetValue(room, out var members) ? [.. members] : [];
            }
        }
    }
}
