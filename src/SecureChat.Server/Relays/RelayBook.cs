namespace SecureChat.Server.Relays;

/// <summary>
/// What a node's relay of one room knows about the connections that joined the room through it, and about the
/// room incarnation it is subscribed to: which joins that incarnation has answered (the member has heard from it),
/// which it has not yet, and the number of the next message it should send. Plain and deterministic, driven by
/// <see cref="RoomRelayActor"/>, which only routes.
/// <list type="bullet">
/// <item>A room incarnation that ends (its node left, it moved, it passivated) took its members with it: the ones it
/// had answered are told to join again (<see cref="RoomEnded"/>); joins it never answered are sent again to the next
/// incarnation, so their clients never see the difference.</item>
/// <item>A message numbered out of turn means some were lost on the way (a message too large for the cluster
/// transport is dropped by it): every member leaves and is told to join again (<see cref="Check"/>).</item>
/// </list>
/// </summary>
/// <typeparam name="TConnection">How the relay addresses a connection.</typeparam>
/// <typeparam name="TJoin">A join as the connection sent it, kept to send it again.</typeparam>
public sealed class RelayBook<TConnection, TJoin>
    where TConnection : notnull
{
    /// <summary>Why a member who had heard from an incarnation that ended is no longer in the room.</summary>
    public const string RoomEndedReason = "the room restarted (its server left the cluster, or it moved); join again";

    /// <summary>Why every member is told to join again after a message from the room went missing.</summary>
    public const string GapReason = "messages from the room were lost on the way to this server; join again";

    /// <summary>The answer to traffic from a connection the relay carries nothing for (it left, or the room ended a moment ago).</summary>
    public const string NotCarriedReason = "not in the room through this server (it may have just restarted)";

    private readonly Dictionary<TConnection, Member> _members = [];

    /// <summary>Whether an incarnation has acknowledged the subscription (and not ended since).</summary>
    public bool Subscribed { get; private set; }

    /// <summary>The number the next message from the incarnation must carry.</summary>
    public long ExpectedSequence { get; private set; }

    public bool IsEmpty => _members.Count == 0;

    public int Count => _members.Count;

    /// <summary>A connection's join, on its way to the room (now, or once subscribed). A second join from it replaces the first.</summary>
    public void Joined(TConnection connection, string clientId, TJoin join) => _members[connection] = new Member(clientId, join);

    /// <summary>The connection left the room, or ended: the relay carries nothing more for it. False if it carried nothing.</summary>
    public bool Left(TConnection connection) => _members.Remove(connection);

    public bool Carries(TConnection connection) => _members.ContainsKey(connection);

    /// <summary>The incarnation sent this connection something (its JOINED first): it is in that incarnation's room.</summary>
    public void Heard(TConnection connection)
    {
        if (_members.TryGetValue(connection, out var member))
        {
            member.Heard = true;
        }
    }

    /// <summary>The room refused the connection a request; one that is not in the room is carried no longer. True when it left.</summary>
    public bool Refused(TConnection connection, bool notInRoom)
    {
        if (notInRoom)
        {
            return _members.Remove(connection);
        }

        Heard(connection);
        return false;
    }

    /// <summary>An incarnation acknowledged the subscription: the joins that wait for it (none has been answered yet), in no particular order.</summary>
    public IReadOnlyList<TJoin> Subscribe(long lastSequence)
    {
        Subscribed = true;
        ExpectedSequence = lastSequence + 1;
        return [.. _members.Values.Where(m => !m.Heard).Select(m => m.Join)];
    }

    /// <summary>
    /// The incarnation ended: the members it had answered are out of the room (the caller tells them to join again,
    /// <see cref="RoomEndedReason"/>); those still waiting stay, for the next incarnation.
    /// </summary>
    public IReadOnlyList<(TConnection Connection, string ClientId)> RoomEnded()
    {
        Subscribed = false;
        var gone = _members.Where(pair => pair.Value.Heard).Select(pair => (pair.Key, pair.Value.ClientId)).ToList();
        foreach (var (connection, _) in gone)
        {
            _members.Remove(connection);
        }

        return gone;
    }

    /// <summary>
    /// The number of a message from the incarnation. In turn: true. Out of turn: false, and every member is out (the
    /// caller has the room drop them and tells them to join again, <see cref="GapReason"/>), listed in <paramref name="dropped"/>.
    /// </summary>
    public bool Check(long sequence, out IReadOnlyList<(TConnection Connection, string ClientId)> dropped)
    {
        if (sequence == ExpectedSequence)
        {
            ExpectedSequence++;
            dropped = [];
            return true;
        }

        ExpectedSequence = sequence + 1;
        dropped = [.. _members.Select(pair => (pair.Key, pair.Value.ClientId))];
        _members.Clear();
        return false;
    }

    private sealed class Member(string clientId, TJoin join)
    {
        public string ClientId { get; } = clientId;

        public TJoin Join { get; } = join;

        public bool Heard { get; set; }
    }
}
