using Akka.Actor;
using Google.Protobuf;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Relay;
using SecureChat.Server.Messaging;
using SecureChat.Server.Relays;

namespace SecureChat.Server.Rooms;

/// <summary>
/// A room's side of its members' node relays: which relays subscribed, which connection sits behind which relay, and
/// how each frame the room state decided to send gets there. A relayed message goes to each relay once, for all its
/// recipients; frames for several connections behind one relay (a commit) go once with their names; everything sent
/// to a relay is numbered in order, so the relay notices a message that went missing. Connections that reached the
/// room without a relay get their frames directly. No rule of the room is here: what to send to whom is the room
/// state's decision; this only finds the way. Plain and single-threaded, driven by <see cref="RoomActor"/>.
/// </summary>
public sealed class RoomRelayRoutes
{
    private readonly string _roomId;
    private readonly long _incarnation;
    private readonly Dictionary<IActorRef, Route> _relays = [];
    private readonly Dictionary<IActorRef, MemberLink> _watched = [];
    private IReadOnlyList<RoomRecipient<MemberLink>>? _grouped;
    private RoomRecipient<MemberLink>[] _direct = [];

    // The frame being gathered for several connections behind one relay (consecutive sends of one frame).
    private IActorRef? _batchRelay;
    private ByteString? _batchFrame;
    private List<IActorRef>? _batchConnections;

    public RoomRelayRoutes(string roomId, long incarnation)
    {
        _roomId = roomId;
        _incarnation = incarnation;
    }

    /// <summary>What the room is to send, in order: the actor tells each message to its target.</summary>
    public List<(IActorRef To, object Message)> Outgoing { get; } = [];

    public bool IsRelay(IActorRef actor) => _relays.ContainsKey(actor);

    /// <summary>A relay subscribes (again): the acknowledgement carries the number of the last message already sent to it.</summary>
    /// <returns>Whether the relay is new (the room watches it).</returns>
    public bool Subscribe(IActorRef relay)
    {
        var added = false;
        if (!_relays.TryGetValue(relay, out var route))
        {
            _relays[relay] = route = new Route();
            added = true;
        }

        Outgoing.Add((relay, new RelaySubscribed(_roomId, _incarnation, route.Sequence)));
        return added;
    }

    /// <summary>A relay ended (its node left, or it stopped): the links through it, which the room state must disconnect.</summary>
    public IReadOnlyList<MemberLink> RemoveRelay(IActorRef relay)
    {
        if (!_relays.Remove(relay))
        {
            return [];
        }

        _grouped = null;
        return [.. _watched.Values.Where(link => relay.Equals(link.Relay))];
    }

    /// <summary>
    /// The link of a connection that sent the room something: the one it joined with while it is connected, else
    /// through <paramref name="sender"/> when that is a subscribed relay, else direct.
    /// </summary>
    public MemberLink LinkOf(IActorRef connection, IActorRef sender) =>
        _watched.TryGetValue(connection, out var link) ? link : new MemberLink(connection, _relays.ContainsKey(sender) ? sender : null);

    /// <summary>The link of a watched connection whose actor ended, if it is still watched.</summary>
    public MemberLink? Watched(IActorRef connection) => _watched.GetValueOrDefault(connection);

    public void Watch(MemberLink link) => _watched[link.Connection] = link;

    public void Unwatch(MemberLink link) => _watched.Remove(link.Connection);

    /// <summary>A relayed application envelope: once to each relay with recipients, directly to the others.</summary>
    public void Fanout(RoomFanout<MemberLink> fanout)
    {
        Flush();
        if (!ReferenceEquals(fanout.Recipients, _grouped))
        {
            Regroup(fanout.Recipients);
        }

        foreach (var (relay, route) in _relays)
        {
            if (route.Recipients.Length > 0 && !OnlySender(route.Recipients, fanout.SenderId))
            {
                Outgoing.Add((relay, new RelayBroadcast(_roomId, ++route.Sequence, fanout.Frame, fanout.SenderId)));
            }
        }

        foreach (var recipient in _direct)
        {
            if (!string.Equals(recipient.ClientId, fanout.SenderId, StringComparison.Ordinal))
            {
                Outgoing.Add((recipient.Connection.Connection, new RoomFrame(_roomId, fanout.Frame)));
            }
        }
    }

    /// <summary>One frame for one connection; consecutive sends of the same frame through one relay travel together.</summary>
    public void Send(MemberLink to, ByteString frame)
    {
        if (to.Relay is not { } relay || !_relays.ContainsKey(relay))
        {
            Flush();
            Outgoing.Add((to.Connection, new RoomFrame(_roomId, frame)));
            return;
        }

        if (!relay.Equals(_batchRelay) || !ReferenceEquals(frame, _batchFrame))
        {
            Flush();
            _batchRelay = relay;
            _batchFrame = frame;
            _batchConnections = [];
        }

        _batchConnections!.Add(to.Connection);
    }

    public void Refuse(MemberLink to, ErrorCode code, string reason, bool notInRoom, ulong epoch, ulong sequence)
    {
        Flush();
        if (to.Relay is { } relay && _relays.TryGetValue(relay, out var route))
        {
            Outgoing.Add((relay, new RelayRefusal(_roomId, ++route.Sequence, to.Connection, code, reason, notInRoom, epoch, sequence)));
        }
        else
        {
            Outgoing.Add((to.Connection, new RoomError(_roomId, code, reason, notInRoom, epoch, sequence)));
        }
    }

    /// <summary>Sends the frame being gathered; call before telling <see cref="Outgoing"/>.</summary>
    public void Flush()
    {
        if (_batchRelay is { } relay && _relays.TryGetValue(relay, out var route))
        {
            Outgoing.Add((relay, new RelayFrame(_roomId, ++route.Sequence, _batchFrame!, _batchConnections!)));
        }

        _batchRelay = null;
        _batchFrame = null;
        _batchConnections = null;
    }

    private static bool OnlySender(RoomRecipient<MemberLink>[] recipients, string senderId) =>
        recipients.Length == 1 && string.Equals(recipients[0].ClientId, senderId, StringComparison.Ordinal);

    /// <summary>The room's recipients changed: each relay whose share changed is told its new list before the next broadcast.</summary>
    private void Regroup(IReadOnlyList<RoomRecipient<MemberLink>> recipients)
    {
        _grouped = recipients;
        var direct = new List<RoomRecipient<MemberLink>>();
        var shares = new Dictionary<IActorRef, List<RoomRecipient<MemberLink>>>();
        for (var i = 0; i < recipients.Count; i++)
        {
            var recipient = recipients[i];
            if (recipient.Connection.Relay is { } relay && _relays.ContainsKey(relay))
            {
                if (!shares.TryGetValue(relay, out var share))
                {
                    shares[relay] = share = [];
                }

                share.Add(recipient);
            }
            else
            {
                direct.Add(recipient);
            }
        }

        _direct = [.. direct];
        foreach (var (relay, route) in _relays)
        {
            RoomRecipient<MemberLink>[] share = shares.TryGetValue(relay, out var list) ? [.. list] : [];
            if (!share.SequenceEqual(route.Recipients))
            {
                route.Recipients = share;
                Outgoing.Add((relay, new RelayRecipients(_roomId, ++route.Sequence,
                    [.. share.Select(recipient => new RelayMember(recipient.ClientId, recipient.Connection.Connection))])));
            }
        }
    }

    private sealed class Route
    {
        public long Sequence { get; set; }

        public RoomRecipient<MemberLink>[] Recipients { get; set; } = [];
    }
}
