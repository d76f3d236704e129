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

    /// <summary>expires_at_ms is not after the reference time (or before created_at_ms).</summary>
    Expired,

    /// <summary>The bundle is valid but names another client than expected.</summary>
    WrongClient,
}

/// <summary>Creating and verifying signed bundles (label SC1/bundle-sig over the content bytes).</summary>
public static class Bundles
{
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
    /// Verifies the signature with the IK inside the content, the id rules and key sizes, and (when
    /// <paramref name="validAtMs"/> is given) that the bundle has not expired at that time.
    /// </summary>
    public static BundleRejection Verify(SignedBundle? bundle, long? validAtMs, out RosterMember? member)
    {
        member = null;
        if (bundle is null || bundle.Signature.Length != IdentityKeyPair.SignatureSize)
        {
            return BundleRejection.Malformed;
        }

        BundleContent content;
        try
        {
            content = BundleContent.Parser.ParseFrom(bundle.Content);
        }
        catch (InvalidProtocolBufferException)
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

        if (content.ExpiresAtMs < content.CreatedAtMs || (validAtMs is { } at && content.ExpiresAtMs <= (ulong)Math.Max(0, at)))
        {
            return BundleRejection.Expired;
        }

        member = new RosterMember(bundle, content);
        return BundleRejection.None;
    }

    /// <summary>Verify plus a check that the bundle belongs to <paramref name="expectedClientId"/> (the server's JOIN check).</summary>
    public static BundleRejection VerifyFor(SignedBundle? bundle, string expectedClientId, long validAtMs, out RosterMember? member)
    {
        var rejection = Verify(bundle, validAtMs, out member);
        if (rejection == BundleRejection.None && !string.Equals(member!.ClientId, expectedClientId, StringComparison.Ordinal))
        {
            member = null;
            return BundleRejection.WrongClient;
        }

        return rejection;
    }
}
