using SecureChat.Client.Rooms;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;

namespace SecureChat.Testing.Simulation;

/// <summary>
/// A client of the in-memory relay: the real room loop (<see cref="ClientRoom"/>, as the client actor runs it)
/// with the relay as its transport. Frames the relay delivers wait in <see cref="Inbox"/> until the test lets
/// the client handle them; what the loop sends goes to the relay's queue. Every engine outcome is recorded for
/// the test, and each (re)join is a new session "incarnation"; old sessions are kept (never disposed before the
/// test ends) so tests can attack with an outsider's whole state.
/// </summary>
public sealed class SimulatedClient : IRoomObserver, IDisposable
{
    private readonly IClock _clock;
    private readonly IRandomSource _random;
    private readonly GroupOptions _options;
    private readonly List<LocalIdentity> _retiredIdentities = [];
    private ClientRoom? _room;
    private int _incarnations;
    private SendOutcome? _lastSend;
    private CommitCreation? _lastCreation;

    public SimulatedClient(string clientId, IClock clock, IRandomSource random, GroupOptions? options = null, TrustStore? trust = null)
    {
        ClientId = clientId;
        _clock = clock;
        _random = random;
        _options = options ?? GroupOptions.Default;
        Identity = LocalIdentity.Generate(clientId, random);
        Trust = trust ?? new TrustStore();
    }

    public string ClientId { get; }

    public LocalIdentity Identity { get; private set; }

    public TrustStore Trust { get; }

    /// <summary>The newest session (kept after leaving, for tests that go on using a removed member's state).</summary>
    public GroupSession? Session { get; private set; }

    /// <summary>Where the room loop stands; null before the first join.</summary>
    public RoomPhase? Phase => _room?.Phase;

    /// <summary>Label of the current session: "id/n".</summary>
    public string Incarnation => $"{ClientId}/{_incarnations}";

    public List<(string Incarnation, GroupSession Session)> AllSessions { get; } = [];

    public bool IsConnected { get; set; }

    /// <summary>The room loop has left the room (the user left, or the server refused the join).</summary>
    public bool HasLeftRoom => _room?.Phase == RoomPhase.Left;

    /// <summary>Frames the relay delivered and the client has not handled yet (tests may reorder them).</summary>
    public List<Envelope> Inbox { get; } = [];

    /// <summary>The loop's held messages (for an epoch not reached yet).</summary>
    public IReadOnlyCollection<Envelope> Held => _room?.Held ?? [];

    public List<(string Incarnation, MessageDelivered Message)> Delivered { get; } = [];

    public List<DecryptOutcome> DecryptOutcomes { get; } = [];

    public List<CommitOutcome> CommitOutcomes { get; } = [];

    /// <summary>Every event the room loop reported to the user, in order.</summary>
    public List<SecureChat.Client.Session.ClientEvent> Events { get; } = [];

    /// <summary>The codes of every ERROR this client received.</summary>
    public List<ErrorCode> Errors { get; } = [];

    /// <summary>Every COMMIT envelope this client received, in order.</summary>
    public List<Envelope> CommitLog { get; } = [];

    /// <summary>When false, COMMIT_REQUESTs are dropped before the loop sees them (an unresponsive committer, for failover tests).</summary>
    public bool AnswersCommitRequests { get; set; } = true;

    /// <summary>A new identity key under the same client id (a reinstall, or an impostor the server lets in); used from the next join.</summary>
    public void ResetIdentity()
    {
        _retiredIdentities.Add(Identity);
        Identity = LocalIdentity.Generate(ClientId, _random);
    }

    /// <summary>Connects (again) and joins with a new session.</summary>
    public void Join(InMemoryRelay relay)
    {
        ArgumentNullException.ThrowIfNull(relay);
        if (_room is null || _room.Phase == RoomPhase.Left)
        {
            _room = new ClientRoom(relay.RoomId, OpenSession(relay.RoomId), _clock, observer: this)
            {
                OwnsSessions = false,
                PreferredSuite = relay.Suite,
            };
        }
        else
        {
            _room.LinkLost(); // a member's session is kept and resumes on the new connection; any other is dropped
        }

        IsConnected = true;
        Carry(_room.LinkReady(), relay);
    }

