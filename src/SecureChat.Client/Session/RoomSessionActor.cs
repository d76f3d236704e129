using Akka.Actor;
using Akka.Event;
using SecureChat.Client.Rooms;

namespace SecureChat.Client.Session;

/// <summary>
/// One room of one user, as an actor: a thin driver of <see cref="ClientRoom"/>, which holds every rule of
/// the room (the join, commits, holding and queueing, rejoining). Its states mirror the room's
/// <see cref="RoomPhase"/> — <see cref="Offline"/> → <see cref="Joining"/> → <see cref="AwaitingAdmission"/> →
/// <see cref="Ready"/> ⇄ <see cref="Committing"/> — and only route: frames and commands go into the room,
/// the room's effects go out (frames to the parent session, events to the owner, the admission and acknowledgement timers).
/// </summary>
public sealed class RoomSessionActor : ReceiveActor, IWithTimers, IDisposable
{
    private readonly RoomContext _context;
    private readonly ClientRoom _room;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IActorRef _parent = Context.Parent;
    private RoomPhase _state = RoomPhase.Offline;

    public RoomSessionActor(string roomId, RoomContext context)
    {
        _context = context;
        _room = new ClientRoom(roomId, () => context.NewGroupSession(roomId), context.Clock, context.Settings);
        Offline();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string roomId, RoomContext context) =>
        Akka.Actor.Props.Create(() => new RoomSessionActor(roomId, context));

    protected override void PreStart() =>
        Timers.StartPeriodicTimer(nameof(RoomTick), RoomTick.Instance, _context.Settings.RoomTickInterval);

    /// <summary>Erases the room's keys (also when the actor stops).</summary>
    public void Dispose() => _room.Dispose();

    protected override void PostStop() => _room.Dispose();

    /// <summary>No connection: frames of the old one are dropped; sends are queued by the room.</summary>
    private void Offline()
    {
        Receive<RoomProtocol.LinkReady>(ready => Apply(_room.LinkReady(ready.ServerKeepsMessages)));
        Receive<RoomProtocol.LinkLost>(_ => { });
        Receive<RoomProtocol.LinkStopped>(stopped => Apply(_room.LinkStopped(stopped.Reason)));
        Receive<RoomProtocol.Inbound>(inbound => _log.Debug("offline: dropping {0}", inbound.Envelope.Type));
        ReceiveCommon();
    }

    /// <summary>JOIN is out: JOINED or a refusal comes next.</summary>
    private void Joining() => ReceiveOnline();

    /// <summary>The server took the join; waiting for the commit that admits us, with the admission timer running.</summary>
    private void AwaitingAdmission()
    {
        Receive<AdmissionOverdue>(_ => Apply(_room.AdmissionOverdue()));
        ReceiveOnline();
    }

    /// <summary>Keys for the current epoch: messages flow both ways.</summary>
    private void Ready() => ReceiveOnline();

    /// <summary>Our commit is out; the relay's echo (or a competing commit, or a refusal) ends this state.</summary>
    private void Committing() => ReceiveOnline();

    /// <summary>Handlers shared by every state with a connection.</summary>
    private void ReceiveOnline()
    {
        Receive<RoomProtocol.Inbound>(inbound => Apply(_room.Frame(inbound.Envelope)));
        Receive<RoomProtocol.LinkLost>(_ => Apply(_room.LinkLost()));
        Receive<RoomProtocol.LinkStopped>(stopped => Apply(_room.LinkStopped(stopped.Reason)));
        Receive<RoomProtocol.LinkReady>(_ => { });
        ReceiveCommon();
    }

    /// <summary>Handlers every state shares: the room decides what a command means in its phase.</summary>
    private void ReceiveCommon()
    {
        Receive<ClientCommands.Send>(send => Apply(_room.Send(send.Text)));
        Receive<ClientCommands.SendQueued>(_ => Apply(_room.SendQueued()));
        Receive<ClientCommands.DropQueued>(_ => Apply(_room.DropQueued()));
        Receive<ClientCommands.Invite>(invite => Apply(_room.Invite(invite.InviteeId)));
        Receive<ClientCommands.Remove>(remove => Apply(_room.Remove(remove.ClientId)));
        Receive<ClientCommands.SetPolicy>(policy => Apply(_room.SetPolicy(policy.Admission)));
        Receive<ClientCommands.Rekey>(_ => Apply(_room.Rekey()));
        Receive<RoomProtocol.TrustChanged>(_ => Apply(_room.TrustChanged()));
        Receive<ClientCommands.Leave>(_ => Apply(_room.Leave()));
        Receive<RoomTick>(_ => Apply(_room.Tick()));
        Receive<AdmissionOverdue>(_ => { });
        Receive<AcksOverdue>(_ => Apply(_room.AcksOverdue()));
        Receive<ClientCommands.QueryRoster>(_ => Sender.Tell(new ClientCommands.RosterReply(_room.RoomId, _room.Epoch,
            [.. _room.Roster.Select(m => new ClientCommands.Member(m.ClientId, m.Fingerprint))])));
        Receive<ClientCommands.QueryEpochCode>(_ => Sender.Tell(new ClientCommands.EpochCodeReply(_room.RoomId, _room.Epoch, _room.EpochCode)));
        Receive<ClientCommands.QueryRooms>(_ => Sender.Tell(new ClientCommands.RoomInfo(_room.RoomId, _room.Phase, _room.Epoch, _room.Roster.Count,
            _room.Unacknowledged)));
    }

    private void Apply(RoomEffects effects)
    {
        foreach (var envelope in effects.Outbound)
        {
            _parent.Tell(new RoomProtocol.Outbound(envelope));
        }

        foreach (var e in effects.Events)
        {
            _context.Owner.Tell(e);
        }

        switch (effects.Timer)
        {
            case AdmissionTimer.Start:
                Timers.StartSingleTimer(nameof(AdmissionOverdue), AdmissionOverdue.Instance, _room.AdmissionTimeout);
                break;
            case AdmissionTimer.Cancel:
                Timers.Cancel(nameof(AdmissionOverdue));
                break;
        }

        if (effects.AckCheckIn is { } delay)
        {
            Timers.StartSingleTimer(nameof(AcksOverdue), AcksOverdue.Instance, delay);
        }

        if (effects.Closed)
        {
            _parent.Tell(new RoomProtocol.RoomClosed(_room.RoomId));
            Context.Stop(Self);
            return;
        }

        if (_room.Phase != _state)
        {
            _state = _room.Phase;
            Become(_state switch
            {
                RoomPhase.Offline => Offline,
                RoomPhase.Joining => Joining,
                RoomPhase.AwaitingAdmission => AwaitingAdmission,
                RoomPhase.Ready => Ready,
                _ => Committing,
            });
        }
    }

    private sealed record RoomTick
    {
        public static RoomTick Instance { get; } = new();
    }

    private sealed record AdmissionOverdue
    {
        public static AdmissionOverdue Instance { get; } = new();
    }

    private sealed record AcksOverdue
    {
        public static AcksOverdue Instance { get; } = new();
    }
}
