using Google.Protobuf;
using SecureChat.Core.Wire;

namespace SecureChat.Protocol.Identity;

/// <summary>A verified bundle: one client's identity key and membership key, as a roster entry.</summary>
public sealed class RosterMember
{
    private string? _fingerprint;
    private ByteString? _bundleHash;

    internal RosterMember(SignedBundle bundle, BundleContent content)
    {
        Bundle = bundle;
        ClientId = content.ClientId;
        IdentityKey = content.IdentityKey.ToByteArray();
        MembershipKey = content.MembershipKey.ToByteArray();
        KeyId = content.KeyId;
        CreatedAtMs = content.CreatedAtMs;
        ExpiresAtMs = content.ExpiresAtMs;
        RoomId = content.RoomId;
    }

    public string ClientId { get; }

    /// <summary>Ed25519 public identity key (IK), 32 bytes.</summary>
    public byte[] IdentityKey { get; }

    /// <summary>X25519 public membership key that wraps are sealed to, 32 bytes.</summary>
    public byte[] MembershipKey { get; }

    public uint KeyId { get; }

    public ulong CreatedAtMs { get; }

    public ulong ExpiresAtMs { get; }

    /// <summary>The room the bundle was made for.</summary>
    public string RoomId { get; }

    /// <summary>Expired at <paramref name="atMs"/>: expires_at_ms ≤ atMs.</summary>
    public bool IsExpiredAt(ulong atMs) => Bundles.IsExpiredAt(ExpiresAtMs, atMs);

    /// <summary>The bundle exactly as signed and transmitted.</summary>
    public SignedBundle Bundle { get; }

    /// <summary>SHA-256 of the bundle's content bytes (<see cref="Bundles.Hash"/>).</summary>
    public ByteString BundleHash => _bundleHash ??= ByteString.CopyFrom(Bundles.Hash(Bundle));

    /// <summary>30-digit fingerprint of (client id, IK); computed on first use (it is deliberately slow).</summary>
    public string Fingerprint => _fingerprint ??= Core.Crypto.Fingerprint.ForIdentity(ClientId, IdentityKey);

    /// <summary>Same signed bytes (content and signature).</summary>
    internal bool SameBundleAs(RosterMember other) =>
        Bundle.Content.Equals(other.Bundle.Content) && Bundle.Signature.Equals(other.Bundle.Signature);

    internal bool SameIdentityKeyAs(RosterMember other) => IdentityKey.AsSpan().SequenceEqual(other.IdentityKey);

    public override string ToString() => $"{ClientId}#{KeyId}";

    internal static ByteString Copy(byte[] bytes) => ByteString.CopyFrom(bytes);
}
