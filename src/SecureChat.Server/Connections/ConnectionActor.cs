using Akka.Actor;
using Akka.Event;
using Google.Protobuf;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Relay;
using SecureChat.Server.Diagnostics;
using SecureChat.Server.Messaging;
using Envelope = SecureChat.Core.Wire.Envelope;

namespace SecureChat.Server.Connections;

/// <summary>
/// One authenticated client connection. The client id comes from its certificate; every frame must
/// carry it. Parses frames from the read loop, answers HELLO and PING, routes room traffic to the room
/// shard region, and writes what rooms send through the bounded outbound queue. Protocol violations get a
/// typed ERROR and one log line; fatal ones, too many, a silent client or a full queue end the connection.
/// Its HELLO is told to the cluster-wide sign-in table of its id (<see cref="SignInActor"/>), which tells it
/// <see cref="SignedInElsewhere"/> when a newer connection of the id signs in on any node.
/// </summary>
public sealed class ConnectionActor : ReceiveActor, IWithTimers
{
    private readonly IConnectionIo _io;
    private readonly string _clientId;
    private readonly string _remote;
    private readonly IActorRef _rooms;
    private readonly IActorRef _signIns;
    private readonly ConnectionSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly HashSet<string> _joinedRooms = new(StringComparer.Ordinal);

    private int _violations;
    private bool _heardSinceLastTick = true;
    private bool _pingOutstanding;
    private ulong _pingSequence;
    private bool _closed;
    private string? _closeReason;
    private IActorRef? _signInTable;
    private bool _signInUnconfirmedLogged;

