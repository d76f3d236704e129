using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;

namespace SecureChat.Testing.Simulation;

/// <summary>
/// A client as the client actor will drive the engine: answers COMMIT_REQUEST with CreateCommit, applies
/// COMMITs, decrypts APPLICATIONs, holds future-epoch messages and retries them after each accepted commit,
/// abandons its pending commit on COMMIT_REJECTED. Each (re)join is a new session "incarnation"; old
/// sessions are kept (never disposed before the test ends) so tests can attack with an outsider's whole state.
/// </summary>
public sealed class SimulatedClient : IDisposable
{
    private readonly IClock _clock;
    private readonly IRandomSource _random;
    private readonly GroupOptions _options;
    private int _incarnations;

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

    public GroupSession? Session { get; private set; }

    /// <summary>Label of the current session: "id/n".</summary>
    public string Incarnation => $"{ClientId}/{_incarnations}";

    public List<(string Incarnation, GroupSession Session)> AllSessions { get; } = [];

    public bool IsConnected { get; set; }

    /// <summary>Frames the relay delivered and the client has not handled yet (tests may reorder them).</summary>
    public List<Envelope> Inbox { get; } = [];

    public List<Envelope> Held { get; } = [];

    public List<(string Incarnation, MessageDelivered Message)> Delivered { get; } = [];

    public List<DecryptOutcome> DecryptOutcomes { get; } = [];

    public List<CommitOutcome> CommitOutcomes { get; } = [];

    public List<ErrorCode> Errors { get; } = [];

    /// <summary>Every COMMIT envelope this client received, in order.</summary>
    public List<Envelope> CommitLog { get; } = [];

    /// <summary>When false, COMMIT_REQUESTs are ignored (an unresponsive committer, for failover tests).</summary>
    public bool AnswersCommitRequests { get; set; } = true;

    /// <summary>A new identity key under the same client id (a reinstall, or an impostor the server lets in).</summary>
    public void ResetIdentity()
    {
        RetiredIdentities.Add(Identity);
        Identity = LocalIdentity.Generate(ClientId, _random);
    }

    private List<LocalIdentity> RetiredIdentities { get; } = [];

    /// <summary>Starts a new session and sends JOIN.</summary>
    public void Join(InMemoryRelay relay)
    {
        _incarnations++;
        Session = new GroupSession(Identity, relay.RoomId, Trust, _options, _clock, _random);
        AllSessions.Add((Incarnation, Session));
        Held.Clear();
        IsConnected = true;
        relay.Submit(this, new Envelope
        {
            Version = WireLimits.ProtocolVersion, Type = MessageType.Join, SenderId = ClientId, RoomId = relay.RoomId,
            Join = new Join { Bundle = Session.JoinBundle, PreferredSuite = relay.Suite },
        });
    }

    public void Leave(InMemoryRelay relay)
    {
        relay.Submit(this, new Envelope
        {
            Version = WireLimits.ProtocolVersion, Type = MessageType.Leave, SenderId = ClientId, RoomId = relay.RoomId, Leave = Session!.CreateLeave(),
        });
        relay.Disconnect(this);
        Inbox.Clear();
        Held.Clear();
    }

    public SendOutcome Send(InMemoryRelay relay, string text)
    {
        var outcome = Session!.Encrypt(text);
        if (outcome is MessageSealed sealedMessage)
        {
            relay.Submit(this, sealedMessage.Envelope);
            if (Session.NeedsRekey)
            {
                Rekey(relay);
            }
        }

        return outcome;
    }

    public CommitCreation Rekey(InMemoryRelay relay)
    {
        var creation = Session!.CreateRekeyCommit();
        if (creation is CommitCreated created && !created.Repeated)
        {
            relay.Submit(this, Session.CommitEnvelope(created.Commit));
        }

        return creation;
    }

    /// <summary>Handles the inbox frame at <paramref name="index"/>.</summary>
    public void HandleAt(int index, InMemoryRelay relay)
    {
        var envelope = Inbox[index];
        Inbox.RemoveAt(index);
        Handle(envelope, relay);
    }

    public void Handle(Envelope envelope, InMemoryRelay relay)
    {
        if (Session is null)
        {
            return;
        }

        switch (envelope.Type)
        {
            case MessageType.CommitRequest when AnswersCommitRequests:
                if (Session.CreateCommit(envelope.CommitRequest) is CommitCreated created)
                {
                    relay.Submit(this, Session.CommitEnvelope(created.Commit));
                }

                break;
            case MessageType.Commit:
                CommitLog.Add(envelope);
                var outcome = Session.ProcessCommit(envelope.Commit);
                CommitOutcomes.Add(outcome);
                if (outcome is CommitAccepted)
                {
                    RetryHeld();
                }

                break;
            case MessageType.Application:
                Decrypt(envelope);
                break;
            case MessageType.Error:
                Errors.Add(envelope.Error.Code);
                if (envelope.Error.Code == ErrorCode.CommitRejected)
                {
                    Session.AbandonPendingCommit(envelope.Epoch);
                }

                break;
        }
    }

    private void Decrypt(Envelope envelope)
    {
        var outcome = Session!.Decrypt(envelope);
        DecryptOutcomes.Add(outcome);
        switch (outcome)
        {
            case MessageDelivered delivered:
                Delivered.Add((Incarnation, delivered));
                break;
            case MessageHeld:
                Held.Add(envelope);
                break;
        }
    }

    private void RetryHeld()
    {
        var held = Held.ToList();
        Held.Clear();
        foreach (var envelope in held)
        {
            Decrypt(envelope);
        }
    }

    public void Dispose()
    {
        foreach (var (_, session) in AllSessions)
        {
            session.Dispose();
        }

        Identity.Dispose();
        foreach (var identity in RetiredIdentities)
        {
            identity.Dispose();
        }
    }
}
