using System.Buffers.Binary;
using System.Security.Cryptography;
using SecureChat.Core.Crypto;

namespace SecureChat.Protocol.Infrastructure;

/// <summary>Every random byte the engine uses (keys, epoch secrets, nonces) comes from here.</summary>
public interface IRandomSource
{
    void Fill(Span<byte> destination);
}

public static class RandomSourceExtensions
{
    public static byte[] NextBytes(this IRandomSource random, int count)
    {
        ArgumentNullException.ThrowIfNull(random);
        var bytes = new byte[count];
        random.Fill(bytes);
        return bytes;
    }

    /// <summary>A fresh X25519 key from 32 bytes of this source.</summary>
    public static X25519KeyPair NextX25519(this IRandomSource random)
    {
        var scalar = random.NextBytes(X25519KeyPair.PrivateKeySize);
        try
        {
            return X25519KeyPair.FromPrivateKey(scalar);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(scalar);
        }
    }

    /// <summary>A fresh Ed25519 identity key from a 32-byte seed of this source.</summary>
    public static IdentityKeyPair NextIdentity(this IRandomSource random)
    {
        var seed = random.NextBytes(IdentityKeyPair.SeedSize);
        try
        {
            return IdentityKeyPair.FromSeed(seed);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }
}

/// <summary>The operating system's CSPRNG. The only source production code should use.</summary>
public sealed class SystemRandomSource : IRandomSource
{
    public static SystemRandomSource Instance { get; } = new();

    public void Fill(Span<byte> destination) => RandomNumberGenerator.Fill(destination);
}

/// <summary>
/// A deterministic byte stream for tests and test vectors: block i = SHA-256(UTF-8("SC1/test-drbg") || 0x00 || u64 seed || u64 i).
/// NOT for production: anyone who knows the seed knows every key.
/// </summary>
public sealed class SeededRandomSource : IRandomSource
{
    private readonly byte[] _input = new byte[16];
    private ulong _counter;
    private byte[] _block = [];
    private int _used;

    public SeededRandomSource(ulong seed)
    {
        Seed = seed;
        BinaryPrimitives.WriteUInt64BigEndian(_input, seed);
    }

    public ulong Seed { get; }

    public void Fill(Span<byte> destination)
    {
        while (destination.Length > 0)
        {
            if (_used == _block.Length)
            {
                BinaryPrimitives.WriteUInt64BigEndian(_input.AsSpan(8), _counter++);
                _block = Hashing.LabeledSha256(Labels.TestDrbg, _input);
                _used = 0;
            }

            var take = Math.Min(destination.Length, _block.Length - _used);
            _block.AsSpan(_used, take).CopyTo(destination);
            _used += take;
            destination = destination[take..];
        }
    }
}