    public ConnectionActor(IConnectionIo io, string clientId, string remote, IActorRef rooms, IActorRef signIns, ConnectionSettings settings)
    {
        _io = io;
        _clientId = clientId;
        _remote = remote;
        _rooms = rooms;
        _signIns = signIns;
        _settings = settings;
        AwaitingHello();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="signIns">The sign-in tables (their shard region): told this connection's HELLO.</param>
    public static Props Props(IConnectionIo io, string clientId, string remote, IActorRef rooms, IActorRef signIns, ConnectionSettings settings) =>
        Akka.Actor.Props.Create(() => new ConnectionActor(io, clientId, remote, rooms, signIns, settings));

    protected override void PreStart()
    {
        Timers.StartSingleTimer(HelloDeadline.Instance, HelloDeadline.Instance, _settings.HelloTimeout);
        _io.Start(Self);
    }

    protected override void PostStop()
    {
        Close(flush: true);
        _log.Info("Connection of {0} at {1} closed: {2}", _clientId, _remote, _closeReason ?? "stopped");
    }

    /// <summary>Until a valid HELLO: anything else, or silence past the deadline, ends the connection.</summary>
    private void AwaitingHello()
    {
        Receive<FrameReceived>(OnFrameBeforeHello);
        Receive<HelloDeadline>(_ => Violation(ErrorCode.HandshakeTimeout, "no HELLO within the deadline", fatal: true));
        ReceiveCommon();
    }

    private void Ready()
    {
        Receive<FrameReceived>(OnFrame);
        Receive<RoomFrame>(frame =>
        {
            ServerMetrics.Delivered(frame.Envelope.Length);
            Send(frame.Envelope);
        });
        Receive<RoomError>(OnRoomError);
        Receive<KeepAliveTick>(_ => OnKeepAliveTick());
        Receive<SignedInElsewhere>(_ =>
        {
            // The rooms see this connection end as any disconnect; the newer connection's JOIN resumes the membership.
            Send(ServerFrames.Error(ErrorCode.SignedInElsewhere,
                $"a newer connection with the client id {_clientId} signed in; this one is closed (PROTOCOL.md §4.1.1)", fatal: true));
            Stop("signed in elsewhere: a newer connection with the same client id");
        });
        Receive<SignInRecorded>(_ => OnSignInRecorded());
        Receive<SignInUnconfirmed>(_ => OnSignInUnconfirmed());
        Receive<Terminated>(terminated =>
        {
            if (!terminated.ActorRef.Equals(_signInTable))
            {
                return; // a table it stopped watching
            }

            // The table moved (handed off, passivated) or was lost with its node: the next one has not heard of this connection.
            _log.Debug("The sign-in table of {0} ended; {1} signs in again, resuming", _clientId, _remote);
            _signInTable = null;
            SignInAtTable(resume: true);
        });
        ReceiveCommon();
    }

    private void ReceiveCommon()
    {
        Receive<FrameRefused>(refused => Violation(refused.Code, refused.Reason, refused.Fatal));
        Receive<IoClosed>(closed => Stop(closed.Reason));
        Receive<ServerShutdown>(_ =>
        {
            Send(ServerFrames.Error(ErrorCode.ServerShutdown, "server is shutting down", fatal: true));
            Stop("server shutdown");
        });
    }

    private void OnFrameBeforeHello(FrameReceived received)
    {
        if (!TryParse(received.Body, fatal: true, out var envelope) || !CheckSender(envelope))
        {
            return;
        }

        if (envelope.Type != MessageType.Hello)
        {
            Violation(ErrorCode.UnexpectedMessage, $"first frame must be HELLO, not {envelope.Type}", fatal: true);
            return;
        }

        if (envelope.Hello is { } hello && hello.ClientSoftware.Length > 64)
        {
            Violation(ErrorCode.InvalidArgument, "client software name longer than 64 characters", fatal: true);
            return;
        }

        Timers.Cancel(HelloDeadline.Instance);
        Send(ServerFrames.Welcome(_clientId, (uint)_settings.MaxFrameBytes, (uint)_settings.MaxRoomsPerConnection, (uint)_settings.MaxMembersPerRoom,
            _settings.MessageLog));
        _log.Debug("Client {0} at {1} said HELLO", _clientId, _remote);
        if (_settings.KeepAliveInterval > TimeSpan.Zero)
        {
            Timers.StartPeriodicTimer(KeepAliveTick.Instance, KeepAliveTick.Instance, _settings.KeepAliveInterval);
        }

        SignInAtTable(resume: false); // the id's connection from now on: an earlier one of it, on any node, is closed
        Become(Ready);
    }

    private void OnFrame(FrameReceived received)
    {
        _heardSinceLastTick = true;
        _pingOutstanding = false;
        if (!TryParse(received.Body, fatal: false, out var envelope) || !CheckSender(envelope))
        {
            return;
        }

        switch (envelope.Type)
        {
            case MessageType.Join:
                OnJoin(envelope);
                break;
            case MessageType.Leave:
                // Leaving a room the connection is not in (any more) has nothing left to do, and is no error: after the
                // room told it NOT_A_MEMBER a client rejoins with LEAVE then JOIN (PROTOCOL.md §4.5, §15).
                if (_joinedRooms.Remove(envelope.RoomId))
                {
                    _rooms.Tell(new LeaveRoom(envelope.RoomId, _clientId, Self) { Leave = envelope.Leave });
                }

                break;
            case MessageType.Invite:
                if (RequireMember(envelope.RoomId))
                {
                    _rooms.Tell(new InviteToRoom(envelope.RoomId, _clientId, envelope.Invite ?? new SignedInvite(), Self));
                }

                break;
            case MessageType.Commit:
                if (RequireMember(envelope.RoomId))
                {
                    _rooms.Tell(new SubmitCommit(envelope.RoomId, _clientId, envelope.Commit.Content, envelope.Commit.Signature,
                        envelope.Commit.ConfirmationTag, Self));
                }

                break;
            case MessageType.Application when envelope.RoomSeq != 0:
                // The number is the room's to give; a sender's own would reach the members as if the room had given it.
                Violation(ErrorCode.InvalidArgument, "room_seq is set by the server, not by the sender", fatal: false, envelope.RoomId, epoch: envelope.Epoch,
                    sequence: envelope.Sequence);
                break;
            case MessageType.Application:
                if (RequireMember(envelope.RoomId, envelope.Epoch, envelope.Sequence))
                {
                    _rooms.Tell(new PublishToRoom(envelope.RoomId, _clientId, envelope.Epoch, envelope.Sequence, received.Body, Self));
                }

                break;
            case MessageType.Ack:
                // An ACK for a room the connection left is late, not wrong: nothing to do.
                if (_joinedRooms.Contains(envelope.RoomId))
                {
                    _rooms.Tell(new AcknowledgePosition(envelope.RoomId, _clientId, envelope.RoomSeq, Self));
                }

                break;
            case MessageType.Ping:
                Send(ServerFrames.Pong(envelope.Sequence));
                break;
            case MessageType.Pong:
                break;
            case MessageType.Error when envelope.Error.Code == ErrorCode.CannotCommit:
                // The asked member cannot make the requested commit: the room moves on to the next candidate at once. Late or for
                // a room the connection left, it has nothing to say.
                _log.Info("Client {0} at {1} cannot make the commit for epoch {2} of room {3}", _clientId, _remote, envelope.Epoch, envelope.RoomId);
                if (_joinedRooms.Contains(envelope.RoomId))
                {
                    _rooms.Tell(new DeclineCommit(envelope.RoomId, _clientId, envelope.Epoch, Self));
                }

                break;
            case MessageType.Error:
                // Only the code: the reason is the peer's free text.
                _log.Info("Client {0} at {1} reported error {2}", _clientId, _remote, envelope.Error.Code);
                break;
            default:
                Violation(ErrorCode.UnexpectedMessage, $"{envelope.Type} is not a client frame here", fatal: false);
                break;
        }
    }

    private void OnJoin(Envelope envelope)
    {
        if (_joinedRooms.Contains(envelope.RoomId))
        {
            Violation(ErrorCode.UnexpectedMessage, "already joined this room", fatal: false, envelope.RoomId);
            return;
        }

        if (_joinedRooms.Count >= _settings.MaxRoomsPerConnection)
        {
            Violation(ErrorCode.TooManyRooms, $"at most {_settings.MaxRoomsPerConnection} rooms per connection", fatal: false, envelope.RoomId);
            return;
        }

        if (envelope.Join.Bundle is not { } bundle)
        {
            Violation(ErrorCode.BadBundle, "JOIN without a bundle", fatal: false, envelope.RoomId);
            return;
        }

        _joinedRooms.Add(envelope.RoomId);
        _rooms.Tell(new JoinRoom(envelope.RoomId, _clientId, bundle.Content, bundle.Signature, envelope.Join.PreferredSuite, Self)
        {
            SupportedSuites = [.. envelope.Join.SupportedSuites],
            KnownEpoch = envelope.Join.KnownEpoch,
            Invite = envelope.Join.Invite,
            LastSeq = envelope.Join.LastSeq,
        });
    }

    /// <summary>
    /// Tells the sign-in table of this id that this connection holds it, and waits for it to say so; the connection goes on
    /// meanwhile, whether the table answers or not.
    /// </summary>
    private void SignInAtTable(bool resume)
    {
        _signIns.Tell(new SignIn(_clientId, Self, resume));
        Timers.StartSingleTimer(SignInUnconfirmed.Instance, SignInUnconfirmed.Instance, _settings.SignInConfirmTimeout);
    }

    private void OnSignInRecorded()
    {
        Timers.Cancel(SignInUnconfirmed.Instance);
        if (_signInUnconfirmedLogged)
        {
            _signInUnconfirmedLogged = false;
            _log.Info("The sign-in table recorded {0} at {1} after all", _clientId, _remote);
        }

        if (!Sender.Equals(_signInTable))
        {
            if (_signInTable is not null)
            {
                Context.Unwatch(_signInTable);
            }

            _signInTable = Sender;
            Context.Watch(_signInTable);
        }
    }

    private void OnSignInUnconfirmed()
    {
        // Sign-in proceeds without it: an earlier connection of this id on another node may stay open until the table answers.
        if (!_signInUnconfirmedLogged)
        {
            _signInUnconfirmedLogged = true;
            _log.Warning("The cluster-wide sign-in table did not record {0} at {1} within {2} s; the connection goes on and asks again",
                _clientId, _remote, _settings.SignInConfirmTimeout.TotalSeconds);
        }

        SignInAtTable(resume: true); // resuming: should the first one arrive late, this takes nothing over from a newer connection
    }

    private void OnRoomError(RoomError error)
    {
        if (error.NotInRoom)
        {
            _joinedRooms.Remove(error.RoomId);
        }

        // Losing a commit race is routine; the rest are the client's mistakes, logged once here where the address is known.
        _log.Info("Room {0} refused {1} at {2}: {3} {4}", error.RoomId, _clientId, _remote, error.Code, error.Reason);
        ServerMetrics.FrameRejected(error.Code);
        Send(ServerFrames.Error(error.Code, error.Reason, fatal: false, error.RoomId, error.Epoch, error.Sequence));
    }

    private void OnKeepAliveTick()
    {
        if (_heardSinceLastTick)
        {
            _heardSinceLastTick = false;
            return;
        }

        if (_pingOutstanding)
        {
            // Said before closing, so that a client whose frames are being lost on the way can tell why it was cut off.
            var silence = _settings.KeepAliveInterval * 2;
            Send(ServerFrames.Error(ErrorCode.IdleTimeout, $"nothing received for {silence.TotalSeconds:0.###} s (two keep-alive intervals), not even a PONG",
                fatal: true));
            Stop("idle: no frame for two keep-alive intervals");
            return;
        }

        _pingOutstanding = true;
        Send(ServerFrames.Ping(++_pingSequence));
    }

    private bool TryParse(ByteString body, bool fatal, out Envelope envelope)
    {
        try
        {
            envelope = EnvelopeCodec.Decode(body.Span);
            return true;
        }
        catch (WireFormatException ex) when (ex.PeerVersion is { } peerVersion)
        {
            // Told in the peer's own version, so that it can read why (PROTOCOL.md §2).
            envelope = null!;
            Violation(ErrorCode.UnsupportedVersion, EnvelopeCodec.VersionRefusal(peerVersion, "server"), fatal,
                frame: fatalNow => ServerFrames.VersionRefused(peerVersion, fatalNow));
            return false;
        }
        catch (WireFormatException ex)
        {
            envelope = null!;
            Violation(ex.ToErrorCode(), ex.Message, fatal);
            return false;
        }
    }

    private bool CheckSender(Envelope envelope)
    {
        if (string.Equals(envelope.SenderId, _clientId, StringComparison.Ordinal))
        {
            return true;
        }

        Violation(ErrorCode.SenderMismatch, "sender id differs from the certificate's client id", fatal: true);
        return false;
    }

    /// <summary>A refusal of an APPLICATION names the message's <paramref name="epoch"/> and <paramref name="sequence"/> (PROTOCOL.md §3).</summary>
    private bool RequireMember(string roomId, ulong epoch = 0, ulong sequence = 0)
    {
        if (_joinedRooms.Contains(roomId))
        {
            return true;
        }

        Violation(ErrorCode.NotAMember, "not joined to this room", fatal: false, roomId, epoch: epoch, sequence: sequence);
        return false;
    }

    /// <summary>Answers a protocol violation with an ERROR, logs it once, and closes when it is fatal or one too many.</summary>
    private void Violation(ErrorCode code, string reason, bool fatal, string roomId = "", Func<bool, ByteString>? frame = null, ulong epoch = 0,
        ulong sequence = 0)
    {
        fatal |= ++_violations > _settings.MaxProtocolErrors;
        ServerMetrics.FrameRejected(code);
        _log.Warning("Protocol violation by {0} at {1}: {2} {3}{4}", _clientId, _remote, code, reason, fatal ? " (closing)" : string.Empty);
        Send(frame?.Invoke(fatal) ?? ServerFrames.Error(code, reason, fatal, roomId, epoch, sequence));
        if (fatal)
        {
            Stop($"{code}: {reason}");
        }
    }

    private void Send(ByteString envelope)
    {
        if (_closed || _io.TrySend(envelope))
        {
            return;
        }

        // Never wait for a reader that does not read: everyone else's traffic would wait too.
        _log.Warning("Slow consumer {0} at {1}: outbound queue full; disconnecting", _clientId, _remote);
        ServerMetrics.SlowConsumerDisconnected();
        Close(flush: false);
        Stop("slow consumer: outbound queue full");
    }

    /// <summary>Stops the connection; the first reason given is the one its closing log line names.</summary>
    private void Stop(string reason)
    {
        _closeReason ??= reason;
        Context.Stop(Self);
    }

    private void Close(bool flush)
    {
        if (!_closed)
        {
            _closed = true;
            _io.Close(flush);
        }
    }

    private sealed record HelloDeadline
    {
        public static readonly HelloDeadline Instance = new();
    }

    private sealed record KeepAliveTick
    {
        public static readonly KeepAliveTick Instance = new();
    }

    private sealed record SignInUnconfirmed
    {
        public static readonly SignInUnconfirmed Instance = new();
    }
}
