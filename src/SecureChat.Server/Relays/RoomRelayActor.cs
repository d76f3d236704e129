using Akka.Actor;
using Akka.Event;
using SecureChat.Core.Wire;
using SecureChat.Server.Messaging;

namespace SecureChat.Server.Relays;

/// <summary>
/// The relay of one room on one node (DrawTogether's local session actor): the node's connections send it their
/// traffic for the room and get the room's frames from it, so a publish crosses to this node once however many
/// members sit here. It subscribes to the room through the shard region (which finds or starts the room), then talks
/// to that room incarnation directly and watches it; when the incarnation ends it subscribes again for the joins
/// still waiting. What its members are told when the room ends or a message from it goes missing is kept in
/// <see cref="RelayBook{TConnection,TJoin}"/>; the room's rules stay in the room.
/// </summary>
public sealed class RoomRelayActor : ReceiveActor, IWithTimers
{
    /// <summary>How often a relay asks again while no incarnation has answered its subscription (the region may be re-homing the room).</summary>
    public static readonly TimeSpan SubscribeRetryInterval = TimeSpan.FromSeconds(1);

    private readonly string _roomId;
    private readonly IActorRef _region;
    private readonly TimeSpan _idleTimeout;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly RelayBook<IActorRef, JoinRoom> _book = new();
    private IReadOnlyList<RelayMember> _recipients = [];
    private IActorRef? _room;
    private long _fromParent;

