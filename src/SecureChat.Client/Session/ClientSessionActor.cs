using Akka.Actor;
using Akka.Event;
using SecureChat.Client.Connection;
using SecureChat.Core.Wire;
using Envelope = SecureChat.Core.Wire.Envelope;

namespace SecureChat.Client.Session;

/// <summary>
/// One connected user. Owns the link to the server (through <see cref="IServerConnector"/>),
/// greets the server, routes room frames to one <see cref="RoomSessionActor"/> child per room,
/// and reconnects when the link is lost, after which every room rejoins and rekeys.
/// Connection states are <see cref="Connecting"/>, <see cref="Connected"/> and <see cref="Reconnecting"/>.
/// </summary>
/// <remarks>
/// With several servers, a failure moves to the next one in the list (after the last, the first again). The delay
/// before the next attempt is <see cref="ClientSessionSettings.InitialBackoff"/> for as many failures in a row as there
/// are servers, then doubles after each further round of the list, up to <see cref="ClientSessionSettings.MaxBackoff"/>
/// (with one server: doubles per failure), each wait shortened at random by up to <see cref="ClientSessionSettings.BackoffJitter"/>
/// of itself (<see cref="ReconnectBackoff"/>). A greeted connection stays on its server until that one fails.
/// </remarks>
public sealed class ClientSessionActor : ReceiveActor, IWithTimers
{
    private readonly RoomContext _room;
    private readonly IReadOnlyList<IServerConnector> _servers;
    private readonly ClientSessionSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, IActorRef> _rooms = new(StringComparer.Ordinal);

    private readonly Queue<Envelope> _paced = new();
    private readonly FramePacer _pacer;
    private IServerLink? _link;
    private int _server;
    private long _linkId;
    private int _failedAttempts;
    private bool _everConnected;
    private bool _certificateAccepted; // greeted since the last connection the server ended without a frame (ReconnectRule)
    private bool _greeted;
    private bool _serverKeepsMessages;
    private ServerLimits? _serverLimits; // of the server this connection greets: two servers may announce different ones
    private int _reconnects;