    /// <summary>Leaves the room and closes the connection.</summary>
    public void Leave(InMemoryRelay relay)
    {
        ArgumentNullException.ThrowIfNull(relay);
        if (_room is not null)
        {
            Carry(_room.Leave(), relay);
            relay.Flush(this);
        }

        // The LEAVE (and what was sent before it) reaches the server before the connection closes, as over TLS.
        while (relay.ClientsWithIngress.Contains(ClientId))
        {
            relay.ProcessNext(ClientId);
        }

        relay.Disconnect(this);
        Inbox.Clear();
    }

    /// <summary>The user sends <paramref name="text"/>; the engine's answer, or null when the loop queued it without asking.</summary>
    public SendOutcome? Send(InMemoryRelay relay, string text)
    {
        _lastSend = null;
        Carry(Room.Send(text), relay);
        return _lastSend;
    }

    /// <summary>Commits a rekey now; the engine's answer, or null when the room has no keys.</summary>
    public CommitCreation? Rekey(InMemoryRelay relay)
    {
        _lastCreation = null;
        Carry(Room.Rekey(), relay);
        return _lastCreation;
    }

    /// <summary>The user's /invite ID, /remove ID or /policy, through the room loop.</summary>
    public void Membership(InMemoryRelay relay, Func<ClientRoom, RoomEffects> command)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (_room is not null)
        {
            Carry(command(_room), relay);
        }
    }

    /// <summary>The room loop's periodic tick (as the client actor's timer drives it).</summary>
    public void Tick(InMemoryRelay relay) => Carry(Room.Tick(), relay);

    /// <summary>Handles the inbox frame at <paramref name="index"/>.</summary>
    public void HandleAt(int index, InMemoryRelay relay)
    {
        var envelope = Inbox[index];
        Inbox.RemoveAt(index);
        Handle(envelope, relay);
    }

    /// <summary>A frame reaches the client as if the server sent it.</summary>
    public void Handle(Envelope envelope, InMemoryRelay relay)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        if (_room is null)
        {
            return;
        }

        switch (envelope.Type)
        {
            case MessageType.CommitRequest when !AnswersCommitRequests:
                return;
            case MessageType.Commit:
                CommitLog.Add(envelope);
                break;
            case MessageType.Error:
                Errors.Add(envelope.Error.Code);
                break;
        }

        Carry(_room.Frame(envelope), relay);
    }

    public void Dispose()
    {
        foreach (var (_, session) in AllSessions)
        {
            session.Dispose();
        }

        Identity.Dispose();
        foreach (var identity in _retiredIdentities)
        {
            identity.Dispose();
        }
    }

    void IRoomObserver.Decrypted(DecryptOutcome outcome)
    {
        DecryptOutcomes.Add(outcome);
        if (outcome is MessageDelivered delivered)
        {
            Delivered.Add((Incarnation, delivered));
        }
    }

    void IRoomObserver.CommitProcessed(CommitOutcome outcome) => CommitOutcomes.Add(outcome);

    void IRoomObserver.CommitBuilt(CommitCreation creation) => _lastCreation = creation;

    void IRoomObserver.Encrypted(SendOutcome outcome) => _lastSend = outcome;

    private ClientRoom Room => _room ?? throw new InvalidOperationException($"{ClientId} has not joined");

    private Func<GroupSession> OpenSession(string roomId) => () =>
    {
        _incarnations++;
        Session = new GroupSession(Identity, roomId, Trust, _options, _clock, _random);
        AllSessions.Add((Incarnation, Session));
        return Session;
    };

    /// <summary>The loop's frames go to the relay; its events are recorded (the user's); its timer is the actor's business.</summary>
    private void Carry(RoomEffects effects, InMemoryRelay relay)
    {
        Events.AddRange(effects.Events);
        foreach (var envelope in effects.Outbound)
        {
            relay.Submit(this, envelope);
        }
    }
}
