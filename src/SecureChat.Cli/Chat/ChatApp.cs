using System.Globalization;
using SecureChat.Client;
using SecureChat.Client.Session;

namespace SecureChat.Cli.Chat;

/// <summary>
/// The chat loop: user lines become client commands, client events become printed lines (each stamped with the time),
/// and the status row and prompt follow the connection and the current room. The current room changes only when the
/// user says so (/join, /leave): a reconnect rejoins every room but keeps the one that was current.
/// </summary>
internal sealed class ChatApp
{
    /// <summary>The input history's file in the identity's folder (what was typed, owner-readable only).</summary>
    public const string HistoryFileName = "history";

    private readonly ChatClient _client;
    private readonly IChatTerminal _terminal;
    private readonly TimeProvider _time;
    private readonly StopContext _stopContext;

    // The room state below is changed by the command loop and by the event loop: both hold the gate while they do.
    private readonly Lock _gate = new();
    private readonly List<string> _joined = [];
    private readonly Dictionary<string, SortedSet<string>> _members = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (ulong Epoch, string Code)> _keys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _unread = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LinkedList<OwnMessage>> _unsent = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Room, ulong Epoch, ulong Generation), OwnMessage> _unconfirmed = [];
    private readonly HashSet<(string Room, string ClientId)> _kicked = [];
    private string? _currentRoom;
    private bool _everConnected;
    private bool _online;
    private int _failedAttempts;
    private string _connection = "connecting";

    // What Tab completes from, republished on each change: the key thread reads these without the gate.
    private volatile string[] _completionRooms = [];
    private volatile string[] _completionMembers = [];

    private ChatApp(ChatClient client, IChatTerminal terminal, TimeProvider time, StopContext stopContext)
    {
        _client = client;
        _terminal = terminal;
        _time = time;
        _stopContext = stopContext;
    }

    public static async Task<int> RunAsync(ChatOptions options, CancellationToken cancellationToken)
    {
        if (options.AckTimeout <= TimeSpan.Zero)
        {
            await Console.Error.WriteLineAsync("securechat: --ack-timeout must be more than 0 seconds").ConfigureAwait(false);
            return 2;
        }

        using var setup = ClientSetup.TryPrepare(options.ClientId, options.Server, options.CertsDirectory, options.IdentityFolder, Console.Out, out var problem);
        if (setup is null)
        {
            await Console.Error.WriteLineAsync($"securechat: {problem}").ConfigureAwait(false);
            return 2;
        }

        ChatApp? app = null;
        var completer = new ChatCompleter(() => app?._completionRooms ?? [], () => app?._completionMembers ?? []);
        using var terminal = Console.IsInputRedirected || Console.IsOutputRedirected
            ? (IChatTerminal)new PlainTerminal(Console.In, Console.Out)
            : new LineEditor(Console.Out, new ConsoleKeySource(), history: InputHistory.Open(Path.Combine(options.IdentityFolder, HistoryFileName)),
                completer: completer);
        await using var client = setup.Start(settings: new ClientSessionSettings { AckTimeout = options.AckTimeout });
        app = new ChatApp(client, terminal, TimeProvider.System, new StopContext(client.ClientId, options.CertsDirectory));
        app.Print($"connecting to {string.Join(", then ", setup.Servers)} as {client.ClientId}; your fingerprint: {client.Fingerprint}");
        app.Print("type /join ROOM to start, /help for commands; Tab completes, Up/Down recall what you typed");
        app.ShowState();
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
                Print("bye");
                break;
            }

            try
            {
                await HandleAsync(input).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is TimeoutException or TaskCanceledException or Akka.Actor.AskTimeoutException)
            {
                Print("error: the client did not answer in time; try again");
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
                    Print(helpLine.TrimEnd('\r'));
                }

                break;
            case ChatInput.Invalid invalid:
                Print(invalid.Problem);
                break;
            case ChatInput.JoinRoom join when !Core.Wire.EnvelopeCodec.IsValidId(join.RoomId):
                Print(EventText.RoomNameRule);
                break;
            case ChatInput.JoinRoom join:
                Join(join.RoomId);
                break;
            case ChatInput.LeaveRoom leave:
                Leave(leave.RoomId);
                break;
            case ChatInput.ListRooms:
                await ListRoomsAsync().ConfigureAwait(false);
                break;
            case ChatInput.ShowStatus:
                lock (_gate)
                {
                    Print(ChatLines.Status(Status()));
                }

                await ListRoomsAsync().ConfigureAwait(false);
                break;
            case ChatInput.Who:
                if (RequireRoom() is { } whoRoom)
                {
                    var roster = await _client.GetRosterAsync(whoRoom).ConfigureAwait(false);
                    if (roster.Members.Count == 0)
                    {
                        Print(_online ? $"{whoRoom}: no members known yet (not admitted)" : $"{whoRoom}: offline; the members are known once the room is rejoined");
                        break;
                    }

                    Print(string.Create(CultureInfo.InvariantCulture, $"{whoRoom}, epoch {roster.Epoch}:"));
                    foreach (var member in roster.Members)
                    {
                        var you = member.ClientId == _client.ClientId ? " (you)" : string.Empty;
                        Print($"  {member.ClientId,-16} {member.Fingerprint}{you}");
                    }
                }

                break;
            case ChatInput.Say say:
                Say(say.Text);
                break;
            case ChatInput.ShowFingerprint:
                Print($"your fingerprint ({_client.ClientId}): {_client.Fingerprint}");
                break;
            case ChatInput.ShowCode:
                if (RequireRoom() is { } codeRoom)
                {
                    var code = await _client.GetEpochCodeAsync(codeRoom).ConfigureAwait(false);
                    Print(code.Code is null
                        ? $"{codeRoom}: no keys yet{(_online ? string.Empty : " (offline)")}"
                        : string.Create(CultureInfo.InvariantCulture, $"{codeRoom} epoch {code.Epoch} code: {code.Code}"));
                }

                break;
            case ChatInput.TrustKey trust:
                _client.Trust(trust.ClientId, trust.Fingerprint);
                break;
            case ChatInput.Invite invite:
                if (RequireOnlineRoom("invite") is { } inviteRoom)
                {
                    _client.Invite(inviteRoom, invite.ClientId);
                }

                break;
            case ChatInput.Remove remove:
                if (RequireOnlineRoom("remove a member") is { } removeRoom)
                {
                    lock (_gate)
                    {
                        _kicked.Add((removeRoom, remove.ClientId));
                    }

                    _client.Remove(removeRoom, remove.ClientId);
                }

                break;
            case ChatInput.SetPolicy policy:
                if (RequireOnlineRoom("change the policy") is { } policyRoom)
                {
                    _client.SetPolicy(policyRoom, policy.Admission);
                }

                break;
            case ChatInput.Rekey:
                if (RequireOnlineRoom("rekey") is { } rekeyRoom)
                {
                    Print($"* [{rekeyRoom}] rekeying: new keys for everyone in the room (\"keys ready\" follows)");
                    _client.Rekey(rekeyRoom);
                }

                break;
            case ChatInput.Reconnect:
                Reconnect();
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

    /// <summary>/join: a room we are in becomes current without a word; a new one is joined (when connected) and becomes current.</summary>
    private void Join(string roomId)
    {
        lock (_gate)
        {
            _currentRoom = roomId;
            _unread.Remove(roomId);
            if (_joined.Contains(roomId))
            {
                ShowState();
                return;
            }

            _joined.Add(roomId);
            if (!_online)
            {
                Print($"offline; will join {roomId} when connected");
            }

            ShowState();
        }

        // The new room is current at once: lines typed before its keys arrive are queued, not lost.
        _client.Join(roomId);
    }

    /// <summary>/reconnect: after a stop, or while waiting out the backoff, the client tries now; the next failure prints its line again.</summary>
    private void Reconnect()
    {
        lock (_gate)
        {
            if (_online)
            {
                Print("already online");
                return;
            }

            _failedAttempts = 0;
            _connection = "connecting";
            Print("* connecting again...");
            ShowState();
        }

        _client.Reconnect();
    }

    private void Leave(string? named)
    {
        string room;
        lock (_gate)
        {
            if ((named ?? _currentRoom) is not { } leaving)
            {
                Print("not in a room");
                return;
            }

            if (!_joined.Contains(leaving))
            {
                Print($"not in {leaving}");
                return;
            }

            room = leaving;
            Forget(room);
            Print(_currentRoom is { } now
                ? $"* leaving {room}; the current room is {now}"
                : $"* leaving {room}; no current room now (/join ROOM)");
            ShowState();
        }

        _client.Leave(room);
    }

    private void Say(string text)
    {
        lock (_gate)
        {
            if (_currentRoom is not { } room)
            {
                Print("no current room; /join ROOM first");
                return;
            }

            var message = new OwnMessage(room, text, _time.GetLocalNow());
            message.LineId = Print(message.Line(_client.ClientId), message.PrintedAt);
            Unsent(room).AddLast(message);
            _client.Send(room, text);
        }
    }

    private async Task ListRoomsAsync()
    {
        var rooms = await _client.GetRoomsAsync().ConfigureAwait(false);
        if (rooms.Rooms.Count == 0)
        {
            Print("no rooms; /join ROOM");
        }

        foreach (var info in rooms.Rooms)
        {
            int unread;
            lock (_gate)
            {
                unread = _unread.GetValueOrDefault(info.RoomId);
            }

            var marker = info.RoomId == _currentRoom ? "*" : " ";
            Print(string.Create(CultureInfo.InvariantCulture,
                $"{marker} {info.RoomId}  {EventText.Describe(info.Phase)}, epoch {info.Epoch}, {info.Members} member(s)") +
                (unread > 0 ? string.Create(CultureInfo.InvariantCulture, $", {unread} unread") : string.Empty) +
                (info.Unacknowledged > 0 ? string.Create(CultureInfo.InvariantCulture, $", {info.Unacknowledged} sent not yet confirmed") : string.Empty));
        }
    }

    private string? RequireRoom()
    {
        var room = _currentRoom;
        if (room is null)
        {
            Print("no current room; /join ROOM first");
        }

        return room;
    }

    /// <summary>The current room for a command that needs the server now; offline it says so instead.</summary>
    private string? RequireOnlineRoom(string what)
    {
        if (RequireRoom() is not { } room)
        {
            return null;
        }

        if (!_online)
        {
            Print($"offline; cannot {what} until the connection is back");
            return null;
        }

        return room;
    }

    private async Task PrintEventsAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var e in _client.Events.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                lock (_gate)
                {
                    if (Track(e) is { } line)
                    {
                        Print(line);
                    }

                    ShowState();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Quitting.
        }
    }

    /// <summary>Follows the event in the room state; returns the line to print for it (null: none, or already shown).</summary>
    private string? Track(ClientEvent e)
    {
        switch (e)
        {
            case Connected:
                _everConnected = _online = true;
                _failedAttempts = 0;
                _connection = "online";
                break;
            case Reconnected:
                _online = true;
                _failedAttempts = 0;
                _connection = "online";
                break;
            case Disconnected disconnected:
                _failedAttempts++;
                _connection = ChatLines.Offline(disconnected, _failedAttempts);
                var first = _failedAttempts == 1;
                _online = false;

                // One line when the connection goes; later attempts only change the status row.
                return first || disconnected.RetryIn is null ? ChatLines.ConnectionLost(disconnected, _everConnected) : null;
            case ConnectionStopped stopped:
                _online = false;
                _connection = EventText.StoppedStatus(stopped);
                return EventText.Stopped(stopped, _stopContext);
            case Joined joined when !_joined.Contains(joined.RoomId):
                _joined.Add(joined.RoomId);
                _currentRoom ??= joined.RoomId;
                break;
            case KeyEstablished keys:
                _keys[keys.RoomId] = (keys.Epoch, keys.EpochCode);
                break;
            case MemberJoined member:
                RoomMembers(member.RoomId).Add(member.ClientId);
                break;
            case MemberLeft member:
                RoomMembers(member.RoomId).Remove(member.ClientId);
                if (_kicked.Remove((member.RoomId, member.ClientId)) && member.RemovedBy == _client.ClientId)
                {
                    return $"* [{member.RoomId}] {member.ClientId} is out: removed by you";
                }

                break;
            case Left left:
                Forget(left.RoomId);
                break;
            case MessageReceived received when received.RoomId != _currentRoom:
                _unread[received.RoomId] = _unread.GetValueOrDefault(received.RoomId) + 1;
                break;
            case MessageSent sent:
                if (TakeUnsent(sent.RoomId, m => m.Text == sent.Text, fromNewest: false) is { } message)
                {
                    _unconfirmed[(sent.RoomId, sent.Epoch, sent.Generation)] = message;
                    Mark(message, new Delivery.Sent());
                }

                return null;
            case MessageRelayed relayed:
                if (_unconfirmed.Remove((relayed.RoomId, relayed.Epoch, relayed.Generation), out var confirmed))
                {
                    Mark(confirmed, new Delivery.Relayed());
                }

                return null;
            case MessageStored or PositionAcknowledged:
                return null; // bookkeeping of the message log: the delivery mark already says sent
            case MessageNotDelivered notDelivered when _unconfirmed.Remove((notDelivered.RoomId ?? string.Empty, notDelivered.Epoch, notDelivered.Generation), out var lost):
                Mark(lost, new Delivery.Failed(EventText.Describe(notDelivered)));
                return null;
            case QueuedSendsDropped dropped:
                for (var i = 0; i < dropped.Count && TakeUnsent(dropped.RoomId ?? string.Empty, _ => true, fromNewest: false) is { } never; i++)
                {
                    Mark(never, new Delivery.Failed("dropped before it was sent"));
                }

                break;
            case SendQueueFull full when TakeUnsent(full.RoomId ?? string.Empty, _ => true, fromNewest: true) is { } notKept:
                Mark(notKept, new Delivery.Failed("not kept: too many messages wait for the room's keys"));
                break;
            case MessageNotSent notSent when TakeUnsent(notSent.RoomId ?? string.Empty, _ => true, fromNewest: false) is { } refused:
                Mark(refused, new Delivery.Failed("not sent: " + EventText.Describe(notSent.Reason)));
                return null;
            case NotInRoom notIn when TakeUnsent(notIn.RoomId ?? string.Empty, _ => true, fromNewest: true) is { } nowhere:
                Mark(nowhere, new Delivery.Failed($"not in {notIn.RoomId}"));
                break;
        }

        return EventText.Format(e);
    }

    /// <summary>A room is no longer ours: its state goes, and if it was current the last room joined before it is.</summary>
    private void Forget(string roomId)
    {
        _joined.Remove(roomId);
        _members.Remove(roomId);
        _keys.Remove(roomId);
        _unread.Remove(roomId);
        if (_currentRoom == roomId)
        {
            _currentRoom = _joined.LastOrDefault();
            if (_currentRoom is { } now)
            {
                _unread.Remove(now);
            }
        }
    }

    private void Mark(OwnMessage message, Delivery delivery)
    {
        message.Delivery = delivery;
        if (!_terminal.TryRewrite(message.LineId, ChatLines.Stamped(message.PrintedAt, message.Line(_client.ClientId))))
        {
            Print(ChatLines.FollowUp(message.Room, message.Text, delivery));
        }
    }

    private OwnMessage? TakeUnsent(string roomId, Func<OwnMessage, bool> match, bool fromNewest)
    {
        var queue = Unsent(roomId);
        for (var node = fromNewest ? queue.Last : queue.First; node is not null; node = fromNewest ? node.Previous : node.Next)
        {
            if (match(node.Value))
            {
                queue.Remove(node);
                return node.Value;
            }
        }

        return null;
    }

    private LinkedList<OwnMessage> Unsent(string roomId)
    {
        if (!_unsent.TryGetValue(roomId, out var queue))
        {
            _unsent[roomId] = queue = new LinkedList<OwnMessage>();
        }

        return queue;
    }

    private SortedSet<string> RoomMembers(string roomId)
    {
        if (!_members.TryGetValue(roomId, out var members))
        {
            _members[roomId] = members = new SortedSet<string>(StringComparer.Ordinal);
        }

        return members;
    }

    private StatusInfo Status()
    {
        var keys = _currentRoom is { } room && _keys.TryGetValue(room, out var k) ? k : ((ulong, string)?)null;
        return new StatusInfo(_client.ClientId, _connection, _currentRoom, keys?.Item1 ?? 0, keys?.Item2, new Dictionary<string, int>(_unread));
    }

    /// <summary>Brings the prompt, the status row and what Tab completes up to date.</summary>
    private void ShowState()
    {
        lock (_gate)
        {
            _terminal.SetPrompt((_currentRoom ?? string.Empty) + "> ");
            _terminal.SetStatus(ChatLines.Status(Status()));
            _completionRooms = [.. _joined];
            _completionMembers = _currentRoom is { } room && _members.TryGetValue(room, out var members) ? [.. members] : [];
        }
    }

    private long Print(string line, DateTimeOffset? at = null) => _terminal.WriteLine(ChatLines.Stamped(at ?? _time.GetLocalNow(), line));

    /// <summary>A message we typed, the line it was printed on, and where it is.</summary>
    private sealed class OwnMessage(string room, string text, DateTimeOffset printedAt)
    {
        public string Room { get; } = room;

        public string Text { get; } = text;

        public DateTimeOffset PrintedAt { get; } = printedAt;

        public long LineId { get; set; }

        public Delivery Delivery { get; set; } = new Delivery.Queued();

        public string Line(string clientId) => ChatLines.Own(Room, clientId, Text, Delivery);
    }
}
