using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;

namespace SecureChat.Testing.Simulation;

/// <summary>
/// A deterministic, in-memory stand-in for the server's RoomActor, following the team-brief flow:
/// JOIN → JOINED + COMMIT_REQUEST (creation for an empty room, else to the longest-present member),
/// COMMIT checks (room, epoch = current + 1, committer = sender, member or creating joiner, signature,
/// sorted roster), first valid commit per epoch wins and is relayed to old ∪ new roster including the
/// committer, APPLICATION fan-out to the other roster members for the current or previous epoch, LEAVE or
/// disconnect = pending remove, committer failover after a deadline. It only sequences; it holds no keys.
/// Frames from a client are queued (<see cref="Submit"/>) and processed one by one (<see cref="ProcessNext"/>),
/// so a test decides the interleaving.
/// </summary>
public sealed class InMemoryRelay
{
    private readonly IClock _clock;
    private readonly List<SimulatedClient> _presence = [];
    private readonly Dictionary<string, SignedBundle> _pendingAdds = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _pendingRemoves = new(StringComparer.Ordinal);
    private readonly Dictionary<ByteString, string> _incarnationByBundleSignature = [];
    private readonly Dictionary<ulong, IReadOnlySet<string>> _epochMembers = [];
    private readonly Dictionary<string, Queue<Envelope>> _ingress = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SimulatedClient> _clients = new(StringComparer.Ordinal);
    private List<SignedBundle> _roster = [];
    private List<string> _rosterIds = [];
    private OutstandingRequest? _outstanding;

    public InMemoryRelay(string roomId, IClock clock, uint commitDeadlineMs = 5_000, CipherSuite suite = CipherSuite.Unspecified)
    {
        RoomId = roomId;
        _clock = clock;
        CommitDeadlineMs = commitDeadlineMs;
        Suite = suite == CipherSuite.Unspecified ? CipherSuites.Preferred : suite;
    }

    public string RoomId { get; }

    public uint CommitDeadlineMs { get; }

    public CipherSuite Suite { get; }

    public ulong Epoch { get; private set; }

    public IReadOnlyList<string> RosterIds => _rosterIds;

    public IEnumerable<SimulatedClient> Connected => _presence;

    public int AcceptedCommits { get; private set; }

    public int MaxMembers { get; set; } = 150;

    public RelayCommitRejection LastRejection { get; private set; }

    /// <summary>What the relay did, one line per event, for diagnosing a failed seed.</summary>
    public List<string> Trace { get; } = [];

    /// <summary>Texts are not visible to the relay; tests label application envelopes by the key they pass in <see cref="LabelOf"/>.</summary>
    public Func<Envelope, string?> LabelOf { get; set; } = _ => null;

    /// <summary>Labels of the application messages the relay accepted and fanned out.</summary>
    public HashSet<string> FannedOut { get; } = [];

    private readonly Dictionary<string, HashSet<string>> _recipients = [];

    /// <summary>The incarnations an application message (by label) was handed to.</summary>
    public IReadOnlySet<string> RecipientsOf(string label) => _recipients.TryGetValue(label, out var set) ? set : new HashSet<string>();

    public int RejectedCommits { get; private set; }

    /// <summary>The session incarnations whose keys are in the roster of <paramref name="epoch"/> (as the relay accepted it).</summary>
    public IReadOnlySet<string> MembersOfEpoch(ulong epoch) =>
        _epochMembers.TryGetValue(epoch, out var members) ? members : new HashSet<string>();

    public bool HasIngress => _ingress.Values.Any(q => q.Count > 0);

    public IReadOnlyList<string> ClientsWithIngress => _ingress.Where(q => q.Value.Count > 0).Select(q => q.Key).ToList();

    /// <summary>A client frame reaches the relay's queue (per-client FIFO, like one TLS stream).</summary>
    public void Submit(SimulatedClient from, Envelope envelope)
    {
        _clients[from.ClientId] = from;
        if (!_ingress.TryGetValue(from.ClientId, out var queue))
        {
            queue = new Queue<Envelope>();
            _ingress[from.ClientId] = queue;
        }

        queue.Enqueue(envelope.Clone());
    }

