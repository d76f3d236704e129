using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;

namespace SecureChat.Server.Rooms;

/// <summary>A member's published bundle whose signature has been checked. Only public material.</summary>
public sealed record VerifiedBundle(string ClientId, ByteString IdentityKey, uint KeyId, ByteString Content, ByteString Signature, ulong ExpiresAtMs)
{
    public SignedBundle ToSignedBundle() => new() { Content = Content, Signature = Signature };

    /// <summary>Same signed bytes: the same key material published by the same signature.</summary>
    public bool SameBytesAs(SignedBundle other) =>
        other is not null && Content.Span.SequenceEqual(other.Content.Span) && Signature.Span.SequenceEqual(other.Signature.Span);
}

/// <summary>
/// Checks a published bundle (PROTOCOL.md §6): parses, belongs to the expected client, unexpired, self-signed
/// by its identity key, and its membership key is not a low-order point.
/// </summary>
public static class BundleCheck
{
    public static bool TryVerify(SignedBundle? bundle, string expectedClientId, DateTimeOffset now, out VerifiedBundle verified, out string reason)
    {
        verified = null!;
        if (bundle is null)
        {
            reason = "bundle missing";
            return false;
        }

        if (!WireParsing.TryParse(BundleContent.Parser, bundle.Content.Span, out var content))
        {
            reason = "bundle content does not parse";
            return false;
        }

        if (!string.Equals(content.ClientId, expectedClientId, StringComparison.Ordinal))
        {
            reason = "bundle belongs to another client id";
            return false;
        }

        if (content.IdentityKey.Length != IdentityKeyPair.PublicKeySize || content.MembershipKey.Length != X25519KeyPair.PublicKeySize)
        {
            reason = "bundle keys have the wrong length";
            return false;
        }

        var nowMs = (ulong)Math.Max(0, now.ToUnixTimeMilliseconds());
        if (content.ExpiresAtMs <= nowMs)
        {
            reason = "bundle has expired";
            return false;
        }

        if (content.CreatedAtMs > content.ExpiresAtMs)
        {
            reason = "bundle expires before it was created";
            return false;
        }

        if (!Signatures.Verify(content.IdentityKey.Span, Labels.BundleSignature, bundle.Content.Span, bundle.Signature.Span))
        {
            reason = "bundle signature does not verify";
            return false;
        }

        if (IsWeakMembershipKey(content.MembershipKey.Span))
        {
            reason = "bundle membership key is a low-order point";
            return false;
        }

        verified = new VerifiedBundle(content.ClientId, content.IdentityKey, content.KeyId, bundle.Content, bundle.Signature, content.ExpiresAtMs);
        reason = string.Empty;
        return true;
    }

    /// <summary>
    /// A low-order X25519 point makes every agreement with it all zero, so anything wrapped to it is readable
    /// by anyone. Agreeing with a throwaway key is how Core detects it (it refuses all-zero results).
    /// </summary>
    private static bool IsWeakMembershipKey(ReadOnlySpan<byte> publicKey)
    {
        using var probe = X25519KeyPair.Generate();
        try
        {
            var shared = probe.Agree(publicKey);
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(shared);
            return false;
        }
        catch (KeyAgreementException)
        {
            return true;
        }
    }
}
