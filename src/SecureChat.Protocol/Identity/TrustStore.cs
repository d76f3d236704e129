using SecureChat.Core.Wire;

namespace SecureChat.Protocol.Identity;

public enum TrustDecision
{
    /// <summary>No pin existed; the key is now pinned (trust on first use).</summary>
    FirstSeen,

    /// <summary>The key equals the pin.</summary>
    Matches,

    /// <summary>The key differs from the pin: sending to rooms with this member is blocked until accepted.</summary>
    Changed,
}

/// <summary>A pinned identity key that was seen replaced by another one and is not yet accepted.</summary>
public sealed record IdentityKeyChange(string ClientId, byte[] PinnedKey, byte[] NewKey)
{
    public string PinnedFingerprint => Core.Crypto.Fingerprint.ForIdentity(ClientId, PinnedKey);

    public string NewFingerprint => Core.Crypto.Fingerprint.ForIdentity(ClientId, NewKey);
}

/// <summary>
/// Trust-on-first-use pins: the first identity key seen for each client id. A different key later is a
/// <see cref="TrustDecision.Changed"/> until <see cref="Accept"/>. Optionally backed by an owner-only file
/// (one line per pin: "client_id SP base64(IK)"); only accepted pins are stored, so an unaccepted change is
/// detected again after a restart. Thread-safe: sessions of several rooms may share one store.
/// </summary>
public sealed class TrustStore
{
    public const string FileName = "trusted-keys";

    /// <summary>Changed keys remembered per client id until one is accepted; the oldest is forgotten first.</summary>
    public const int MaxPendingKeysPerClient = 8;

    private readonly object _gate = new();
    private readonly Dictionary<string, byte[]> _pins = new(StringComparer.Ordinal);
    // Changed keys seen per id and not accepted, oldest first (distinct, at most MaxPendingKeysPerClient).
    private readonly Dictionary<string, List<byte[]>> _pending = new(StringComparer.Ordinal);
    private readonly string? _path;
    private readonly Action? _pinsChanged;
    private long _pinsVersion;

    public TrustStore()
    {
    }

    /// <summary>
    /// Pins kept by someone else (a client's encrypted local store): starts with <paramref name="pins"/>, and calls
    /// <paramref name="pinsChanged"/> (under the store's lock: it must not block) whenever a pin is added or replaced;
    /// <see cref="Pins"/> then has them all.
    /// </summary>
    public TrustStore(IEnumerable<KeyValuePair<string, byte[]>> pins, Action pinsChanged)
    {
        ArgumentNullException.ThrowIfNull(pins);
        ArgumentNullException.ThrowIfNull(pinsChanged);
        foreach (var (clientId, key) in pins)
        {
            _pins[clientId] = (byte[])key.Clone();
        }

        _pinsChanged = pinsChanged;
    }

