using System.Threading.Channels;
using Akka.Actor;
using SecureChat.Client.Session;
using SecureChat.Core.Wire;

namespace SecureChat.Client;

/// <summary>
/// A plain C# face on one <see cref="ClientSessionActor"/> for the CLI and the simulator:
/// commands are methods, events come out of <see cref="Events"/> in order.
/// </summary>
public sealed class ChatClient : IAsyncDisposable
{
    private readonly ActorSystem _system;
    private readonly bool _ownsSystem;
    private readonly IActorRef _session;
    private readonly IActorRef _sink;
    private readonly Channel<ClientEvent> _events;
    private readonly ClientOptions _options;
    private int _disposed;

    private ChatClient(ActorSystem system, bool ownsSystem, ClientOptions options)
    {
        _system = system;
        _ownsSystem = ownsSystem;
        _options = options;
        var actorName = options.ActorName ?? "session-" + Guid.NewGuid().ToString("N");
        _events = Channel.CreateUnbounded<ClientEvent>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = true });
        _sink = system.ActorOf(Props.Create(() => new EventSinkActor(_events.Writer)), actorName + "-events");
        ClientId = options.ClientId;
        Fingerprint = options.Identity.Fingerprint;
        _session = system.ActorOf(ClientSessionActor.Props(options.ContextFor(_sink), options.Servers), actorName);
    }

    public string ClientId { get; }

    public string Fingerprint { get; }

    public ChannelReader<ClientEvent> Events => _events.Reader;

    /// <summary>Starts a client; with no <paramref name="system"/> it makes (and later terminates) its own.</summary>
    public static ChatClient Start(ClientOptions options, ActorSystem? system = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var owns = system is null;
        system ??= ActorSystem.Create("securechat-client", ClientHocon.Quiet);
        return new ChatClient(system, owns, options);
    }

    /// <summary>Connects again after a <see cref="ConnectionStopped"/> (or now, instead of after the backoff); nothing while connected.</summary>
    public void Reconnect() => _session.Tell(ClientCommands.Reconnect.Instance);

    public void Join(string roomId) => _session.Tell(new ClientCommands.Join(roomId));

    public void Leave(string roomId) => _session.Tell(new ClientCommands.Leave(roomId));

    public void Send(string roomId, string text) => _session.Tell(new ClientCommands.Send(roomId, text));

    /// <summary>Accepts the changed key of <paramref name="clientId"/> with <paramref name="fingerprint"/>; without one, lists the waiting keys.</summary>
    public void Trust(string clientId, string? fingerprint = null) => _session.Tell(new ClientCommands.Trust(clientId, fingerprint));

    /// <summary>Sends the messages held because the room gained members since they were typed.</summary>
    public void SendQueued(string roomId) => _session.Tell(new ClientCommands.SendQueued(roomId));

    /// <summary>Drops the messages held because the room gained members since they were typed.</summary>
    public void DropQueued(string roomId) => _session.Tell(new ClientCommands.DropQueued(roomId));

    /// <summary>Invites <paramref name="inviteeId"/> to the room (reported as <see cref="InviteSent"/> once the server kept it).</summary>
    public void Invite(string roomId, string inviteeId) => _session.Tell(new ClientCommands.Invite(roomId, inviteeId));

    /// <summary>Removes <paramref name="clientId"/> from the room by a commit of ours.</summary>
    public void Remove(string roomId, string clientId) => _session.Tell(new ClientCommands.Remove(roomId, clientId));

    /// <summary>Changes the room's admission policy by a commit of ours.</summary>
    public void SetPolicy(string roomId, Admission admission) => _session.Tell(new ClientCommands.SetPolicy(roomId, admission));

    /// <summary>Gives the room new keys by a commit of ours (a new epoch, reported as <see cref="KeyEstablished"/>); nothing while it has no keys.</summary>
    public void Rekey(string roomId) => _session.Tell(new ClientCommands.Rekey(roomId));

    public Task<ClientCommands.RosterReply> GetRosterAsync(string roomId) =>
        _session.Ask<ClientCommands.RosterReply>(new ClientCommands.QueryRoster(roomId), TimeSpan.FromSeconds(5));

    public Task<ClientCommands.EpochCodeReply> GetEpochCodeAsync(string roomId) =>
        _session.Ask<ClientCommands.EpochCodeReply>(new ClientCommands.QueryEpochCode(roomId), TimeSpan.FromSeconds(5));

    /// <summary>The last <paramref name="count"/> stored lines of the room (oldest first).</summary>
    public Task<ClientCommands.HistoryReply> GetHistoryAsync(string roomId, int count) =>
        _session.Ask<ClientCommands.HistoryReply>(new ClientCommands.QueryHistory(roomId, count), TimeSpan.FromSeconds(5));

    public Task<ClientCommands.RoomsReply> GetRoomsAsync() =>
        _session.Ask<ClientCommands.RoomsReply>(ClientCommands.QueryRooms.Instance, TimeSpan.FromSeconds(5));

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        try
        {
            // Rooms first finish what was already asked of them (and write their state to the store), then stop.
            await _session.GracefulStop(TimeSpan.FromSeconds(10), ClientCommands.Shutdown.Instance).ConfigureAwait(false);
        }
        catch (TaskCanceledException)
        {
            // Already stopping or the system is going down: nothing left to wait for.
        }

        // The rooms' last events (told as they stopped) are still in the sink's mailbox, ahead of the PoisonPill: the
        // channel completes only once the sink has written them, or a message received just before the stop would be
        // past the stored position and never shown.
        try
        {
            await _sink.GracefulStop(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (TaskCanceledException)
        {
            // The system is going down: the sink stops with it.
        }

        _events.Writer.TryComplete();
        if (_options.OwnsStore)
        {
            _options.Store?.Dispose();
        }

        if (_options.OwnsIdentity)
        {
            _options.Identity.Dispose();
        }

        if (_ownsSystem)
        {
            await _system.Terminate().ConfigureAwait(false);
        }
    }

    /// <summary>Receives the session's events and hands them to the channel, in order.</summary>
    private sealed class EventSinkActor : ReceiveActor
    {
        public EventSinkActor(ChannelWriter<ClientEvent> writer) =>
            Receive<ClientEvent>(e => writer.TryWrite(e));
    }
}

/// <summary>Akka settings for a client process: no console chatter from Akka itself.</summary>
public static class ClientHocon
{
    public const string Quiet =
        """
        akka {
          loglevel = WARNING
          stdout-loglevel = WARNING
          log-dead-letters = off
          log-dead-letters-during-shutdown = off
        }
        """;
}
