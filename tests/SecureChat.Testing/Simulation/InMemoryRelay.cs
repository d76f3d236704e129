using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Protocol.Relay;

namespace SecureChat.Testing.Simulation;

/// <summary>
/// The server's room, in memory and deterministic: the same <see cref="RoomState{TConnection}"/> the RoomActor runs
/// (so the same relay rules and the same sequencing), with <see cref="SimulatedClient"/>s as its connections. What an
/// actor would schedule is driven by the test: frames from a client are queued (<see cref="Submit"/>) and processed
/// one by one (<see cref="ProcessNext"/>), so a test decides the interleaving; the commit deadline passes when the
/// test calls <see cref="Tick"/> after moving the clock. The relay only sequences; it holds no keys. On top of the
/// room it records what a test asks about: which session incarnations each epoch's roster holds, which messages went
/// out and to whom, and a trace.
/// </summary>
public sealed class InMemoryRelay
{
    private readonly IClock _clock;
    private readonly Dictionary<ByteString, string> _incarnationByBundleSignature = [];
    private readonly Dictionary<ulong, IReadOnlySet<string>> _epochMembers = [];
    private readonly Dictionary<string, Queue<Envelope>> _ingress = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SimulatedClient> _clients = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _recipients = [];
    private RoomState<SimulatedClient>? _room;
    private (CommitDeadlineDue Due, long AtMs)? _deadline;
    private long? _retryAtMs;

    public InMemoryRelay(string roomId, IClock clock, uint commitDeadlineMs = 5_000, CipherSuite suite = CipherSuite.Unspecified)
    {
        RoomId = roomId;
        _clock = clock;
        CommitDeadlineMs = commitDeadlineMs;
        Suite = suite == CipherSuite.Unspecified ? CipherSuites.Preferred : suite;
    }

    public string RoomId { get; }

    public uint CommitDeadlineMs { get; }

    /// <summary>The suite joiners ask for (<see cref="SimulatedClient.Join"/>), so the room is created with it.</summary>
    public CipherSuite Suite { get; }

    public ulong Epoch => Room.Epoch;

    public IReadOnlyList<string> RosterIds => [.. Room.Roster.Select(m => m.ClientId)];

    public int AcceptedCommits { get; private set; }

    /// <summary>The room's member limit (the server's default); set it before the first frame.</summary>
    public int MaxMembers { get; init; } = WireLimits.DefaultMaxMembersPerRoom;

    public RelayCommitRejection LastRejection { get; private set; }

    /// <summary>What the relay did, one line per event, for diagnosing a failed seed.</summary>
    public List<string> Trace { get; } = [];

    /// <summary>Texts are not visible to the relay; tests label application envelopes by the key they pass in <see cref="LabelOf"/>.</summary>
    public Func<Envelope, string?> LabelOf { get; set; } = _ => null;

    /// <summary>Labels of the application messages the relay accepted and fanned out.</summary>
    public HashSet<string> FannedOut { get; } = [];

    public int RejectedCommits { get; private set; }

    public bool HasIngress => _ingress.Values.Any(q => q.Count > 0);

    public IReadOnlyList<string> ClientsWithIngress => _ingress.Where(q => q.Value.Count > 0).Select(q => q.Key).ToList();

    private RoomState<SimulatedClient> Room =>
        _room ??= new RoomState<SimulatedClient>(RoomId, 0, new RoomSettings(MaxMembers, TimeSpan.FromMilliseconds(CommitDeadlineMs), TimeSpan.FromMinutes(5), _clock));

    /// <summary>The incarnations an application message (by label) was handed to.</summary>
    public IReadOnlySet<string> RecipientsOf(string label) => _recipients.TryGetValue(label, out var set) ? set : new HashSet<string>();

    /// <summary>The session incarnations whose keys are in the roster of <paramref name="epoch"/> (as the relay accepted it).</summary>
    public IReadOnlySet<string> MembersOfEpoch(ulong epoch) =>
        _epochMembers.TryGetValue(epoch, out var members) ? members : new HashSet<string>();

