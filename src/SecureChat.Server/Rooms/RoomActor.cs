using Akka.Actor;
using Akka.Event;
using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Server.Connections;

namespace SecureChat.Server.Rooms;

/// <summary>
/// One chat room: the sequencer of the group-key protocol. It keeps the roster as the last accepted
/// commit states it, the members' public bundles, the epoch, and the connection of each member; asks one
/// member at a time to commit pending joins and leaves, failing over when none arrives in time; accepts
/// the first valid commit of each epoch; and fans ciphertext out. It holds no key that opens a message.
/// It talks to members only through their connections' IActorRefs, so it may live on another node.
/// </summary>
public sealed class RoomActor : ReceiveActor, IWithTimers
{
    private readonly string _roomId;
    private readonly RoomSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    private readonly SortedDictionary<string, VerifiedBundle> _roster = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Member> _connected = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PendingJoin> _pendingAdds = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _pendingRemoves = new(StringComparer.Ordinal);
    private readonly HashSet<string> _triedCommitters = new(StringComparer.Ordinal);

    private ulong _epoch;
    private CipherSuite _suite;
    private long _arrivals;
    private OpenRequest? _request;

    // Roster members that are connected, in roster order: what a publish fans out to. Rebuilt only when
    // the roster or the connections change, so a publish costs no lookups and no allocation per member.
    private Recipient[]? _recipients;

    public RoomActor(string roomId, ulong startEpoch, RoomSettings settings)
    {
        _roomId = roomId;
        _epoch = startEpoch;
        _settings = settings;

        Receive<Join>(OnJoin);
        Receive<Leave>(OnLeave);
        Receive<SubmitCommit>(OnSubmitCommit);
        Receive<Publish>(OnPublish);
        Receive<Terminated>(OnTerminated);
        Receive<CommitDeadline>(OnCommitDeadline);
        Receive<PassivateIfEmpty>(_ => OnPassivateIfEmpty());
        Receive<GetState>(_ => Sender.Tell(Snapshot()));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string roomId, ulong startEpoch, RoomSettings settings) =>
        Akka.Actor.Props.Create(() => new RoomActor(roomId, startEpoch, settings));

    protected override void PreStart() => SchedulePassivationIfEmpty();

    private void OnJoin(Join join)
    {
        if (_connected.TryGetValue(join.ClientId, out var existing) && existing.Connection.Equals(join.Connection))
        {
            Refuse(join.Connection, ErrorCode.UnexpectedMessage, "already joined this room", notInRoom: false);
            return;
        }

        var bundle = new SignedBundle { Content = join.BundleContent, Signature = join.BundleSignature };
        if (!BundleCheck.TryVerify(bundle, join.ClientId, _settings.Clock.GetUtcNow(), out var verified, out var reason))
        {
            Refuse(join.Connection, ErrorCode.BadBundle, reason, notInRoom: true);
            return;
        }

        if (existing is not null)
        {
            // The same client from a new connection (a reconnect the server has not noticed yet): the old one leaves.
            _log.Info("Room {0}: {1} joined again from a new connection; the old one leaves", _roomId, join.ClientId);
            Depart(join.ClientId, existing.Connection);
        }

        if (_connected.Count >= _settings.MaxMembers)
        {
            Refuse(join.Connection, ErrorCode.RoomFull, $"room has the maximum of {_settings.MaxMembers} members", notInRoom: true);
            return;
        }

        Timers.Cancel(PassivateIfEmpty.Instance);
        Context.Watch(join.Connection);
        _connected[join.ClientId] = new Member(join.Connection, ++_arrivals);
        _recipients = null;
        _pendingAdds[join.ClientId] = new PendingJoin(verified, join.PreferredSuite);
        if (_roster.ContainsKey(join.ClientId))
        {
            _pendingRemoves.Add(join.ClientId); // remove and re-add: a new key for a returning member
        }

        join.Connection.Tell(new ConnectionActor.RoomFrame(_roomId, ServerFrames.Joined(_roomId, _epoch, _roster.Count)));
        RequestCommitIfNeeded();
    }

