using System.Net;
using System.Net.Sockets;

namespace SecureChat.Server.Listener;

/// <summary>Why a connection was closed at accept, before any TLS work.</summary>
public enum AdmissionRefusal
{
    /// <summary>The server holds <see cref="AdmissionLimits.MaxConnections"/> connections.</summary>
    ConnectionLimit,

    /// <summary>Its address holds <see cref="AdmissionLimits.MaxConnectionsPerAddress"/> connections.</summary>
    AddressConnectionLimit,

    /// <summary>Its address has <see cref="AdmissionLimits.MaxHandshakesPerAddress"/> TLS handshakes in progress.</summary>
    AddressHandshakeLimit,

    /// <summary>The server has <see cref="AdmissionLimits.MaxHandshakes"/> TLS handshakes in progress.</summary>
    HandshakeBudget,
}

/// <summary>What <see cref="ConnectionAdmission"/> allows: open connections and TLS handshakes in progress, in all and per address.</summary>
public sealed record AdmissionLimits(int MaxConnections, int MaxConnectionsPerAddress, int MaxHandshakesPerAddress, int MaxHandshakes)
{
    /// <summary>
    /// How long the accept loop holds off, with the handshake budget full, for a handshake to end before it goes back
    /// to refusing at accept: a burst (every client of a restarted server at once) waits in the listen backlog for
    /// handshakes that finish in milliseconds instead of being reset into its backoff, while handshakes that hold their
    /// slots (bare connects that never speak) still get every later connection refused, as before.
    /// </summary>
    public TimeSpan BudgetWait { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>No per-address limits and no handshake budget: only the connection cap (what the server had before these defences).</summary>
    public static AdmissionLimits OnlyConnectionCap(int maxConnections) => new(maxConnections, int.MaxValue, int.MaxValue, int.MaxValue);
}

/// <summary>
/// Decides at accept, before the server spends anything on TLS, whether a connection may start its handshake, and
/// keeps the counts that decision needs: connections open (handshakes included) and handshakes in progress, in all
/// and per remote address. Bare TCP connects that never finish a handshake hold a slot until the handshake deadline;
/// the per-address limits keep one address from taking every slot, and the handshake budget keeps handshakes (from
/// any number of addresses) from holding every connection slot, so that authenticated clients keep theirs and new
/// ones from other addresses still get in.
/// </summary>
/// <remarks>
/// An IPv6 address counts by its /64 prefix (what one host or site is usually given), and an IPv4-mapped IPv6 address
/// as the IPv4 address. Plain synchronous rules under one lock: the accept loop asks, and the handshakes and
/// connections report their ends from any thread through their <see cref="AdmissionTicket"/>. Each address's entry
/// goes when it holds nothing, so the table never outgrows the open connections.
/// </remarks>
public sealed class ConnectionAdmission
{
    private static readonly int RefusalKinds = Enum.GetValues<AdmissionRefusal>().Length;

    private readonly Lock _gate = new();
    private readonly Dictionary<IPAddress, AddressCounts> _byAddress = [];
    private readonly long[] _refused = new long[RefusalKinds];
    private int _open;
    private int _handshaking;
    private TaskCompletionSource? _handshakeEnded; // made only while the accept loop waits for a slot
    private long _admitted;

    public ConnectionAdmission(AdmissionLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        Limits = limits;
    }

    public AdmissionLimits Limits { get; }

    /// <summary>Connections open, TLS handshakes in progress included.</summary>
    public int OpenConnections { get { lock (_gate) { return _open; } } }

    /// <summary>TLS handshakes in progress.</summary>
    public int HandshakesInProgress { get { lock (_gate) { return _handshaking; } } }

    /// <summary>As many TLS handshakes in progress as <see cref="AdmissionLimits.MaxHandshakes"/> allows.</summary>
    public bool HandshakeBudgetFull { get { lock (_gate) { return BudgetFull; } } }

    private bool BudgetFull => _handshaking >= Limits.MaxHandshakes;

    /// <summary>Connections admitted so far.</summary>
    public long Admitted { get { lock (_gate) { return _admitted; } } }

    /// <summary>Connections refused so far for <paramref name="reason"/>.</summary>
    public long Refused(AdmissionRefusal reason)
    {
        lock (_gate)
        {
            return _refused[(int)reason];
        }
    }

