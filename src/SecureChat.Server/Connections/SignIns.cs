namespace SecureChat.Server.Connections;

/// <summary>
/// Which connection is signed in for each client id (PROTOCOL.md §4.1.1): one per id, the one whose sign-in came last. Until
/// clients can have several devices, a second connection with the same id takes over and the earlier one is told
/// SIGNED_IN_ELSEWHERE and closed; the end of a connection that was already taken over changes nothing. The cluster keeps one
/// table per id (<see cref="SignInActor"/>, a sharded entity), so "came last" is the order the sign-ins reached it, whichever
/// nodes they came from: two at once have one winner.
/// </summary>
/// <typeparam name="TConnection">How the host names a connection (an actor reference).</typeparam>
public sealed class SignIns<TConnection>
    where TConnection : notnull
{
    private readonly Dictionary<string, TConnection> _current = new(StringComparer.Ordinal);
    private readonly Dictionary<TConnection, string> _idOf = [];

    /// <summary>How many ids have a signed-in connection.</summary>
    public int Count => _current.Count;

    /// <summary>The signed-in connection of <paramref name="clientId"/>, if any.</summary>
    public bool TryGetCurrent(string clientId, out TConnection connection) => _current.TryGetValue(clientId, out connection!);

    /// <summary>
    /// <paramref name="connection"/> said HELLO as <paramref name="clientId"/>: it is the id's connection from now on. Returns the
    /// connection it displaced, which must be told SIGNED_IN_ELSEWHERE and closed; null when there was none (or it was this one).
    /// </summary>
    public TConnection? SignIn(string clientId, TConnection connection)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        if (_idOf.TryGetValue(connection, out var earlierId) && earlierId != clientId)
        {
            SignOut(connection); // a connection has one id (its certificate's); should it ever say another, the old entry goes
        }

        _idOf[connection] = clientId;
        if (_current.TryGetValue(clientId, out var previous) && EqualityComparer<TConnection>.Default.Equals(previous, connection))
        {
            return default;
        }

        _current[clientId] = connection;
        if (previous is null)
        {
            return default;
        }

        _idOf.Remove(previous);
        return previous;
    }

    /// <summary>
    /// <paramref name="connection"/> signed in as <paramref name="clientId"/> at a table that is gone (its entity was handed off
    /// to another node, passivated, or lost with its node) and says so again. It holds the id again when nobody holds it, or when
    /// it is the holder already; it takes nothing over. False when another connection holds the id: that one signed in here
    /// since, so after the resuming one, which must be told SIGNED_IN_ELSEWHERE and closed.
    /// </summary>
    public bool Resume(string clientId, TConnection connection)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        if (_current.TryGetValue(clientId, out var holder) && !EqualityComparer<TConnection>.Default.Equals(holder, connection))
        {
            return false;
        }

        _ = SignIn(clientId, connection); // nobody else holds the id: this displaces nothing
        return true;
    }

    /// <summary>
    /// <paramref name="connection"/> ended. True when it was the signed-in one of its id (the id has none now); false when it had
    /// been taken over already, or never signed in: the newer connection stays signed in.
    /// </summary>
    public bool SignOut(TConnection connection)
    {
        if (!_idOf.Remove(connection, out var clientId))
        {
            return false;
        }

        if (_current.TryGetValue(clientId, out var current) && EqualityComparer<TConnection>.Default.Equals(current, connection))
        {
            _current.Remove(clientId);
            return true;
        }

        return false;
    }
}