    private void OnLeave(Leave leave)
    {
        if (_connected.TryGetValue(leave.ClientId, out var member) && member.Connection.Equals(leave.Connection))
        {
            Depart(leave.ClientId, leave.Connection);
            RequestCommitIfNeeded();
            SchedulePassivationIfEmpty();
        }
    }

    private void OnTerminated(Terminated terminated)
    {
        var departed = _connected.Where(pair => pair.Value.Connection.Equals(terminated.ActorRef)).Select(pair => pair.Key).ToList();
        foreach (var clientId in departed)
        {
            Depart(clientId, terminated.ActorRef);
        }

        RequestCommitIfNeeded();
        SchedulePassivationIfEmpty();
    }

    private void OnSubmitCommit(SubmitCommit submit)
    {
        if (!IsConnected(submit.ClientId, submit.Connection))
        {
            Refuse(submit.Connection, ErrorCode.NotAMember, "not a member of this room", notInRoom: true);
            return;
        }

        var view = new RoomView(_roomId, _epoch, _suite, _roster, _pendingAdds.ToDictionary(p => p.Key, p => p.Value.Bundle, StringComparer.Ordinal),
            _pendingRemoves, _settings.MaxMembers)
        {
            RequestedAdds = _request?.Adds ?? [],
        };
        if (!CommitCheck.TryAccept(view, submit.ClientId, submit.Content, submit.Signature, out var accepted, out var reason))
        {
            // Logged once, by the connection, which knows the peer's address. The epoch lets the client drop its pending commit.
            submit.Connection.Tell(new ConnectionActor.RoomError(_roomId, ErrorCode.CommitRejected, reason, NotInRoom: false, CommitCheck.EpochOf(submit.Content)));
            return;
        }

        var previousRoster = _roster.Keys.ToList();
        Apply(accepted);
        _log.Info("Room {0}: epoch {1} committed by {2} ({3} members, {4})", _roomId, _epoch, submit.ClientId, _roster.Count,
            accepted.Rekey ? "rekey" : $"+{accepted.Added.Count} -{accepted.Removed.Count}");

        var frame = ServerFrames.Commit(_roomId, submit.ClientId, accepted.Epoch, accepted.Suite, submit.Content, submit.Signature);
        foreach (var clientId in previousRoster.Union(_roster.Keys, StringComparer.Ordinal))
        {
            if (_connected.TryGetValue(clientId, out var member))
            {
                member.Connection.Tell(new ConnectionActor.RoomFrame(_roomId, frame));
            }
        }

        RequestCommitIfNeeded();
    }

    private void OnPublish(Publish publish)
    {
        if (!IsConnected(publish.ClientId, publish.Connection) || !_roster.ContainsKey(publish.ClientId) || _pendingRemoves.Contains(publish.ClientId))
        {
            Refuse(publish.Connection, ErrorCode.NotAMember, "not in the room's current roster", notInRoom: false);
            return;
        }

        // The current epoch, or the one before while a commit is still reaching everyone.
        if (publish.Epoch != _epoch && publish.Epoch + 1 != _epoch)
        {
            Refuse(publish.Connection, ErrorCode.StaleEpoch, $"epoch {publish.Epoch} is not the room's epoch {_epoch}", notInRoom: false);
            return;
        }

        var frame = new ConnectionActor.RoomFrame(_roomId, publish.Envelope);
        foreach (var recipient in Recipients())
        {
            if (!string.Equals(recipient.ClientId, publish.ClientId, StringComparison.Ordinal))
            {
                recipient.Connection.Tell(frame);
            }
        }
    }

    private Recipient[] Recipients() =>
        _recipients ??= [.. _roster.Keys.Where(_connected.ContainsKey).Select(id => new Recipient(id, _connected[id].Connection))];