    public ClientSessionActor(RoomContext room, IReadOnlyList<IServerConnector> servers)
    {
        ArgumentOutOfRangeException.ThrowIfZero(servers.Count, nameof(servers));
        _room = room;
        _servers = servers;
        _settings = room.Settings;
        _pacer = new FramePacer(_settings.MaxFramesPerSecond, _settings.FrameBurst);
        Connecting();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(RoomContext room, IServerConnector connector) => Props(room, [connector]);

    /// <summary>A session that moves along <paramref name="servers"/> when one fails (see the remarks on the class).</summary>
    public static Props Props(RoomContext room, IReadOnlyList<IServerConnector> servers) =>
        Akka.Actor.Props.Create(() => new ClientSessionActor(room, servers));

    protected override void PreStart()
    {
        // The rooms we were in when we last stopped come back first: they rejoin (resume) once the link is greeted.
        foreach (var record in _room.Store?.Rooms ?? [])
        {
            if (EnvelopeCodec.IsValidId(record.RoomId) && !_rooms.ContainsKey(record.RoomId) && _rooms.Count < _settings.MaxRooms)
            {
                StartRoom(record.RoomId, record);
            }
        }

        OpenLink();
    }

    protected override void PostStop() => _link?.Dispose();

    /// <summary>TLS is being set up, or HELLO is out and WELCOME not yet in.</summary>
    private void Connecting()
    {
        Receive<LinkEvents.LinkUp>(up => up.LinkId == _linkId, _ => SendHello());
        Receive<LinkEvents.FrameReceived>(f => f.LinkId == _linkId, f => OnGreeting(f.Envelope));
        Receive<LinkEvents.LinkDown>(down => down.LinkId == _linkId, down => OnLinkDown(DisconnectCause.LinkFailed, down.Reason, down.Kind));
        Receive<WelcomeTimedOut>(t => t.LinkId == _linkId, _ => OnLinkDown(DisconnectCause.WelcomeTimeout, null));
        Receive<DrainPaced>(_ => OnDrainPaced());
        ReceiveRoomCommands();
        ReceiveStaleLinkNews();
    }

    /// <summary>Greeted: frames flow between the rooms and the server.</summary>
    private void Connected()
    {
        Receive<LinkEvents.FrameReceived>(f => f.LinkId == _linkId, f => OnFrame(f.Envelope));
        Receive<LinkEvents.LinkDown>(down => down.LinkId == _linkId, down => OnLinkDown(DisconnectCause.LinkFailed, down.Reason, down.Kind));
        Receive<RoomProtocol.Outbound>(o => SendToServer(o.Envelope));
        Receive<DrainPaced>(_ => OnDrainPaced());
        ReceiveRoomCommands();
        ReceiveStaleLinkNews();
    }

    /// <summary>No link; waiting out the backoff before the next attempt. Rooms hold their sends.</summary>
    private void Reconnecting()
    {
        Receive<ReconnectNow>(_ =>
        {
            OpenLink();
            Become(Connecting);
        });
        Receive<ClientCommands.Reconnect>(_ =>
        {
            Timers.Cancel(nameof(ReconnectNow));
            OpenLink();
            Become(Connecting);
        });
        ReceiveRoomCommands();
        ReceiveStaleLinkNews();
    }

    /// <summary>Stopped by a failure retrying cannot heal (<see cref="ConnectionStopped"/>): no attempt until the owner asks for one.</summary>
    private void Stopped()
    {
        Receive<ClientCommands.Reconnect>(_ =>
        {
            _failedAttempts = 0;
            OpenLink();
            Become(Connecting);
        });
        ReceiveRoomCommands();
        ReceiveStaleLinkNews();
    }

    private void ReceiveRoomCommands()
    {
        Receive<ClientCommands.Join>(OnJoin);
        Receive<ClientCommands.Leave>(leave => ForwardToRoom(leave.RoomId, leave));
        Receive<ClientCommands.Send>(send => ForwardToRoom(send.RoomId, send));
        Receive<ClientCommands.SendQueued>(send => ForwardToRoom(send.RoomId, send));
        Receive<ClientCommands.DropQueued>(drop => ForwardToRoom(drop.RoomId, drop));
        Receive<ClientCommands.Invite>(invite => ForwardToRoom(invite.RoomId, invite));
        Receive<ClientCommands.Remove>(remove => ForwardToRoom(remove.RoomId, remove));
        Receive<ClientCommands.SetPolicy>(policy => ForwardToRoom(policy.RoomId, policy));
        Receive<ClientCommands.Rekey>(rekey => ForwardToRoom(rekey.RoomId, rekey));
        Receive<ClientCommands.QueryRoster>(query => ForwardToRoom(query.RoomId, query, new ClientCommands.RosterReply(query.RoomId, 0, [])));
        Receive<ClientCommands.QueryEpochCode>(query => ForwardToRoom(query.RoomId, query, new ClientCommands.EpochCodeReply(query.RoomId, 0, null)));
        Receive<ClientCommands.QueryHistory>(query => ForwardToRoom(query.RoomId, query,
            new ClientCommands.HistoryReply(query.RoomId, [], _room.Store is not null && _room.KeepHistory)));
        Receive<ClientCommands.QueryRooms>(_ => OnQueryRooms());
        Receive<ClientCommands.Trust>(OnTrust);
        Receive<ClientCommands.Shutdown>(_ => ShutDown());
        Receive<RoomProtocol.RoomClosed>(closed => OnRoomClosed(closed.RoomId));
        Receive<StoreWritten>(_ => { });
        Receive<StoreWriteFailed>(failed => _room.Owner.Tell(failed));
        Receive<Terminated>(t => RemoveRoom(t.ActorRef));

        // Outbound frames that arrive while the link is down were produced just before the loss;
        // the room re-sends what matters after it rejoins.
        Receive<RoomProtocol.Outbound>(_ => { });
    }

    /// <summary>Each room handles what is already in its mailbox, writes its state and stops (a PoisonPill queues behind it); then we stop.</summary>
    private void ShutDown()
    {
        foreach (var room in _rooms.Values)
        {
            room.Tell(PoisonPill.Instance);
        }

        Become(ShuttingDown);
        if (_rooms.Count == 0)
        {
            Context.Stop(Self);
        }
    }

    private void ShuttingDown()
    {
        Receive<Terminated>(t =>
        {
            RemoveRoom(t.ActorRef);
            if (_rooms.Count == 0)
            {
                Context.Stop(Self);
            }
        });
        ReceiveAny(_ => { }); // going down: frames, link news and commands have no one left to serve
    }

    private void ReceiveStaleLinkNews()
    {
        Receive<LinkEvents.LinkUp>(_ => { });
        Receive<LinkEvents.FrameReceived>(_ => { });
        Receive<LinkEvents.LinkDown>(_ => { });
        Receive<WelcomeTimedOut>(_ => { });
        Receive<ReconnectNow>(_ => { });
        Receive<DrainPaced>(_ => { });
        Receive<ClientCommands.Reconnect>(_ => { }); // connecting or connected already
    }

    private void OpenLink()
    {
        _link?.Dispose();
        _linkId++;
        _link = _servers[_server].Connect(Self, _linkId);
    }

    private void SendHello()
    {
        Timers.StartSingleTimer(nameof(WelcomeTimedOut), new WelcomeTimedOut(_linkId), _settings.WelcomeTimeout);
        SendToServer(new Envelope
        {
            Version = WireLimits.ProtocolVersion,
            Type = MessageType.Hello,
            SenderId = _room.ClientId,
            Hello = new Hello { ClientSoftware = _settings.ClientSoftware },
        });
    }

    private void OnGreeting(Envelope envelope)
    {
        switch (envelope.Type)
        {
            case MessageType.Welcome when envelope.Welcome.ClientId == _room.ClientId:
                Timers.Cancel(nameof(WelcomeTimedOut));
                _failedAttempts = 0;
                _greeted = true;
                _certificateAccepted = true;
                Become(Connected);
                if (_everConnected)
                {
                    _reconnects++;
                    _room.Owner.Tell(new Reconnected(_reconnects) { Server = _servers.Count > 1 ? _servers[_server].Address : null });
                }
                else
                {
                    _everConnected = true;
                    _room.Owner.Tell(new Connected(_room.ClientId, _room.Identity.Fingerprint));
                }

                _serverKeepsMessages = envelope.Welcome.MessageLog;
                _serverLimits = ServerLimits.Of(envelope.Welcome);
                foreach (var room in _rooms.Values)
                {
                    room.Tell(new RoomProtocol.LinkReady(_serverKeepsMessages, _serverLimits));
                }

                break;
            case MessageType.Welcome:
                // The server read another id from our certificate than the one we said HELLO as: every attempt would.
                Stop(StopCause.CertificateIdMismatch, null, $"greeted as {envelope.Welcome.ClientId}");
                break;
            case MessageType.Error:
                OnConnectionError(envelope);
                break;
            default:
                ReportAndDrop(new FrameBeforeWelcome(envelope.Type));
                break;
        }
    }

    private void OnFrame(Envelope envelope)
    {
        switch (envelope.Type)
        {
            case MessageType.Ping:
                SendToServer(new Envelope { Version = WireLimits.ProtocolVersion, Type = MessageType.Pong, SenderId = _room.ClientId, Sequence = envelope.Sequence });
                return;
            case MessageType.Pong:
                return;
            case MessageType.Error when envelope.RoomId.Length == 0:
                OnConnectionError(envelope);
                return;
            case MessageType.Error when !_rooms.ContainsKey(envelope.RoomId):
                _room.Owner.Tell(ToServerError(envelope));
                return;
            case MessageType.Hello or MessageType.Welcome or MessageType.Join or MessageType.Leave:
                _log.Warning("ignoring unexpected {0} frame from the server", envelope.Type);
                return;
        }

        if (_rooms.TryGetValue(envelope.RoomId, out var room))
        {
            room.Tell(new RoomProtocol.Inbound(envelope));
        }
        else
        {
            // A frame for a room we left (in flight) or never joined: nothing to do with it.
            _log.Debug("dropping {0} for room {1} we are not in", envelope.Type, envelope.RoomId);
        }
    }

    /// <summary>An ERROR about the connection: one that retrying cannot heal stops the session; the rest are shown, and the link's end is retried.</summary>
    private void OnConnectionError(Envelope envelope)
    {
        if (ReconnectRule.ForServerError(envelope.Error.Code) is { } cause)
        {
            Stop(cause, null, envelope.Error.Reason);
            return;
        }

        _room.Owner.Tell(ToServerError(envelope));
    }

    private void OnJoin(ClientCommands.Join join)
    {
        if (!EnvelopeCodec.IsValidId(join.RoomId))
        {
            _room.Owner.Tell(new InvalidRoomName(join.RoomId));
            return;
        }

        if (_rooms.ContainsKey(join.RoomId))
        {
            _room.Owner.Tell(new AlreadyInRoom(join.RoomId));
            return;
        }

        if (_rooms.Count >= _settings.MaxRooms)
        {
            _room.Owner.Tell(new TooManyRooms(join.RoomId, _settings.MaxRooms));
            return;
        }

        var child = StartRoom(join.RoomId, restored: null);
        if (_greeted)
        {
            child.Tell(new RoomProtocol.LinkReady(_serverKeepsMessages, _serverLimits));
        }
    }

    private IActorRef StartRoom(string roomId, Store.RoomRecord? restored)
    {
        var child = Context.ActorOf(RoomSessionActor.Props(roomId, _room, restored), RoomActorName(roomId));
        Context.Watch(child);
        _rooms[roomId] = child;
        return child;
    }

    /// <summary>A room we left: forgotten by the store too (its LEAVE is out).</summary>
    private void OnRoomClosed(string roomId)
    {
        _rooms.Remove(roomId);
        if (_room.Store is { } store)
        {
            store.RemoveRoom(roomId);
            store.CommitAsync().PipeTo(Self, success: () => StoreWritten.Instance, failure: ex => new StoreWriteFailed(ex.GetBaseException().Message));
        }
    }

    private void OnTrust(ClientCommands.Trust trust)
    {
        var outcome = KeyTrust.Apply(_room.TrustStore, trust.ClientId, trust.Fingerprint);
        _room.Owner.Tell(outcome);
        if (outcome is TrustUpdated)
        {
            foreach (var room in _rooms.Values)
            {
                room.Tell(RoomProtocol.TrustChanged.Instance);
            }
        }
    }

    private void OnQueryRooms()
    {
        var replyTo = Sender;
        if (_rooms.Count == 0)
        {
            replyTo.Tell(new ClientCommands.RoomsReply([]));
            return;
        }

        var asks = _rooms.Values.Select(r => r.Ask<ClientCommands.RoomInfo>(ClientCommands.QueryRooms.Instance, TimeSpan.FromSeconds(5)));
        Task.WhenAll(asks).PipeTo(replyTo,
            success: infos => new ClientCommands.RoomsReply([.. infos.OrderBy(i => i.RoomId, StringComparer.Ordinal)]),
            failure: _ => new ClientCommands.RoomsReply([]));
    }

    /// <summary>Hands a command to its room; without the room, queries still get an (empty) answer so no caller waits.</summary>
    private void ForwardToRoom(string roomId, object command, object? emptyReply = null)
    {
        if (_rooms.TryGetValue(roomId, out var room))
        {
            room.Forward(command);
        }
        else if (emptyReply is not null)
        {
            Sender.Tell(emptyReply);
        }
        else
        {
            _room.Owner.Tell(new NotInRoom(roomId));
        }
    }

    private void SendToServer(Envelope envelope)
    {
        if (_paced.Count > 0 || !_pacer.TryTake())
        {
            Pace(envelope);
            return;
        }

        Write(envelope);
    }

    private void Write(Envelope envelope)
    {
        if (_link is null || _link.TrySend(envelope))
        {
            return;
        }

        if (!_link.IsClosed)
        {
            OnLinkDown(DisconnectCause.OutboundQueueFull, null);
        }

        // A closed link refuses the frame too: its LinkDown, with the real reason, is on its way.
    }

    private void Pace(Envelope envelope)
    {
        if (_paced.Count >= _settings.MaxPacedFrames)
        {
            _room.Owner.Tell(new FrameDropped(NullIfEmpty(envelope.RoomId), envelope.Type));
            return;
        }

        _paced.Enqueue(envelope);
        if (!Timers.IsTimerActive(nameof(DrainPaced)))
        {
            Timers.StartSingleTimer(nameof(DrainPaced), DrainPaced.Instance, _pacer.TimeUntilNextToken());
        }
    }

    private void OnDrainPaced()
    {
        while (_paced.Count > 0 && _link is not null && _pacer.TryTake())
        {
            Write(_paced.Dequeue());
        }

        if (_paced.Count > 0 && _link is not null)
        {
            Timers.StartSingleTimer(nameof(DrainPaced), DrainPaced.Instance, _pacer.TimeUntilNextToken());
        }
    }

    private void ReportAndDrop(ErrorReported violation)
    {
        _room.Owner.Tell(violation);
        OnLinkDown(DisconnectCause.ProtocolViolation, null);
    }

    private void OnLinkDown(DisconnectCause cause, string? detail, LinkFailure failure = LinkFailure.ConnectionLost)
    {
        var stop = ReconnectRule.ForLink(failure, _certificateAccepted);
        if (failure == LinkFailure.ClosedBeforeAnyFrame)
        {
            _certificateAccepted = false;
        }

        if (stop is { } fatal)
        {
            Stop(fatal, detail, null);
            return;
        }

        DropLink();
        foreach (var room in _rooms.Values)
        {
            room.Tell(RoomProtocol.LinkLost.Instance);
        }

        // The next server; the backoff grows per round of the list, so every server is tried before it does.
        var delay = Backoff(_failedAttempts++ / _servers.Count);
        _server = (_server + 1) % _servers.Count;
        _room.Owner.Tell(new Disconnected(cause, detail, delay) { NextServer = _servers.Count > 1 ? _servers[_server].Address : null });
        Timers.StartSingleTimer(nameof(ReconnectNow), ReconnectNow.Instance, delay);
        Become(Reconnecting);
    }

    /// <summary>No more attempts until <see cref="ClientCommands.Reconnect"/>; the rooms report what is left unconfirmed.</summary>
    private void Stop(StopCause cause, string? detail, string? untrustedServerReason)
    {
        DropLink();
        Timers.Cancel(nameof(ReconnectNow));
        var reason = cause == StopCause.SignedInElsewhere ? NotDeliveredReason.SignedInElsewhere : NotDeliveredReason.ConnectionStopped;
        foreach (var room in _rooms.Values)
        {
            room.Tell(new RoomProtocol.LinkStopped(reason));
        }

        _room.Owner.Tell(new ConnectionStopped(cause, _servers[_server].Address, detail) { UntrustedServerReason = untrustedServerReason });
        Become(Stopped);
    }

    private void DropLink()
    {
        _link?.Dispose();
        _link = null;
        _greeted = false;
        if (_paced.Count > 0)
        {
            _room.Owner.Tell(new PacedFramesLost(_paced.Count));
            _paced.Clear();
        }

        Timers.Cancel(nameof(WelcomeTimedOut));
    }

    private TimeSpan Backoff(int failedRounds) =>
        ReconnectBackoff.Delay(failedRounds, _settings.InitialBackoff, _settings.MaxBackoff, _settings.BackoffJitter, _settings.BackoffSample());

    private void RemoveRoom(IActorRef child)
    {
        foreach (var (id, actor) in _rooms.Where(r => r.Value.Equals(child)).ToList())
        {
            _rooms.Remove(id);
        }
    }

    private static string RoomActorName(string roomId) => "room-" + Uri.EscapeDataString(roomId);

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    private static ServerError ToServerError(Envelope envelope) =>
        new(NullIfEmpty(envelope.RoomId), envelope.Error.Code, envelope.Error.Reason, envelope.Error.Fatal);

    private sealed record WelcomeTimedOut(long LinkId);

    private sealed record StoreWritten
    {
        public static StoreWritten Instance { get; } = new();
    }

    private sealed record DrainPaced
    {
        public static DrainPaced Instance { get; } = new();
    }

    private sealed record ReconnectNow
    {
        public static ReconnectNow Instance { get; } = new();
    }
}
