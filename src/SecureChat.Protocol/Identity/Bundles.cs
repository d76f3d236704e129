using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;

namespace SecureChat.Protocol.Identity;

/// <summary>Why a bundle was refused.</summary>
public enum BundleRejection
{
    None,

    /// <summary>Content bytes are not a BundleContent, or a key has the wrong length.</summary>
    Malformed,

    /// <summary>The client id breaks the id rules (EnvelopeCodec.IsValidId).</summary>
    InvalidClientId,

    /// <summary>The Ed25519 signature over the content does not verify with the IK inside it.</summary>
    BadSignature,

    /// <summary>expires_at_ms is not after the reference time.</summary>
    Expired,

    /// <summary>created_at_ms is after expires_at_ms, or the lifetime is longer than <see cref="Bundles.MaxLifetimeMs"/>.</summary>
    BadLifetime,

    /// <summary>The bundle names another room than the one it is used in.</summary>
    WrongRoom,

    /// <summary>The bundle is valid but names another client than expected.</summary>
    WrongClient,

    /// <summary>The membership key is a low-order X25519 point: every shared secret with it would be all zero.</summary>
    WeakMembershipKey,
}

/// <summary>Creating and verifying signed bundles (label SC2/bundle-sig over the content bytes).</summary>
public static class Bundles
{
    /// <summary>No bundle may claim a longer life than this (90 days): expires_at_ms - created_at_ms ≤ it.</summary>
    public const long MaxLifetimeMs = 90L * 24 * 3_600_000;

    public static SignedBundle Sign(IdentityKeyPair identity, BundleContent content)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(content);
        var bytes = content.ToByteArray();
        return new SignedBundle
        {
            Content = ByteString.CopyFrom(bytes),
            Signature = ByteString.CopyFrom(identity.Sign(Labels.BundleSignature, bytes)),
        };
    }

    /// <summary>
    /// Verifies the signature with the IK inside the content, the id rules, key sizes and lifetime, that the bundle is
    /// for <paramref name="roomId"/>, and (when <paramref name="validAtMs"/> is given) that it has not expired then.
    /// </summary>
    public static BundleRejection Verify(SignedBundle? bundle, string roomId, long? validAtMs, out RosterMember? member)
    {
        member = null;
        if (bundle is null || bundle.Signature.Length != IdentityKeyPair.SignatureSize)
        {
            return BundleRejection.Malformed;
        }

        if (!WireParsing.TryParse(BundleContent.Parser, bundle.Content.Span, out var content))
        {
            return BundleRejection.Malformed;
        }

        if (content.IdentityKey.Length != IdentityKeyPair.PublicKeySize || content.MembershipKey.Length != X25519KeyPair.PublicKeySize)
        {
            return BundleRejection.Malformed;
        }

        if (!EnvelopeCodec.IsValidId(content.ClientId))
        {
            return BundleRejection.InvalidClientId;
        }

        if (!Signatures.Verify(content.IdentityKey.Span, Labels.BundleSignature, bundle.Content.Span, bundle.Signature.Span))
        {
            return BundleRejection.BadSignature;
        }

        if (content.ExpiresAtMs < content.CreatedAtMs || content.ExpiresAtMs - content.CreatedAtMs > MaxLifetimeMs)
        {
            return BundleRejection.BadLifetime;
        }

        if (!string.Equals(content.RoomId, roomId, StringComparison.Ordinal))
        {
            return BundleRejection.WrongRoom;
        }

        if (validAtMs is { } at && IsExpiredAt(content.ExpiresAtMs, (ulong)Math.Max(0, at)))
        {
            return BundleRejection.Expired;
        }

        member = new RosterMember(bundle, content);
        return BundleRejection.None;
    }

    /// <summary>
    /// Verify plus a check that the bundle belongs to <paramref name="expectedClientId"/> and that its membership
    /// key is usable (the server's JOIN check; committers run the same check before adding a bundle).
    /// </summary>
    public static BundleRejection VerifyFor(SignedBundle? bundle, string expectedClientId, string roomId, long validAtMs, out RosterMember? member)
    {
        var rejection = Verify(bundle, roomId, validAtMs, out member);
        if (rejection != BundleRejection.None)
        {
            return rejection;
        }

        if (!string.Equals(member!.ClientId, expectedClientId, StringComparison.Ordinal))
        {
            member = null;
            return BundleRejection.WrongClient;
        }

        if (!IsUsableMembershipKey(member.MembershipKey))
        {
            member = null;
            return BundleRejection.WeakMembershipKey;
        }

        return BundleRejection.None;
    }

    /// <summary>A bundle is expired at time t when expires_at_ms ≤ t (PROTOCOL.md §6).</summary>
    public static bool IsExpiredAt(ulong expiresAtMs, ulong atMs) => expiresAtMs <= atMs;

    /// <summary>SHA-256 of the content bytes: what "the same bundle" means for one-admission tracking and leaves.</summary>
    public static byte[] Hash(SignedBundle bundle)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        return Hashing.Sha256(bundle.Content.Span);
    }

    /// <summary>False for a low-order point (the X25519 result with it is all zero whatever the private key).</summary>
    public static bool IsUsableMembershipKey(ReadOnlySpan<byte> membershipKey)
    {
        try
        {
            var shared = Probe.Value!.Agree(membershipKey);
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(shared);
            return true;
        }
        catch (KeyAgreementException)
        {
            return false;
        }
    }

    // A fixed, public probe scalar: whether a point is low-order does not depend on the private key used.
    private static readonly ThreadLocal<X25519KeyPair> Probe = new(() => X25519KeyPair.FromPrivateKey(
        Hashing.LabeledSha256(Labels.LowOrderProbe, [])));
}
