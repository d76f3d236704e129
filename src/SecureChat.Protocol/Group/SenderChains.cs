using System.Security.Cryptography;

namespace SecureChat.Protocol.Group;

/// <summary>This member's own sending chain in one epoch: each message key is used once, then the chain steps.</summary>
internal sealed class SendChain : IDisposable
{
    private byte[] _chainKey;

    public SendChain(byte[] chainKey)
    {
        _chainKey = chainKey;
    }

    public ulong NextGeneration { get; private set; }

    /// <summary>A chain back from the owner's store (<see cref="GroupSession.ExportState"/>); takes <paramref name="chainKey"/>.</summary>
    public static SendChain Restore(byte[] chainKey, ulong nextGeneration) => new(chainKey) { NextGeneration = nextGeneration };

    /// <summary>A copy of the current chain key, for the owner's store; zero it after use.</summary>
    public byte[] ExportChainKey() => (byte[])_chainKey.Clone();

    /// <summary>Returns the key for <see cref="NextGeneration"/> and advances; the old chain key is erased.</summary>
    public (ulong Generation, byte[] MessageKey) Next()
    {
        var generation = NextGeneration;
        var messageKey = KeySchedule.MessageKey(_chainKey, generation);
        var next = KeySchedule.NextChainKey(_chainKey, generation);
        CryptographicOperations.ZeroMemory(_chainKey);
        _chainKey = next;
        NextGeneration = generation + 1;
        return (generation, messageKey);
    }

    public void Dispose() => CryptographicOperations.ZeroMemory(_chainKey);
}

/// <summary>
/// The receive side of one sender's chain in one epoch: the chain key for <see cref="NextGeneration"/>
/// plus cached keys of skipped generations. A key is erased once used.
/// </summary>
internal sealed class ReceiveChain : IDisposable
{
    private readonly SortedDictionary<ulong, byte[]> _skipped = new();
    private byte[] _chainKey;

    public ReceiveChain(byte[] chainKey)
    {
        _chainKey = chainKey;
    }

    public ulong NextGeneration { get; private set; }

    public int SkippedCount => _skipped.Count;

    /// <summary>A chain back from the owner's store; takes <paramref name="chainKey"/> and the skipped keys.</summary>
    public static ReceiveChain Restore(byte[] chainKey, ulong nextGeneration, IEnumerable<(ulong Generation, byte[] Key)> skipped)
    {
        var chain = new ReceiveChain(chainKey) { NextGeneration = nextGeneration };
        foreach (var (generation, key) in skipped)
        {
            chain._skipped[generation] = key;
        }

        return chain;
    }

    /// <summary>A copy of the current chain key, for the owner's store; zero it after use.</summary>
    public byte[] ExportChainKey() => (byte[])_chainKey.Clone();

    /// <summary>Copies of the cached skipped keys, lowest generation first, for the owner's store; zero them after use.</summary>
    public IEnumerable<(ulong Generation, byte[] Key)> ExportSkipped() => _skipped.Select(s => (s.Key, (byte[])s.Value.Clone())).ToList();

    public bool TryGetSkipped(ulong generation, out byte[] key) => _skipped.TryGetValue(generation, out key!);

    /// <summary>Erases and forgets a cached key after it decrypted its message.</summary>
    public void ConsumeSkipped(ulong generation)
    {
        if (_skipped.Remove(generation, out var key))
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>
    /// Derives, without changing state, the keys from <see cref="NextGeneration"/> up to <paramref name="generation"/>:
    /// the skipped keys, the message key, and the chain key after it. Nothing is kept unless <see cref="Advance"/> is called.
    /// </summary>
    public Lookahead Derive(ulong generation)
    {
        var skipped = new List<(ulong, byte[])>();
        var chain = _chainKey;
        for (var g = NextGeneration; g < generation; g++)
        {
            skipped.Add((g, KeySchedule.MessageKey(chain, g)));
            var next = KeySchedule.NextChainKey(chain, g);
            if (!ReferenceEquals(chain, _chainKey))
            {
                CryptographicOperations.ZeroMemory(chain);
            }

            chain = next;
        }

        var messageKey = KeySchedule.MessageKey(chain, generation);
        var after = KeySchedule.NextChainKey(chain, generation);
        if (!ReferenceEquals(chain, _chainKey))
        {
            CryptographicOperations.ZeroMemory(chain);
        }

        return new Lookahead(generation, skipped, messageKey, after);
    }

    /// <summary>Keeps a successful lookahead: caches its skipped keys, moves past its generation, erases the old chain key.</summary>
    public void Advance(Lookahead lookahead)
    {
        foreach (var (g, key) in lookahead.Skipped)
        {
            _skipped[g] = key;
        }

        CryptographicOperations.ZeroMemory(_chainKey);
        _chainKey = lookahead.ChainKeyAfter;
        NextGeneration = lookahead.Generation + 1;
        CryptographicOperations.ZeroMemory(lookahead.MessageKey);
    }

    /// <summary>Drops the oldest cached key; false when there is none.</summary>
    public bool EvictOldest()
    {
        if (_skipped.Count == 0)
        {
            return false;
        }

        ConsumeSkipped(_skipped.Keys.First());
        return true;
    }

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_chainKey);
        foreach (var key in _skipped.Values)
        {
            CryptographicOperations.ZeroMemory(key);
        }

        _skipped.Clear();
    }

    internal sealed record Lookahead(ulong Generation, List<(ulong Generation, byte[] Key)> Skipped, byte[] MessageKey, byte[] ChainKeyAfter)
    {
        public void Discard()
        {
            foreach (var (_, key) in Skipped)
            {
                CryptographicOperations.ZeroMemory(key);
            }

            CryptographicOperations.ZeroMemory(MessageKey);
            CryptographicOperations.ZeroMemory(ChainKeyAfter);
        }
    }
}
