using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Infrastructure;

namespace SecureChat.Protocol.Identity;

/// <summary>
/// This client's long-term identity: its id and Ed25519 identity key (IK). Membership keys are per room
/// session (<see cref="MembershipKey"/>), so that a key leak in one room does not open another.
/// Owns the identity key; dispose to erase it.
/// </summary>
public sealed class LocalIdentity : IDisposable
{
    public LocalIdentity(string clientId, IdentityKeyPair identityKey)
    {
        ArgumentNullException.ThrowIfNull(identityKey);
        if (!EnvelopeCodec.IsValidId(clientId))
        {
            throw new ArgumentException("client id must be 1-64 characters of [A-Za-z0-9._@-]", nameof(clientId));
        }

        ClientId = clientId;
        IdentityKey = identityKey;
    }

    public string ClientId { get; }

    public IdentityKeyPair IdentityKey { get; }

    public byte[] PublicIdentityKey => IdentityKey.PublicKey;

    /// <summary>This client's 30-digit fingerprint.</summary>
    public string Fingerprint => Core.Crypto.Fingerprint.ForIdentity(ClientId, IdentityKey.PublicKey);

    /// <summary>The 60-digit safety number shared with a peer.</summary>
    public string SafetyNumberWith(string peerId, ReadOnlySpan<byte> peerIdentityKey) =>
        Core.Crypto.Fingerprint.SafetyNumber(ClientId, IdentityKey.PublicKey, peerId, peerIdentityKey);

    /// <summary>A fresh identity (tests, or first use when no key store is wanted).</summary>
    public static LocalIdentity Generate(string clientId, IRandomSource random) =>
        new(clientId, random.NextIdentity());

    /// <summary>Creates a fresh membership key for <paramref name="roomId"/> and the signed bundle that publishes it.</summary>
    public MembershipKey CreateMembershipKey(string roomId, uint keyId, long createdAtMs, long lifetimeMs, IRandomSource random)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegative(createdAtMs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(lifetimeMs);
        var keyPair = random.NextX25519();
        var bundle = MakeBundle(roomId, keyPair.PublicKey, keyId, createdAtMs, createdAtMs + lifetimeMs);
        return new MembershipKey(keyPair, bundle);
    }

    /// <summary>Signs {client id, IK, membership key, key id, created, expires, room} with label SC2/bundle-sig.</summary>
    public SignedBundle MakeBundle(string roomId, ReadOnlySpan<byte> membershipPublicKey, uint keyId, long createdAtMs, long expiresAtMs)
    {
        ArgumentNullException.ThrowIfNull(roomId);
        var content = new BundleContent
        {
            RoomId = roomId,
            ClientId = ClientId,
            IdentityKey = ByteString.CopyFrom(IdentityKey.PublicKey),
            MembershipKey = ByteString.CopyFrom(membershipPublicKey),
            KeyId = keyId,
            CreatedAtMs = (ulong)createdAtMs,
            ExpiresAtMs = (ulong)expiresAtMs,
        };
        return Bundles.Sign(IdentityKey, content);
    }

    public void Dispose() => IdentityKey.Dispose();
}

/// <summary>An X25519 membership key pair with the bundle that publishes it. Dispose to erase the private key.</summary>
public sealed class MembershipKey : IDisposable
{
    internal MembershipKey(X25519KeyPair keyPair, SignedBundle bundle)
    {
        KeyPair = keyPair;
        Bundle = bundle;
        KeyId = BundleContent.Parser.ParseFrom(bundle.Content).KeyId;
    }

    public X25519KeyPair KeyPair { get; }

    public SignedBundle Bundle { get; }

    public uint KeyId { get; }

    public void Dispose() => KeyPair.Dispose();
}