    public RoomRelayActor(string roomId, IActorRef region, TimeSpan idleTimeout)
    {
        _roomId = roomId;
        _region = region;
        _idleTimeout = idleTimeout;

        Receive<JoinRoom>(OnJoin);
        Receive<LeaveRoom>(OnLeave);
        Receive<SubmitCommit>(submit => ToRoom(submit.Connection, submit));
        Receive<PublishToRoom>(publish => ToRoom(publish.Connection, publish));
        Receive<InviteToRoom>(invite => ToRoom(invite.Connection, invite));
        Receive<AcknowledgePosition>(ack => ToRoom(ack.Connection, ack));
        Receive<DeclineCommit>(decline => ToRoom(decline.Connection, decline));
        Receive<RelaySubscribed>(OnSubscribed);
        Receive<RelayRecipients>(recipients =>
        {
            if (FromRoom(recipients.Sequence))
            {
                _recipients = recipients.Members;
                foreach (var member in recipients.Members)
                {
                    _book.Heard(member.Connection);
                }
            }
        });
        Receive<RelayBroadcast>(OnBroadcast);
        Receive<RelayFrame>(frame =>
        {
            if (FromRoom(frame.Sequence))
            {
                var message = new RoomFrame(_roomId, frame.Frame);
                foreach (var connection in frame.Connections)
                {
                    connection.Tell(message, Self);
                    _book.Heard(connection);
                }
            }
        });
        Receive<RelayRefusal>(refusal =>
        {
            if (FromRoom(refusal.Sequence))
            {
                refusal.Connection.Tell(new RoomError(_roomId, refusal.Code, refusal.Reason, refusal.NotInRoom, refusal.Epoch, refusal.MessageSequence), Self);
                if (_book.Refused(refusal.Connection, refusal.NotInRoom))
                {
                    Stopped(refusal.Connection);
                }
            }
        });
        Receive<RoomIncarnationEnded>(ended =>
        {
            if (ended.Room.Equals(_room))
            {
                OnRoomEnded("it stopped", subscribeAgain: true);
            }
        });
        Receive<Terminated>(terminated =>
        {
            if (_book.Left(terminated.ActorRef))
            {
                IdleIfEmpty();
            }
        });
        Receive<SubscribeAgain>(_ => AskForTheRoom());
        Receive<IdleTimeout>(_ =>
        {
            if (_book.IsEmpty)
            {
                Context.Parent.Tell(new RelayIdle(_roomId, _fromParent));
            }
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string roomId, IActorRef region, TimeSpan idleTimeout) =>
        Akka.Actor.Props.Create(() => new RoomRelayActor(roomId, region, idleTimeout));

    private static bool ShuttingDown => CoordinatedShutdown.Get(Context.System).ShutdownReason is not null;

    private void OnJoin(JoinRoom join)
    {
        _fromParent++;
        Timers.Cancel(IdleTimeout.Instance);
        _book.Joined(join.Connection, join.ClientId, join);
        Context.Watch(join.Connection);
        if (_room is not null)
        {
            _room.Tell(join, Self);
        }
        else
        {
            Subscribe();
        }
    }

    private void OnLeave(LeaveRoom leave)
    {
        _fromParent++;
        if (!_book.Left(leave.Connection))
        {
            return;
        }

        Stopped(leave.Connection);
        if (_room is not null)
        {
            _room.Tell(leave, Self);
        }
    }

    /// <summary>A commit or a publish: to the room incarnation the connection is in, or refused when it is in none through this relay.</summary>
    private void ToRoom(IActorRef connection, IWithRoomId message)
    {
        _fromParent++;
        if (_room is not null && _book.Carries(connection))
        {
            _room.Tell(message, Self);
            return;
        }

        // A refused publish names its message (epoch and sequence), so that its sender reports that one as not delivered.
        var (epoch, sequence) = message is PublishToRoom publish ? (publish.Epoch, publish.Sequence) : (0ul, 0ul);
        connection.Tell(new RoomError(_roomId, ErrorCode.NotAMember, RelayBook<IActorRef, JoinRoom>.NotCarriedReason, NotInRoom: false, epoch, sequence), Self);
    }

    /// <summary>Asks for the room through the region, and again every <see cref="SubscribeRetryInterval"/> until an incarnation answers.</summary>
    private void Subscribe()
    {
        if (!Timers.IsTimerActive(SubscribeAgain.Instance))
        {
            Timers.StartPeriodicTimer(SubscribeAgain.Instance, SubscribeAgain.Instance, SubscribeRetryInterval);
            AskForTheRoom();
        }
    }

    private void AskForTheRoom()
    {
        if (_room is not null || _book.IsEmpty)
        {
            Timers.Cancel(SubscribeAgain.Instance);
            return;
        }

        _region.Tell(new SubscribeRelay(_roomId, Self), Self);
    }

    private void OnSubscribed(RelaySubscribed subscribed)
    {
        if (Sender.Equals(_room))
        {
            return; // an answer to a retry
        }

        if (_room is not null)
        {
            // A new incarnation answered before the end of the old one reached this node.
            OnRoomEnded("another incarnation answered", subscribeAgain: false);
        }

        _room = Sender;
        Context.WatchWith(_room, new RoomIncarnationEnded(_room));
        Timers.Cancel(SubscribeAgain.Instance);
        foreach (var join in _book.Subscribe(subscribed.LastSequence))
        {
            _room.Tell(join, Self);
        }

        IdleIfEmpty();
    }

    private void OnBroadcast(RelayBroadcast broadcast)
    {
        if (!FromRoom(broadcast.Sequence))
        {
            return;
        }

        var frame = new RoomFrame(_roomId, broadcast.Frame);
        var recipients = _recipients;
        for (var i = 0; i < recipients.Count; i++)
        {
            if (!string.Equals(recipients[i].ClientId, broadcast.SenderId, StringComparison.Ordinal))
            {
                recipients[i].Connection.Tell(frame, Self);
            }
        }
    }

    /// <summary>Whether a numbered message comes from the subscribed incarnation in turn; one out of turn makes every member leave and join again.</summary>
    private bool FromRoom(long sequence)
    {
        if (_room is null || !Sender.Equals(_room))
        {
            _log.Debug("Relay of room {0}: message from {1}, not the incarnation it is subscribed to; dropped", _roomId, Sender);
            return false;
        }

        if (_book.Check(sequence, out var dropped))
        {
            return true;
        }

        _log.Warning("Relay of room {0}: a message from the room went missing (got {1}); its {2} members here are told to join again",
            _roomId, sequence, dropped.Count);
        foreach (var (connection, clientId) in dropped)
        {
            _room.Tell(new LeaveRoom(_roomId, clientId, connection), Self);
            connection.Tell(new RoomError(_roomId, ErrorCode.NotAMember, RelayBook<IActorRef, JoinRoom>.GapReason, NotInRoom: true), Self);
            Stopped(connection);
        }

        _recipients = [];
        IdleIfEmpty();
        return false;
    }

    private void OnRoomEnded(string why, bool subscribeAgain)
    {
        var gone = _book.RoomEnded();
        Context.Unwatch(_room);
        _room = null;
        _recipients = [];

        // At this node's own shutdown the connections are closed next, with SERVER_SHUTDOWN: no word about the room.
        var tell = !ShuttingDown;
        _log.Info("Relay of room {0}: the room incarnation ended ({1}); {2} members here {3}, {4} joins wait for the next one",
            _roomId, why, gone.Count, tell ? "told to join again" : "closing with the server", _book.Count);
        foreach (var (connection, _) in gone)
        {
            if (tell)
            {
                connection.Tell(new RoomError(_roomId, ErrorCode.NotAMember, RelayBook<IActorRef, JoinRoom>.RoomEndedReason, NotInRoom: true), Self);
            }

            Stopped(connection);
        }

        if (subscribeAgain && !_book.IsEmpty)
        {
            Subscribe();
        }

        IdleIfEmpty();
    }

    /// <summary>The relay no longer carries anything for this connection.</summary>
    private void Stopped(IActorRef connection)
    {
        Context.Unwatch(connection);
        IdleIfEmpty();
    }

    private void IdleIfEmpty()
    {
        if (_book.IsEmpty && !Timers.IsTimerActive(IdleTimeout.Instance))
        {
            Timers.StartSingleTimer(IdleTimeout.Instance, IdleTimeout.Instance, _idleTimeout);
        }
    }

    /// <summary>The subscribed incarnation ended (watched with this message, so it is not taken for a connection's end).</summary>
    private sealed record RoomIncarnationEnded(IActorRef Room) : INoSerializationVerificationNeeded;

    private sealed record SubscribeAgain : INoSerializationVerificationNeeded
    {
        public static readonly SubscribeAgain Instance = new();
    }

    private sealed record IdleTimeout : INoSerializationVerificationNeeded
    {
        public static readonly IdleTimeout Instance = new();
    }
}

/// <summary>
/// A relay with no members asks its parent to stop it: the parent does so only when it has forwarded the relay nothing
/// since (<paramref name="Received"/> messages), so no connection's message is left in a stopping relay's mailbox.
/// </summary>
public sealed record RelayIdle(string RoomId, long Received) : INoSerializationVerificationNeeded;