    /// <summary>Every pin (accepted keys only), by client id in ordinal order.</summary>
    public IReadOnlyList<KeyValuePair<string, byte[]>> Pins
    {
        get
        {
            lock (_gate)
            {
                return [.. _pins.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, (byte[])p.Value.Clone()))];
            }
        }
    }

    private TrustStore(string path)
    {
        _path = path;
    }

    /// <summary>Opens (or starts) the pin file in <paramref name="folder"/>.</summary>
    public static TrustStore Open(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        IdentityStore.CreateOwnerOnlyDirectory(folder);
        var store = new TrustStore(Path.Combine(folder, FileName));
        if (File.Exists(store._path))
        {
            foreach (var line in File.ReadAllLines(store._path))
            {
                var parts = line.Split(' ');
                if (parts.Length != 2 || !EnvelopeCodec.IsValidId(parts[0]))
                {
                    throw new IdentityStoreException("the trust store has a malformed line");
                }

                byte[] key;
                try
                {
                    key = Convert.FromBase64String(parts[1]);
                }
                catch (FormatException ex)
                {
                    throw new IdentityStoreException("the trust store has a malformed key", ex);
                }

                store._pins[parts[0]] = key;
            }
        }

        return store;
    }

    /// <summary>
    /// Changes whenever a pin is added or replaced, so a session can skip re-checking a whole roster before each
    /// send when no pin moved since its last check (an O(roster) cost per message otherwise).
    /// </summary>
    internal long PinsVersion => Interlocked.Read(ref _pinsVersion);

    /// <summary>Checks <paramref name="identityKey"/> against the pin for <paramref name="clientId"/>, pinning it if none.</summary>
    public TrustDecision Observe(string clientId, ReadOnlySpan<byte> identityKey)
    {
        lock (_gate)
        {
            if (!_pins.TryGetValue(clientId, out var pinned))
            {
                _pins[clientId] = identityKey.ToArray();
                Interlocked.Increment(ref _pinsVersion);
                Persist();
                return TrustDecision.FirstSeen;
            }

            if (pinned.AsSpan().SequenceEqual(identityKey))
            {
                return TrustDecision.Matches;
            }

            if (!_pending.TryGetValue(clientId, out var seen))
            {
                _pending[clientId] = seen = [];
            }

            var key = identityKey.ToArray();
            seen.RemoveAll(k => k.AsSpan().SequenceEqual(key));
            seen.Add(key);
            if (seen.Count > MaxPendingKeysPerClient)
            {
                seen.RemoveAt(0);
            }

            return TrustDecision.Changed;
        }
    }

    /// <summary>True when <paramref name="identityKey"/> is the pinned key (or nothing is pinned yet).</summary>
    public bool IsTrusted(string clientId, ReadOnlySpan<byte> identityKey)
    {
        lock (_gate)
        {
            return !_pins.TryGetValue(clientId, out var pinned) || pinned.AsSpan().SequenceEqual(identityKey);
        }
    }

    public byte[]? PinnedKey(string clientId)
    {
        lock (_gate)
        {
            return _pins.TryGetValue(clientId, out var pinned) ? (byte[])pinned.Clone() : null;
        }
    }

    public IReadOnlyList<IdentityKeyChange> PendingChanges
    {
        get
        {
            lock (_gate)
            {
                return _pending.SelectMany(p => p.Value.Select(key => new IdentityKeyChange(p.Key, _pins[p.Key], key))).ToList();
            }
        }
    }

    /// <summary>The changed keys seen for <paramref name="clientId"/> and not accepted, oldest first (what the user picks from).</summary>
    public IReadOnlyList<IdentityKeyChange> PendingChangesFor(string clientId)
    {
        lock (_gate)
        {
            return _pending.TryGetValue(clientId, out var seen)
                ? seen.Select(key => new IdentityKeyChange(clientId, _pins[clientId], key)).ToList()
                : [];
        }
    }

    /// <summary>The user accepts the changed key last seen for <paramref name="clientId"/>: it becomes the pin.</summary>
    public bool Accept(string clientId)
    {
        lock (_gate)
        {
            if (!_pending.Remove(clientId, out var seen))
            {
                return false;
            }

            _pins[clientId] = seen[^1];
            Interlocked.Increment(ref _pinsVersion);
            Persist();
            return true;
        }
    }

    /// <summary>
    /// The user accepts <paramref name="identityKey"/> for <paramref name="clientId"/> explicitly (after comparing its
    /// fingerprint). Other changed keys seen for the id stay pending: they still differ from the new pin.
    /// </summary>
    public void Accept(string clientId, ReadOnlySpan<byte> identityKey)
    {
        lock (_gate)
        {
            if (_pending.TryGetValue(clientId, out var seen))
            {
                var accepted = identityKey.ToArray();
                seen.RemoveAll(k => k.AsSpan().SequenceEqual(accepted));
                if (seen.Count == 0)
                {
                    _pending.Remove(clientId);
                }
            }

            _pins[clientId] = identityKey.ToArray();
            Interlocked.Increment(ref _pinsVersion);
            Persist();
        }
    }

    private void Persist()
    {
        _pinsChanged?.Invoke();
        if (_path is null)
        {
            return;
        }

        var lines = _pins.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {Convert.ToBase64String(p.Value)}");
        var temp = _path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temp, options))
        using (var writer = new StreamWriter(stream))
        {
            foreach (var line in lines)
            {
                writer.Write(line);
                writer.Write('\n');
            }
        }

        File.Move(temp, _path, overwrite: true);
    }
}