    private void OnCommitDeadline(CommitDeadline deadline)
    {
        if (_request is null || _request.NewEpoch != deadline.NewEpoch || _request.CommitterId != deadline.CommitterId || _epoch >= deadline.NewEpoch)
        {
            return;
        }

        _log.Info("Room {0}: no commit for epoch {1} from {2} in time; asking the next member", _roomId, deadline.NewEpoch, deadline.CommitterId);
        _triedCommitters.Add(deadline.CommitterId);
        _request = null;
        RequestCommitIfNeeded();
    }

    private void OnPassivateIfEmpty()
    {
        if (_connected.Count == 0)
        {
            _log.Debug("Room {0}: empty after the grace period, passivating at epoch {1}", _roomId, _epoch);
            Context.Parent.Tell(new RoomRegistry.Passivate(_roomId, _epoch));
        }
    }

    private void Depart(string clientId, IActorRef connection)
    {
        _connected.Remove(clientId);
        _recipients = null;
        Context.Unwatch(connection);
        _pendingAdds.Remove(clientId);
        if (_roster.ContainsKey(clientId))
        {
            _pendingRemoves.Add(clientId);
        }

        if (_request is not null && _request.CommitterId == clientId)
        {
            _triedCommitters.Add(clientId);
            Timers.Cancel(CommitDeadline.Key);
            _request = null;
        }
    }

    private void Apply(AcceptedCommit accepted)
    {
        _epoch = accepted.Epoch;
        _suite = accepted.Suite;
        _roster.Clear();
        foreach (var bundle in accepted.Roster)
        {
            _roster[bundle.ClientId] = bundle;
        }

        _recipients = null;

        foreach (var removed in accepted.Removed)
        {
            _pendingRemoves.Remove(removed);
        }

        foreach (var added in accepted.Added)
        {
            if (_pendingAdds.TryGetValue(added, out var pending) && _connected.ContainsKey(added) && _roster[added].Content.Equals(pending.Bundle.Content))
            {
                _pendingAdds.Remove(added);
                _pendingRemoves.Remove(added); // a remove-and-re-add is done by the same commit
            }
            else
            {
                // Admitted after its connection left, or with the key of a connection since replaced: remove it again.
                _pendingRemoves.Add(added);
            }
        }

        _triedCommitters.Clear();
        if (_request is not null)
        {
            Timers.Cancel(CommitDeadline.Key);
            _request = null;
        }
    }

    /// <summary>Asks one member to commit the pending joins and leaves, unless a request is already open.</summary>
    private void RequestCommitIfNeeded()
    {
        if (_request is not null)
        {
            return;
        }

        ResetRosterIfAbandoned();
        if (_pendingAdds.Count == 0 && _pendingRemoves.Count == 0)
        {
            return;
        }

        var creating = _roster.Count == 0;
        var candidates = creating
            ? _pendingAdds.Keys.Where(id => _connected.ContainsKey(id))
            : _roster.Keys.Where(id => _connected.ContainsKey(id) && !_pendingRemoves.Contains(id));
        var ordered = candidates.OrderBy(id => _connected[id].Arrival).ToList();
        if (ordered.Count == 0)
        {
            return;
        }

        var committer = ordered.FirstOrDefault(id => !_triedCommitters.Contains(id));
        if (committer is null)
        {
            // Everyone was asked once; start the round again rather than leave the joiners waiting forever.
            _triedCommitters.Clear();
            committer = ordered[0];
        }

        var request = new CommitRequest
        {
            NewEpoch = _epoch + 1,
            DeadlineMs = (uint)Math.Min(uint.MaxValue, _settings.CommitTimeout.TotalMilliseconds),
        };
        if (creating)
        {
            var creator = _pendingAdds[committer];
            request.Adds.Add(creator.Bundle.ToSignedBundle());
            request.Suite = creator.PreferredSuite is CipherSuite.Unspecified || !Enum.IsDefined(creator.PreferredSuite)
                ? CipherSuites.Preferred
                : creator.PreferredSuite;
        }
        else
        {
            request.Adds.AddRange(_pendingAdds.OrderBy(p => _connected[p.Key].Arrival).Select(p => p.Value.Bundle.ToSignedBundle()));
            request.Removes.AddRange(_pendingRemoves);
            request.Suite = _suite;
        }

        _request = new OpenRequest(_epoch + 1, committer, creating ? [_pendingAdds[committer].Bundle] : [.. _pendingAdds.Values.Select(p => p.Bundle)]);
        _connected[committer].Connection.Tell(new ConnectionActor.RoomFrame(_roomId, ServerFrames.CommitRequest(_roomId, _epoch, request)));
        Timers.StartSingleTimer(CommitDeadline.Key, new CommitDeadline(_epoch + 1, committer), _settings.CommitTimeout);
    }

