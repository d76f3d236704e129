using Google.Protobuf;
using SecureChat.Core.Wire;

namespace SecureChat.Protocol.Identity;

/// <summary>A verified bundle: one client's identity key and membership key, as a roster entry.</summary>
public sealed class RosterMember
{
    private string? _fingerprint;

    internal RosterMember(SignedBundle bundle, BundleContent content)
    {
        Bundle = bundle;
        ClientId = content.ClientId;
        IdentityKey = content.IdentityKey.ToByteArray();
        MembershipKey = content.MembershipKey.ToByteArray();
        KeyId = content.KeyId;
        CreatedAtMs = content.CreatedAtMs;
        ExpiresAtMs = content.ExpiresAtMs;
    }

    public string ClientId { get; }

    /// <summary>Ed25519 public identity key (IK), 32 bytes.</summary>
    public byte[] IdentityKey { get; }

    /// <summary>X25519 public membership key that wraps are sealed to, 32 bytes.</summary>
    public byte[] MembershipKey { get; }

    public uint KeyId { get; }

    public ulong CreatedAtMs { get; }

    public ulong ExpiresAtMs { get; }

    /// <summary>The bundle exactly as signed and transmitted.</summary>
    public SignedBundle Bundle { get; }

    /// <summary>30-digit fingerprint of (client id, IK); computed on first use (it is deliberately slow).</summary>
    public string Fingerprint => _fingerprint ??= Core.Crypto.Fingerprint.ForIdentity(ClientId, IdentityKey);

    /// <summary>Same signed bytes (content and signature).</summary>
    internal bool SameBundleAs(RosterMember other) =>
        Bundle.Content.Equals(other.Bundle.Content) && Bundle.Signature.Equals(other.Bundle.Signature);

    internal bool SameIdentityKeyAs(RosterMember other) => IdentityKey.AsSpan().SequenceEqual(other.IdentityKey);

    public override string ToString() => $"{ClientId}#{KeyId}";

    internal static ByteString Copy(byte[] bytes) => ByteString.CopyFrom(bytes);
}