    /// <summary>What an address counts as: the IPv4 address, or the /64 prefix of an IPv6 address.</summary>
    public static IPAddress AddressKey(IPAddress remote)
    {
        ArgumentNullException.ThrowIfNull(remote);
        if (remote.IsIPv4MappedToIPv6)
        {
            return remote.MapToIPv4();
        }

        if (remote.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return remote;
        }

        Span<byte> bytes = stackalloc byte[16];
        remote.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes);
    }

    /// <summary>
    /// Admits a connection from <paramref name="remote"/> into its TLS handshake (a ticket that reports the handshake's
    /// end and the connection's), or says why not; a refusal is counted and changes nothing else.
    /// </summary>
    public AdmissionTicket? TryAdmit(IPAddress remote, out AdmissionRefusal refusal)
    {
        var key = AddressKey(remote);
        lock (_gate)
        {
            _byAddress.TryGetValue(key, out var counts);
            AdmissionRefusal? refused =
                _open >= Limits.MaxConnections ? AdmissionRefusal.ConnectionLimit
                : counts.Open >= Limits.MaxConnectionsPerAddress ? AdmissionRefusal.AddressConnectionLimit
                : counts.Handshaking >= Limits.MaxHandshakesPerAddress ? AdmissionRefusal.AddressHandshakeLimit
                : BudgetFull ? AdmissionRefusal.HandshakeBudget
                : null;
            if (refused is { } reason)
            {
                _refused[(int)reason]++;
                refusal = reason;
                return null;
            }

            _byAddress[key] = new AddressCounts(counts.Open + 1, counts.Handshaking + 1);
            _open++;
            _handshaking++;
            _admitted++;
            refusal = default;
            return new AdmissionTicket(this, key);
        }
    }

    /// <summary>
    /// True at once while the handshake budget has room; otherwise waits for a handshake to end, and says false when
    /// <paramref name="timeout"/> passes first (the budget is held, not merely busy).
    /// </summary>
    public async Task<bool> WaitForHandshakeSlotAsync(TimeSpan timeout, TimeProvider clock, CancellationToken cancellationToken)
    {
        Task ended;
        lock (_gate)
        {
            if (!BudgetFull)
            {
                return true;
            }

            _handshakeEnded ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            ended = _handshakeEnded.Task;
        }

        try
        {
            await ended.WaitAsync(timeout, clock, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>The open connections and handshakes in progress of <paramref name="remote"/>'s address.</summary>
    public (int Open, int Handshaking) CountsOf(IPAddress remote)
    {
        lock (_gate)
        {
            return _byAddress.TryGetValue(AddressKey(remote), out var counts) ? (counts.Open, counts.Handshaking) : (0, 0);
        }
    }

    private void Release(IPAddress key, bool connection, bool handshake)
    {
        lock (_gate)
        {
            var counts = _byAddress[key];
            counts = new AddressCounts(counts.Open - (connection ? 1 : 0), counts.Handshaking - (handshake ? 1 : 0));
            if (counts is { Open: 0, Handshaking: 0 })
            {
                _byAddress.Remove(key);
            }
            else
            {
                _byAddress[key] = counts;
            }

            _open -= connection ? 1 : 0;
            _handshaking -= handshake ? 1 : 0;
            if (handshake && _handshakeEnded is { } waiting)
            {
                waiting.TrySetResult();
                _handshakeEnded = null;
            }
        }
    }

    private readonly record struct AddressCounts(int Open, int Handshaking);

    /// <summary>One admitted connection's hold on its slots; each end is reported once, however often it is called.</summary>
    public sealed class AdmissionTicket
    {
        private readonly ConnectionAdmission _admission;
        private readonly IPAddress _key;
        private int _handshakeEnded;
        private int _closed;

        internal AdmissionTicket(ConnectionAdmission admission, IPAddress key)
        {
            _admission = admission;
            _key = key;
        }

        /// <summary>The TLS handshake ended (either way): its handshake slot is free, the connection slot still held.</summary>
        public void HandshakeEnded()
        {
            if (Volatile.Read(ref _closed) == 0 && Interlocked.Exchange(ref _handshakeEnded, 1) == 0)
            {
                _admission.Release(_key, connection: false, handshake: true);
            }
        }

        /// <summary>The connection closed: its slots are free (the handshake's too, if it had not ended).</summary>
        public void Closed()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0)
            {
                _admission.Release(_key, connection: true, handshake: Interlocked.Exchange(ref _handshakeEnded, 1) == 0);
            }
        }
    }
}