    /// <summary>Processes the oldest queued frame of <paramref name="clientId"/>.</summary>
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
                OnJoin(from, envelope);
                break;
            case MessageType.Leave:
                Disconnect(from);
                break;
            case MessageType.Commit:
                OnCommit(from, envelope);
                break;
            case MessageType.Application:
                OnApplication(from, envelope);
                break;
            default:
                SendError(from, ErrorCode.UnexpectedMessage, 0);
                break;
        }
    }

    /// <summary>The client's connection dropped: a pending remove, its queued frames are lost.</summary>
    public void Disconnect(SimulatedClient client)
    {
        Trace.Add($"disconnect {client.Incarnation}");
        client.IsConnected = false;
        _presence.Remove(client);
        if (_ingress.TryGetValue(client.ClientId, out var queue))
        {
            queue.Clear();
        }

        _pendingAdds.Remove(client.ClientId);
        if (RosterIds.Contains(client.ClientId))
        {
            _pendingRemoves.Add(client.ClientId);
        }

        if (_outstanding is { } outstanding && outstanding.Committer == client.ClientId)
        {
            _outstanding = outstanding with { Committer = "" };
            AskNext(outstanding.Tried);
            return;
        }

        MaybeRequestCommit();
    }

    /// <summary>Committer failover: asks the next member when the asked one let the deadline pass.</summary>
    public void Tick()
    {
        if (_outstanding is { } outstanding && _clock.UtcNowMs - outstanding.AskedAtMs >= CommitDeadlineMs)
        {
            AskNext(outstanding.Tried);
        }
    }

    private void OnJoin(SimulatedClient from, Envelope envelope)
    {
        var bundle = envelope.Join.Bundle;
        if (Bundles.VerifyFor(bundle, envelope.SenderId, _clock.UtcNowMs, out _) != BundleRejection.None)
        {
            SendError(from, ErrorCode.BadBundle, 0);
            return;
        }

        Trace.Add($"join {from.Incarnation}");
        from.IsConnected = true;
        if (!_presence.Contains(from))
        {
            _presence.Add(from);
        }

        _incarnationByBundleSignature[bundle.Signature] = from.Incarnation;
        _pendingAdds[from.ClientId] = bundle;
        if (RosterIds.Contains(from.ClientId))
        {
            _pendingRemoves.Add(from.ClientId); // reconnect with a new key: remove and re-add in one commit
        }

        Deliver(from, new Envelope
        {
            Version = 1, Type = MessageType.Joined, RoomId = RoomId,
            Joined = new Joined { CurrentEpoch = Epoch, MemberCount = (uint)_roster.Count },
        });
        MaybeRequestCommit();
    }

    private void OnCommit(SimulatedClient from, Envelope envelope)
    {
        var signed = envelope.Commit;
        var creating = _roster.Count == 0;
        var creator = _outstanding is { } o && creating ? o.Committer : null;
        var verdict = RelayChecks.CheckCommit(signed, RoomId, from.ClientId, Epoch, _roster, creator, MaxMembers, out var accepted);
        if (verdict != RelayCommitRejection.None)
        {
            LastRejection = verdict;
            Reject(from, accepted?.Content.Epoch ?? SafeEpoch(signed));
            return;
        }

        var content = accepted!.Content;
        var ids = accepted.RosterIds.ToList();

        // First valid commit for the epoch wins.
        var oldIds = _rosterIds.ToHashSet(StringComparer.Ordinal);
        var oldMembers = _presence.Where(c => oldIds.Contains(c.ClientId)).ToList();
        var committerIncarnation = from.Incarnation;
        foreach (var bundle in content.Roster.Where(b => BundleContent.Parser.ParseFrom(b.Content).ClientId == from.ClientId))
        {
            _incarnationByBundleSignature[bundle.Signature] = committerIncarnation;
        }

        Trace.Add($"accept epoch {content.Epoch} by {from.Incarnation} prev {Convert.ToHexString(content.PreviousTranscriptHash.Span)[..8]} " +
                  $"+[{string.Join(",", content.Added.Select(b => BundleContent.Parser.ParseFrom(b.Content).ClientId))}] -[{string.Join(",", content.Removed)}] rekey {content.Rekey}");
        Epoch = content.Epoch;
        _roster = [.. content.Roster];
        _rosterIds = ids;
        AcceptedCommits++;
        _epochMembers[Epoch] = _roster.Select(b => _incarnationByBundleSignature.GetValueOrDefault(b.Signature, "?")).ToHashSet();
        foreach (var (id, pending) in _pendingAdds.ToList())
        {
            if (content.Roster.Contains(pending))
            {
                _pendingAdds.Remove(id);
            }
        }

        _pendingRemoves.RemoveWhere(id => !ids.Contains(id) || content.Removed.Contains(id));

        // A bundle admitted after its connection dropped (or was replaced by a reconnect) is a stale member:
        // it gets removed by the next commit, and a reconnected client is re-added with its new key.
        foreach (var id in ids)
        {
            if (!_presence.Any(c => c.ClientId == id) || _pendingAdds.ContainsKey(id))
            {
                _pendingRemoves.Add(id);
            }
        }

        _outstanding = null;
        var relayed = new Envelope
        {
            Version = 1, Type = MessageType.Commit, SenderId = from.ClientId, RoomId = RoomId, Epoch = Epoch, Commit = signed,
        };
        var recipients = oldMembers.Concat(_presence.Where(c => ids.Contains(c.ClientId))).Distinct();
        foreach (var client in recipients)
        {
            Deliver(client, relayed);
        }

        MaybeRequestCommit();
    }

    private static ulong SafeEpoch(SignedCommit commit)
    {
        try
        {
            return CommitContent.Parser.ParseFrom(commit.Content).Epoch;
        }
        catch (InvalidProtocolBufferException)
        {
            return 0;
        }
    }

    private void OnApplication(SimulatedClient from, Envelope envelope)
    {
        var ids = RosterIds;
        if (!ids.Contains(from.ClientId))
        {
            SendError(from, ErrorCode.NotAMember, envelope.Epoch);
            return;
        }

        if (envelope.Epoch != Epoch && envelope.Epoch + 1 != Epoch)
        {
            SendError(from, ErrorCode.StaleEpoch, envelope.Epoch);
            return;
        }

        var label = LabelOf(envelope);
        var handed = new HashSet<string>();
        foreach (var client in _presence.Where(c => c != from && ids.Contains(c.ClientId)))
        {
            Deliver(client, envelope);
            handed.Add(client.Incarnation);
        }

        if (label is not null)
        {
            FannedOut.Add(label);
            _recipients[label] = handed;
        }
    }

    private void MaybeRequestCommit()
    {
        if (_outstanding is not null || (_pendingAdds.Count == 0 && _pendingRemoves.Count == 0))
        {
            return;
        }

        AskNext(new HashSet<string>(StringComparer.Ordinal));
    }

    private void AskNext(HashSet<string> tried)
    {
        var ids = RosterIds;
        if (ids.Count > 0 && !_presence.Any(c => ids.Contains(c.ClientId) && !_pendingRemoves.Contains(c.ClientId)))
        {
            // Nobody left who can commit: the room resets its roster but keeps counting epochs.
            Trace.Add($"reset at epoch {Epoch}");
            _roster = [];
            _rosterIds = [];
            _pendingRemoves.Clear();
            ids = [];
        }

        _outstanding = null;
        if (_pendingAdds.Count == 0 && _pendingRemoves.Count == 0)
        {
            return;
        }

        CommitRequest request;
        SimulatedClient? committer;
        if (ids.Count == 0)
        {
            committer = _presence.FirstOrDefault(c => _pendingAdds.ContainsKey(c.ClientId) && !tried.Contains(c.ClientId))
                ?? _presence.FirstOrDefault(c => _pendingAdds.ContainsKey(c.ClientId));
            if (committer is null)
            {
                return;
            }

            request = new CommitRequest { NewEpoch = Epoch + 1, DeadlineMs = CommitDeadlineMs, Suite = Suite };
            request.Adds.Add(_pendingAdds[committer.ClientId]);
        }
        else
        {
            var candidates = _presence.Where(c => ids.Contains(c.ClientId) && !_pendingRemoves.Contains(c.ClientId)).ToList();
            committer = candidates.FirstOrDefault(c => !tried.Contains(c.ClientId)) ?? candidates.FirstOrDefault();
            if (committer is null)
            {
                return;
            }

            if (candidates.All(c => tried.Contains(c.ClientId)))
            {
                tried.Clear();
            }

            request = new CommitRequest { NewEpoch = Epoch + 1, DeadlineMs = CommitDeadlineMs, Suite = Suite };
            request.Adds.AddRange(_pendingAdds.Values);
            request.Removes.AddRange(_pendingRemoves.Where(ids.Contains));
        }

        Trace.Add($"ask {committer.Incarnation} for epoch {Epoch + 1}");
        tried.Add(committer.ClientId);
        _outstanding = new OutstandingRequest(Epoch + 1, committer.ClientId, _clock.UtcNowMs, tried);
        Deliver(committer, new Envelope { Version = 1, Type = MessageType.CommitRequest, RoomId = RoomId, Epoch = Epoch + 1, CommitRequest = request });
    }

    private void Reject(SimulatedClient from, ulong epoch)
    {
        Trace.Add($"reject epoch {epoch} from {from.Incarnation}");
        RejectedCommits++;
        SendError(from, ErrorCode.CommitRejected, epoch);
    }

    private void SendError(SimulatedClient to, ErrorCode code, ulong epoch) =>
        Deliver(to, new Envelope
        {
            Version = 1, Type = MessageType.Error, RoomId = RoomId, Epoch = epoch,
            Error = new Error { Code = code, Reason = code.ToString(), Fatal = false },
        });

    private static void Deliver(SimulatedClient to, Envelope envelope)
    {
        if (to.IsConnected)
        {
            to.Inbox.Add(envelope.Clone());
        }
    }

    private sealed record OutstandingRequest(ulong Epoch, string Committer, long AskedAtMs, HashSet<string> Tried);
}