    public RoomSnapshot Snapshot() => Room.Snapshot();

    /// <summary>A client frame reaches the relay's queue (per-client FIFO, like one TLS stream).</summary>
    public void Submit(SimulatedClient from, Envelope envelope)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(envelope);
        _clients[from.ClientId] = from;
        if (!_ingress.TryGetValue(from.ClientId, out var queue))
        {
            queue = new Queue<Envelope>();
            _ingress[from.ClientId] = queue;
        }

        queue.Enqueue(envelope.Clone());
    }

    /// <summary>Processes the oldest queued frame of <paramref name="clientId"/>, as the client's connection and its room would.</summary>
    public void ProcessNext(string clientId)
    {
        var envelope = _ingress[clientId].Dequeue();
        var from = _clients[clientId];
        if (!from.IsConnected && envelope.Type != MessageType.Join)
        {
            return; // the connection closed before the frame was read
        }

        switch (envelope.Type)
        {
            case MessageType.Join:
                Trace.Add($"join {from.Incarnation}");
                _incarnationByBundleSignature[envelope.Join.Bundle.Signature] = from.Incarnation;
                Carry(Room.Join(from.ClientId, envelope.Join.Bundle, envelope.Join.PreferredSuite, from, envelope.Join.SupportedSuites, envelope.Join.KnownEpoch, envelope.Join.Invite));
                break;
            case MessageType.Leave:
                Carry(Room.Leave(from.ClientId, from, envelope.Leave));
                break;
            case MessageType.Invite:
                Carry(Room.Invite(from.ClientId, envelope.Invite, from));
                break;
            case MessageType.Commit:
                OnCommit(from, envelope.Commit);
                break;
            case MessageType.Application:
                OnApplication(from, envelope);
                break;
            case MessageType.Error when envelope.Error.Code == ErrorCode.CannotCommit:
                Trace.Add($"{from.Incarnation} cannot commit epoch {envelope.Epoch}");
                Carry(Room.DeclineCommit(from.ClientId, envelope.Epoch, from));
                break;
            case MessageType.Error:
                break; // a client's other errors are only logged by the server
            default:
                Deliver(from, ServerFrames.Error(ErrorCode.UnexpectedMessage, $"{envelope.Type} is not a client frame here", fatal: false));
                break;
        }
    }

    /// <summary>Processes every frame <paramref name="client"/> has queued (a connection closed after a flush, as a LEAVE is sent).</summary>
    public void Flush(SimulatedClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        while (_ingress.TryGetValue(client.ClientId, out var queue) && queue.Count > 0)
        {
            ProcessNext(client.ClientId);
        }
    }

    /// <summary>The client's connection dropped (not a leave: a member stays in the roster, away), and its queued frames are lost.</summary>
    public void Disconnect(SimulatedClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        Trace.Add($"disconnect {client.Incarnation}");
        client.IsConnected = false;
        if (_ingress.TryGetValue(client.ClientId, out var queue))
        {
            queue.Clear();
        }

        Carry(Room.Disconnect(client));
    }

    /// <summary>The commit deadline's timer, and the backoff's after a failed round: each fires once the clock has passed it (committer failover).</summary>
    public void Tick()
    {
        if (_deadline is { } deadline && _clock.UtcNowMs >= deadline.AtMs)
        {
            _deadline = null;
            Carry(Room.CommitDeadline(deadline.Due));
        }

        if (_retryAtMs is { } retryAt && _clock.UtcNowMs >= retryAt)
        {
            _retryAtMs = null;
            Carry(Room.CommitRetryDue());
        }
    }

    private void OnCommit(SimulatedClient from, SignedCommit commit)
    {
        var decision = Room.SubmitCommit(from.ClientId, commit, from);
        foreach (var accepted in decision.Events.OfType<EpochAccepted>())
        {
            // The committer's refreshed entry belongs to the session that made the commit.
            foreach (var member in accepted.Roster.Where(m => m.ClientId == from.ClientId))
            {
                _incarnationByBundleSignature.TryAdd(member.Bundle.Signature, from.Incarnation);
            }

            Trace.Add($"accept epoch {accepted.Epoch} by {from.Incarnation} th {Convert.ToHexString(accepted.TranscriptHash.Span)[..8]} " +
                      $"+[{string.Join(",", accepted.Added)}] -[{string.Join(",", accepted.Removed)}] rekey {accepted.Rekey}");
        }

        Carry(decision);
    }

    private void OnApplication(SimulatedClient from, Envelope envelope)
    {
        var decision = Room.Publish(from.ClientId, envelope.Epoch, envelope.Sequence, envelope.ToByteString(), from);
        if (decision.Fanout is { } fanout && LabelOf(envelope) is { } label)
        {
            FannedOut.Add(label);
            _recipients[label] = [.. fanout.Recipients.Where(r => r.ClientId != fanout.SenderId && r.Connection.IsConnected).Select(r => r.Connection.Incarnation)];
        }

        Carry(decision);
    }

    private void Carry(RoomDecision<SimulatedClient> decision)
    {
        foreach (var change in decision.Events)
        {
            switch (change)
            {
                case EpochAccepted accepted:
                    AcceptedCommits++;
                    _epochMembers[accepted.Epoch] = accepted.Roster.Select(m => _incarnationByBundleSignature.GetValueOrDefault(m.Bundle.Signature, "?")).ToHashSet();
                    break;
                case RosterReset reset:
                    Trace.Add($"reset at epoch {reset.Epoch}");
                    break;
            }
        }

        if (decision.Fanout is { } fanout)
        {
            foreach (var recipient in fanout.Recipients.Where(r => r.ClientId != fanout.SenderId))
            {
                Deliver(recipient.Connection, fanout.Frame);
            }

            Deliver(fanout.Sender, fanout.Relayed);
        }

        foreach (var effect in decision.Effects)
        {
            Carry(effect);
        }
    }

    private void Carry(RoomEffect effect)
    {
        switch (effect)
        {
            case SendFrame<SimulatedClient> send:
                var envelope = Envelope.Parser.ParseFrom(send.Frame);
                if (envelope.Type == MessageType.CommitRequest)
                {
                    Trace.Add($"ask {send.To.Incarnation} for epoch {envelope.CommitRequest.NewEpoch}");
                }

                Deliver(send.To, envelope);
                break;
            case RefuseRequest<SimulatedClient> refusal:
                if (refusal.Code == ErrorCode.CommitRejected)
                {
                    Trace.Add($"reject epoch {refusal.Epoch} from {refusal.To.Incarnation}: {refusal.Reason}");
                    RejectedCommits++;
                    LastRejection = refusal.CommitRejection;
                }

                Deliver(refusal.To, ServerFrames.Error(refusal.Code, refusal.Reason, fatal: false, RoomId, refusal.Epoch, refusal.Sequence));
                break;
            case StartCommitDeadline start:
                _deadline = (start.Due, _clock.UtcNowMs + (long)start.Delay.TotalMilliseconds);
                break;
            case CancelCommitDeadline:
                _deadline = null;
                break;
            case StartCommitRetry retry:
                _retryAtMs = _clock.UtcNowMs + (long)retry.Delay.TotalMilliseconds;
                break;
            case CancelCommitRetry:
                _retryAtMs = null;
                break;
            case RoomNote note:
                Trace.Add(note.Text);
                break;

            // Connections are objects here (nothing to watch), and the test relay's room never stops.
        }
    }

    private static void Deliver(SimulatedClient to, ByteString frame) => Deliver(to, Envelope.Parser.ParseFrom(frame));

    private static void Deliver(SimulatedClient to, Envelope envelope)
    {
        if (to.IsConnected)
        {
            to.Inbox.Add(envelope.Clone());
        }
    }
}