    /// <summary>
    /// When no roster member is connected any more (or the only ones are re-joining with new keys),
    /// nobody can commit their removal: the roster is dropped and the next joiner creates the room afresh at the next epoch number (never a used one).
    /// </summary>
    private void ResetRosterIfAbandoned()
    {
        if (_roster.Count > 0 && _roster.Keys.All(id => !_connected.ContainsKey(id) || _pendingRemoves.Contains(id)))
        {
            _log.Info("Room {0}: every member has left; the next joiner re-creates the room after epoch {1}", _roomId, _epoch);
            _roster.Clear();
            _recipients = null;
            _pendingRemoves.Clear();
            _suite = CipherSuite.Unspecified;
            _triedCommitters.Clear();
        }
    }

    private void SchedulePassivationIfEmpty()
    {
        if (_connected.Count == 0)
        {
            Timers.StartSingleTimer(PassivateIfEmpty.Instance, PassivateIfEmpty.Instance, _settings.EmptyRoomGracePeriod);
        }
    }

    private bool IsConnected(string clientId, IActorRef connection) =>
        _connected.TryGetValue(clientId, out var member) && member.Connection.Equals(connection);

    private void Refuse(IActorRef connection, ErrorCode code, string reason, bool notInRoom) =>
        connection.Tell(new ConnectionActor.RoomError(_roomId, code, reason, notInRoom));

    private State Snapshot() => new(
        _roomId,
        _epoch,
        [.. _roster.Keys],
        [.. _connected.OrderBy(p => p.Value.Arrival).Select(p => p.Key)],
        _request?.CommitterId,
        [.. _pendingAdds.Keys.Order(StringComparer.Ordinal)],
        [.. _pendingRemoves]);

    /// <summary>A client asks to join; the room checks its bundle and admits it through the next commit.</summary>
    public sealed record Join(string RoomId, string ClientId, ByteString BundleContent, ByteString BundleSignature, CipherSuite PreferredSuite, IActorRef Connection) : IWithRoomId;

    public sealed record Leave(string RoomId, string ClientId, IActorRef Connection) : IWithRoomId;

    public sealed record SubmitCommit(string RoomId, string ClientId, ByteString Content, ByteString Signature, IActorRef Connection) : IWithRoomId;

    /// <summary>An APPLICATION envelope, as received, to fan out to the other members.</summary>
    public sealed record Publish(string RoomId, string ClientId, ulong Epoch, ByteString Envelope, IActorRef Connection) : IWithRoomId;

    public sealed record GetState(string RoomId) : IWithRoomId;

    public sealed record State(
        string RoomId,
        ulong Epoch,
        IReadOnlyList<string> Roster,
        IReadOnlyList<string> Connected,
        string? AskedCommitter,
        IReadOnlyList<string> PendingAdds,
        IReadOnlyList<string> PendingRemoves);

    private sealed record Member(IActorRef Connection, long Arrival);

    private sealed record Recipient(string ClientId, IActorRef Connection);

    private sealed record PendingJoin(VerifiedBundle Bundle, CipherSuite PreferredSuite);

    private sealed record OpenRequest(ulong NewEpoch, string CommitterId, IReadOnlyList<VerifiedBundle> Adds);

    private sealed record CommitDeadline(ulong NewEpoch, string CommitterId)
    {
        public const string Key = "commit-deadline";
    }

    private sealed class PassivateIfEmpty
    {
        public static readonly PassivateIfEmpty Instance = new();

        private PassivateIfEmpty()
        {
        }
    }
}
