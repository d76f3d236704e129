using Akka.Actor;
using Akka.Event;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using Envelope = SecureChat.Core.Wire.Envelope;
using Error = SecureChat.Core.Wire.Error;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;

namespace SecureChat.Client.Session;

/// <summary>
/// One room of one user. Drives that room's <see cref="GroupSession"/> (which does every check and all
/// the crypto) through the join handshake and the epoch changes:
/// <see cref="Offline"/> → <see cref="Joining"/> (JOIN out) → <see cref="AwaitingAdmission"/> (JOINED in,
/// waiting for the commit that carries our wrap) → <see cref="Ready"/>; <see cref="Committing"/> while a
/// commit of ours waits for the relay's echo; back to Ready on every new epoch.
/// Sends before the keys are ready are queued; messages for epochs not reached yet are held; both bounded.
/// </summary>
public sealed class RoomSessionActor : ReceiveActor, IWithTimers, IWithStash
{
    private static readonly TimeSpan TickInterval = TimeSpan.FromSeconds(30);

    private readonly string _roomId;
    private readonly RoomContext _context;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IActorRef _parent = Context.Parent;
    private readonly Queue<string> _queuedSends = new();
    private readonly LinkedList<Envelope> _heldMessages = new();
    private readonly HashSet<string> _unacceptedSendersWarned = new(StringComparer.Ordinal);

    private GroupSession? _session;
    private RoomPhase _phase = RoomPhase.Suspended;
    private bool _queueFullWarned;
    private bool _blockedWarned;
    private bool _everKeyed;
    private ulong? _pendingCommitEpoch;

