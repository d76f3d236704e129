using Google.Protobuf;
using SecureChat.Core.Wire;
using SecureChat.Server.Rooms;
using SecureChat.Testing.RawClients;

namespace SecureChat.Server.Tests.Rooms;

public sealed class BundleCheckTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    [Fact]
    public void A_self_signed_unexpired_bundle_of_the_sender_verifies()
    {
        using var alice = new TestMember("alice");

        Assert.True(BundleCheck.TryVerify(alice.Bundle, "alice", Now, out var verified, out _));
        Assert.Equal("alice", verified.ClientId);
        Assert.Equal(alice.Identity.PublicKey, verified.IdentityKey.ToByteArray());
    }

    [Fact]
    public void A_bundle_for_another_client_id_is_refused()
    {
        using var alice = new TestMember("alice");

        Assert.False(BundleCheck.TryVerify(alice.Bundle, "mallory", Now, out _, out var reason));
        Assert.Contains("another client", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void An_expired_bundle_is_refused()
    {
        using var alice = new TestMember("alice", expires: Now.AddMinutes(-1));

        Assert.False(BundleCheck.TryVerify(alice.Bundle, "alice", Now, out _, out var reason));
        Assert.Contains("expired", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bundle_with_a_flipped_signature_bit_is_refused()
    {
        using var alice = new TestMember("alice");
        var signature = alice.Bundle.Signature.ToByteArray();
        signature[5] ^= 1;

        var tampered = new SignedBundle { Content = alice.Bundle.Content, Signature = ByteString.CopyFrom(signature) };

        Assert.False(BundleCheck.TryVerify(tampered, "alice", Now, out _, out var reason));
        Assert.Contains("signature", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bundle_signed_by_another_identity_is_refused()
    {
        using var alice = new TestMember("alice");
        using var mallory = new TestMember("mallory");
        var forged = new SignedBundle { Content = alice.Bundle.Content, Signature = mallory.Bundle.Signature };

        Assert.False(BundleCheck.TryVerify(forged, "alice", Now, out _, out _));
    }

    [Fact]
    public void Invalid_utf8_in_the_client_id_is_refused_without_an_exception()
    {
        // Field 1 (client_id), length 2, bytes that are not UTF-8.
        var content = ByteString.CopyFrom(0x0A, 0x02, 0xC3, 0x28);
        var bundle = new SignedBundle { Content = content, Signature = ByteString.CopyFrom(new byte[64]) };

        Assert.False(BundleCheck.TryVerify(bundle, "alice", Now, out _, out var reason));
        Assert.Contains("parse", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_low_order_membership_key_is_refused()
    {
        using var alice = new TestMember("alice");
        var weak = alice.MakeBundle("alice", Now.AddDays(1), membershipKey: new byte[32]);

        Assert.False(BundleCheck.TryVerify(weak, "alice", Now, out _, out var reason));
        Assert.Contains("low-order", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Unparsable_content_is_refused()
    {
        var garbage = new SignedBundle { Content = ByteString.CopyFrom(0xFF, 0xFF, 0xFF), Signature = ByteString.CopyFrom(new byte[64]) };

        Assert.False(BundleCheck.TryVerify(garbage, "alice", Now, out _, out var reason));
        Assert.Contains("parse", reason, StringComparison.Ordinal);
    }
}