    public RoomSessionActor(string roomId, RoomContext context)
    {
        _roomId = roomId;
        _context = context;
        Offline();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public IStash Stash { get; set; } = null!;

    public static Props Props(string roomId, RoomContext context) =>
        Akka.Actor.Props.Create(() => new RoomSessionActor(roomId, context));

    protected override void PreStart() =>
        Timers.StartPeriodicTimer(nameof(EraseOldEpochs), EraseOldEpochs.Instance, TickInterval);

    protected override void PostStop()
    {
        _session?.Dispose();
        _session = null;
    }

    /// <summary>No connection: sends are queued until the link is back and the room is rejoined.</summary>
    private void Offline()
    {
        _phase = RoomPhase.Suspended;
        Receive<RoomProtocol.LinkReady>(_ => StartJoin());
        Receive<RoomProtocol.LinkLost>(_ => { });
        Receive<RoomProtocol.Inbound>(inbound => _log.Debug("offline: dropping {0}", inbound.Envelope.Type));
        Receive<ClientCommands.Leave>(_ => LeaveRoom(sendLeave: false));
        ReceiveCommon();
    }

    /// <summary>JOIN is out; everything but JOINED (or a refusal) waits in the stash.</summary>
    private void Joining()
    {
        _phase = RoomPhase.Joining;
        Receive<RoomProtocol.Inbound>(i => i.Envelope.Type == MessageType.Joined, i => OnJoined(i.Envelope));
        Receive<RoomProtocol.Inbound>(i => i.Envelope.Type == MessageType.Error, i => OnJoinError(i.Envelope.Error));
        Receive<RoomProtocol.Inbound>(_ => Stash.Stash());
        ReceiveOnline();
    }

    /// <summary>The server took the join; waiting for the commit that admits us (or a request to create the room).</summary>
    private void AwaitingAdmission()
    {
        _phase = RoomPhase.AwaitingAdmission;
        Receive<RoomProtocol.Inbound>(i => i.Envelope.Type == MessageType.CommitRequest, i => OnCommitRequest(i.Envelope.CommitRequest));
        Receive<RoomProtocol.Inbound>(i => i.Envelope.Type == MessageType.Commit, i => OnCommit(i.Envelope.Commit));
        Receive<RoomProtocol.Inbound>(i => i.Envelope.Type == MessageType.Application, i => Hold(i.Envelope));
        Receive<RoomProtocol.Inbound>(i => i.Envelope.Type == MessageType.Error, i => OnRoomError(i.Envelope));
        Receive<AdmissionOverdue>(_ => _context.Owner.Tell(new Warning(_roomId, "still waiting for a member to admit us to the room")));
        ReceiveOnline();
    }

    /// <summary>Keys for the current epoch: messages flow both ways.</summary>
    private void Ready()
    {
        _phase = RoomPhase.Ready;
        ReceiveWithKeys();
    }

    /// <summary>Our commit is out; the relay's echo (or a competing commit, or a rejection) ends this state.</summary>
    private void Committing()
    {
        _phase = RoomPhase.Committing;
        ReceiveWithKeys();
    }

    /// <summary>
    /// Ready and Committing handle the same frames: while our commit is out, messages of the current epoch
    /// still flow, and the relay's echo, a competing commit or a rejection is what moves the room on.
    /// </summary>
    private void ReceiveWithKeys()
    {
        Receive<ClientCommands.Send>(send => SendOrQueue(send.Text));
        Receive<RoomProtocol.Inbound>(i => i.Envelope.Type == MessageType.Application, i => Decrypt(i.Envelope, fromHold: false));
        Receive<RoomProtocol.Inbound>(i => i.Envelope.Type == MessageType.Commit, i => OnCommit(i.Envelope.Commit));
        Receive<RoomProtocol.Inbound>(i => i.Envelope.Type == MessageType.CommitRequest, i => OnCommitRequest(i.Envelope.CommitRequest));
        Receive<RoomProtocol.Inbound>(i => i.Envelope.Type == MessageType.Error, i => OnRoomError(i.Envelope));
        Receive<ClientCommands.Trust>(_ => FlushQueuedSends());
        ReceiveOnline();
    }

    /// <summary>Handlers shared by every state with a connection.</summary>
    private void ReceiveOnline()
    {
        Receive<RoomProtocol.LinkLost>(_ => GoOffline());
        Receive<RoomProtocol.LinkReady>(_ => { });
        Receive<ClientCommands.Leave>(_ => LeaveRoom(sendLeave: true));
        Receive<RoomProtocol.Inbound>(i => _log.Debug("{0} in {1}: ignored", i.Envelope.Type, _phase));
        ReceiveCommon();
    }

    /// <summary>Handlers every state shares, the queue included: a send that no state above took waits for the keys.</summary>
    private void ReceiveCommon()
    {
        Receive<ClientCommands.Send>(send => Queue(send.Text));
        Receive<ClientCommands.Trust>(_ => { });
        Receive<ClientCommands.QueryRoster>(_ => Sender.Tell(new ClientCommands.RosterReply(_roomId, _session?.Epoch ?? 0,
            [.. (_session?.Roster ?? []).Select(m => new ClientCommands.Member(m.ClientId, m.Fingerprint))])));
        Receive<ClientCommands.QueryEpochCode>(_ => Sender.Tell(new ClientCommands.EpochCodeReply(_roomId, _session?.Epoch ?? 0,
            _phase is RoomPhase.Ready or RoomPhase.Committing ? _session?.EpochCode : null)));
        Receive<ClientCommands.QueryRooms>(_ => Sender.Tell(new ClientCommands.RoomInfo(_roomId, _phase, _session?.Epoch ?? 0, _session?.Roster.Count ?? 0)));
        Receive<EraseOldEpochs>(_ => _session?.Tick());
        Receive<AdmissionOverdue>(_ => { });
    }

    private void StartJoin()
    {
        _session?.Dispose();
        _session = _context.NewGroupSession(_roomId);
        _heldMessages.Clear();
        _parent.Tell(new RoomProtocol.Outbound(new Envelope
        {
            Version = WireLimits.ProtocolVersion,
            Type = MessageType.Join,
            SenderId = _context.ClientId,
            RoomId = _roomId,
            Join = new Join { Bundle = _session.JoinBundle, PreferredSuite = CipherSuites.Preferred },
        }));
        Become(Joining);
    }

    private void OnJoined(Envelope envelope)
    {
        _context.Owner.Tell(new Joined(_roomId, envelope.Joined.CurrentEpoch, (int)envelope.Joined.MemberCount));
        Timers.StartSingleTimer(nameof(AdmissionOverdue), AdmissionOverdue.Instance, _context.Settings.AdmissionTimeout);
        Become(AwaitingAdmission);
        Stash.UnstashAll();
    }

    private void OnJoinError(Error error)
    {
        _context.Owner.Tell(new ErrorReported(_roomId, error.Code.ToString(), $"could not join {_roomId}: {error.Reason}"));
        Stash.ClearStash();
        LeaveRoom(sendLeave: false);
    }

    private void OnCommitRequest(CommitRequest request)
    {
        var session = _session!;
        var creation = session.CreateCommit(request);
        if (creation is CommitNotCreated { Reason: CommitRefusal.PendingCommitExists })
        {
            // The server moved on to another epoch: the commit we were waiting on will not be echoed.
            AbandonPendingCommit();
            creation = session.CreateCommit(request);
        }

        switch (creation)
        {
            case CommitCreated created:
                foreach (var skipped in created.SkippedAdds)
                {
                    _context.Owner.Tell(new Warning(_roomId, $"not admitting {skipped}: the bundle did not verify"));
                }

                _pendingCommitEpoch = created.Epoch;
                _parent.Tell(new RoomProtocol.Outbound(session.CommitEnvelope(created.Commit)));
                if (_phase != RoomPhase.AwaitingAdmission)
                {
                    Become(Committing);
                }

                break;
            case CommitNotCreated { Reason: CommitRefusal.NothingToCommit }:
                break;
            case CommitNotCreated refused:
                _context.Owner.Tell(new ErrorReported(_roomId, ClientErrorCodes.CommitRefused, $"could not commit the requested change: {refused.Reason}"));
                break;
        }
    }

    private void OnCommit(SignedCommit commit)
    {
        var session = _session!;
        var before = session.Roster.ToDictionary(m => m.ClientId, m => m.Fingerprint, StringComparer.Ordinal);
        var outcome = session.ProcessCommit(commit);
        switch (outcome)
        {
            case CommitAccepted accepted:
                OnNewEpoch(accepted, before);
                break;
            case CommitRejected { Reason: CommitRejection.EpochGap or CommitRejection.TranscriptMismatch } rejected:
                _context.Owner.Tell(new ErrorReported(_roomId, ClientErrorCodes.CommitRefused,
                    $"lost track of the room's keys ({rejected.Reason} at epoch {rejected.Epoch}); rejoining"));
                Rejoin();
                break;
            case CommitRejected rejected:
                _context.Owner.Tell(new ErrorReported(_roomId, ClientErrorCodes.CommitRefused,
                    $"refused a commit for epoch {rejected.Epoch}: {rejected.Reason}"));
                break;
            default:
                // Already applied, stale (lost a race) or not addressed to us yet: nothing changes.
                _log.Debug("commit outcome {0}", outcome);
                break;
        }
    }

    private void OnNewEpoch(CommitAccepted accepted, Dictionary<string, string> before)
    {
        var session = _session!;
        Timers.Cancel(nameof(AdmissionOverdue));
        if (accepted.OwnCommit || accepted.OwnCommitSuperseded || _pendingCommitEpoch <= accepted.Epoch)
        {
            _pendingCommitEpoch = null;
        }

        if (accepted.RemovedFromGroup)
        {
            _context.Owner.Tell(new Warning(_roomId, "the room removed us; rejoining"));
            Rejoin();
            return;
        }

        if (accepted.JoinedGroup)
        {
            foreach (var member in session.Roster.Where(m => m.ClientId != _context.ClientId))
            {
                _context.Owner.Tell(new MemberJoined(_roomId, member.ClientId, member.Fingerprint, AlreadyPresent: true));
            }
        }
        else
        {
            foreach (var removed in accepted.Removed.Where(r => r != _context.ClientId))
            {
                _context.Owner.Tell(new MemberLeft(_roomId, removed, before.GetValueOrDefault(removed, string.Empty)));
            }

            foreach (var added in accepted.Added.Where(a => a.ClientId != _context.ClientId))
            {
                _context.Owner.Tell(new MemberJoined(_roomId, added.ClientId, added.Fingerprint));
            }
        }

        foreach (var change in accepted.KeyChanges)
        {
            _context.Owner.Tell(new ErrorReported(_roomId, ClientErrorCodes.KeyChanged,
                $"{change.ClientId}'s identity key changed (was {change.PinnedFingerprint}, now {change.NewFingerprint}); " +
                $"compare fingerprints, then /trust {change.ClientId}. Sending to this room waits until then."));
        }

        _everKeyed = true;
        _context.Owner.Tell(new KeyEstablished(_roomId, accepted.Epoch, accepted.EpochCode, session.Roster.Count));
        Become(Ready);
        RetryHeld();
        FlushQueuedSends();
        if (session.NeedsRekey && session.CreateRekeyCommit() is CommitCreated rekey)
        {
            _pendingCommitEpoch = rekey.Epoch;
            _parent.Tell(new RoomProtocol.Outbound(session.CommitEnvelope(rekey.Commit)));
            Become(Committing);
        }
    }

    private void OnRoomError(Envelope envelope)
    {
        var error = envelope.Error;
        switch (error.Code)
        {
            case ErrorCode.CommitRejected or ErrorCode.NotCommitter:
                // Usually another member's commit won the epoch; the server asks again if changes remain.
                _log.Info("room {0}: our commit was refused: {1}", _roomId, error.Reason);
                AbandonPendingCommit(envelope.Epoch);
                if (_phase == RoomPhase.Committing)
                {
                    Become(Ready);
                    FlushQueuedSends();
                }

                break;
            case ErrorCode.NotAMember when _phase is RoomPhase.Ready or RoomPhase.Committing:
                _context.Owner.Tell(new Warning(_roomId, $"the server no longer counts us as a member ({error.Reason}); rejoining"));
                Rejoin();
                break;
            default:
                _context.Owner.Tell(new ErrorReported(_roomId, error.Code.ToString(), error.Reason));
                break;
        }
    }

    /// <summary>Drops our commit waiting for its echo; a refusal naming another epoch leaves it alone.</summary>
    private void AbandonPendingCommit(ulong refusedEpoch = 0)
    {
        if (_pendingCommitEpoch is { } epoch && (refusedEpoch == 0 || refusedEpoch == epoch))
        {
            _session?.AbandonPendingCommit(epoch);
            _pendingCommitEpoch = null;
        }
    }

    private void SendOrQueue(string text)
    {
        if (_queuedSends.Count > 0)
        {
            // Keep the order: older queued sends go first.
            Queue(text);
            FlushQueuedSends();
            return;
        }

        if (!TrySeal(text))
        {
            Queue(text);
        }
    }

    /// <summary>Encrypts and sends; false when the message must wait (blocked by a key change).</summary>
    private bool TrySeal(string text)
    {
        switch (_session!.Encrypt(text))
        {
            case MessageSealed sealedMessage:
                _parent.Tell(new RoomProtocol.Outbound(sealedMessage.Envelope));
                return true;
            case SendRefused { Reason: SendRefusal.BlockedByKeyChange } blocked:
                if (!_blockedWarned)
                {
                    _blockedWarned = true;
                    _context.Owner.Tell(new Warning(_roomId,
                        $"held your message: the key of {string.Join(", ", blocked.BlockingMembers)} changed; /trust ID after comparing fingerprints"));
                }

                return false;
            case SendRefused { Reason: SendRefusal.NotJoined } or SendRefused { Reason: SendRefusal.GenerationExhausted }:
                return false;
            case SendRefused refused:
                _context.Owner.Tell(new ErrorReported(_roomId, refused.Reason.ToString(), $"message not sent: {Describe(refused.Reason)}"));
                return true;
            default:
                return true;
        }
    }

    private void FlushQueuedSends()
    {
        while (_queuedSends.Count > 0 && _phase is RoomPhase.Ready or RoomPhase.Committing)
        {
            if (!TrySeal(_queuedSends.Peek()))
            {
                return;
            }

            _queuedSends.Dequeue();
        }

        _blockedWarned = false;
        _queueFullWarned = false;
    }

    private void Queue(string text)
    {
        if (_queuedSends.Count >= _context.Settings.MaxQueuedSends)
        {
            if (!_queueFullWarned)
            {
                _queueFullWarned = true;
                _context.Owner.Tell(new Warning(_roomId,
                    $"{_queuedSends.Count} messages are already waiting for the room's keys; not queuing more"));
            }

            return;
        }

        _queuedSends.Enqueue(text);
    }

    private void Decrypt(Envelope envelope, bool fromHold)
    {
        switch (_session!.Decrypt(envelope))
        {
            case MessageDelivered delivered:
                if (delivered.SenderKeyUnaccepted && _unacceptedSendersWarned.Add(delivered.SenderId))
                {
                    _context.Owner.Tell(new Warning(_roomId, $"{delivered.SenderId} signs with a key you have not accepted; /trust {delivered.SenderId} after comparing fingerprints"));
                }

                _context.Owner.Tell(new MessageReceived(_roomId, delivered.SenderId, delivered.Text,
                    DateTimeOffset.FromUnixTimeMilliseconds(delivered.SentAtMs), DateTimeOffset.FromUnixTimeMilliseconds(_context.Clock.UtcNowMs)));
                break;
            case MessageHeld:
                Hold(envelope);
                break;
            case MessageRejected { Reason: DecryptRejection.EpochBeforeJoin }:
                // Sent before we were a member: we were never meant to read it.
                break;
            case MessageRejected { Reason: DecryptRejection.Replay } when fromHold:
                break;
            case MessageRejected { Reason: DecryptRejection.Replay or DecryptRejection.ExpiredEpoch } dropped:
                _context.Owner.Tell(new Warning(_roomId, $"dropped a message from {envelope.SenderId}: {Describe(dropped.Reason)}"));
                break;
            case MessageRejected rejected:
                _context.Owner.Tell(new ErrorReported(_roomId, ClientErrorCodes.DecryptFailed,
                    $"a message from {envelope.SenderId} failed: {Describe(rejected.Reason)}"));
                break;
        }
    }

    private void Hold(Envelope envelope)
    {
        if (_heldMessages.Count >= _context.Settings.MaxHeldMessages)
        {
            var dropped = _heldMessages.First!.Value;
            _heldMessages.RemoveFirst();
            _context.Owner.Tell(new Warning(_roomId, $"too many messages waiting for keys; dropped one from {dropped.SenderId}"));
        }

        _heldMessages.AddLast(envelope);
    }

    private void RetryHeld()
    {
        if (_heldMessages.Count == 0)
        {
            return;
        }

        var retry = _heldMessages.ToList();
        _heldMessages.Clear();
        foreach (var envelope in retry)
        {
            Decrypt(envelope, fromHold: true);
        }
    }

    private void Rejoin()
    {
        _parent.Tell(new RoomProtocol.Outbound(new Envelope
        {
            Version = WireLimits.ProtocolVersion,
            Type = MessageType.Leave,
            SenderId = _context.ClientId,
            RoomId = _roomId,
        }));
        StartJoin();
    }

    private void GoOffline()
    {
        Timers.Cancel(nameof(AdmissionOverdue));
        _session?.Dispose();
        _session = null;
        _heldMessages.Clear();
        Stash.ClearStash();
        if (_everKeyed)
        {
            _context.Owner.Tell(new Warning(_roomId, "offline; messages you type are kept until the room is rekeyed"));
        }

        Become(Offline);
    }

    private void LeaveRoom(bool sendLeave)
    {
        if (sendLeave)
        {
            _parent.Tell(new RoomProtocol.Outbound(new Envelope
            {
                Version = WireLimits.ProtocolVersion,
                Type = MessageType.Leave,
                SenderId = _context.ClientId,
                RoomId = _roomId,
            }));
        }

        if (_queuedSends.Count > 0)
        {
            _context.Owner.Tell(new Warning(_roomId, $"{_queuedSends.Count} queued message(s) were not sent"));
        }

        _context.Owner.Tell(new Left(_roomId));
        _parent.Tell(new RoomProtocol.RoomClosed(_roomId));
        Context.Stop(Self);
    }

    private static string Describe(DecryptRejection reason) => reason switch
    {
        DecryptRejection.AuthenticationFailed => "it did not authenticate (altered or wrong keys)",
        DecryptRejection.Forged => "its signature is not the sender's (forged by another member)",
        DecryptRejection.Replay => "it was a replay of an earlier message",
        DecryptRejection.ExpiredEpoch => "its keys were already erased (it arrived too late)",
        DecryptRejection.NotAMember => "the sender is not a member of that epoch",
        DecryptRejection.TooFarAhead => "it skipped too many messages ahead",
        DecryptRejection.WrongSuite => "it used another cipher suite than the room",
        _ => reason.ToString(),
    };

    private static string Describe(SendRefusal reason) => reason switch
    {
        SendRefusal.BodyTooLong => "the text is too long",
        SendRefusal.NotAMember => "we are no longer a member of the room",
        _ => reason.ToString(),
    };

    private sealed record EraseOldEpochs
    {
        public static EraseOldEpochs Instance { get; } = new();
    }

    private sealed record AdmissionOverdue
    {
        public static AdmissionOverdue Instance { get; } = new();
    }
}
