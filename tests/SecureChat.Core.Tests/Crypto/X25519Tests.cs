using SecureChat.Core.Crypto;
using SecureChat.Core.Tests.TestSupport;

namespace SecureChat.Core.Tests.Crypto;

public class X25519Tests
{
    /// <summary>
    /// u-coordinates of the points of order 1, 2, 4 and 8 (libsodium's list, incl. the non-canonical p-1, p, p+1),
    /// plus encodings with the top bit set, which RFC 7748 masks off; each forces an all-zero result.
    /// </summary>
    public static TheoryData<string> LowOrderPublicKeys => new()
    {
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7",
    };

    [Fact]
    public void Agreement_is_symmetric()
    {
        using var alice = X25519KeyPair.Generate();
        using var bob = X25519KeyPair.Generate();

        var aliceShared = alice.Agree(bob.PublicKey);
        var bobShared = bob.Agree(alice.PublicKey);

        Assert.Equal(X25519KeyPair.SharedSecretSize, aliceShared.Length);
        Assert.Equal(aliceShared, bobShared);
    }

    [Fact]
    public void Agreement_differs_per_pair()
    {
        using var alice = X25519KeyPair.Generate();
        using var bob = X25519KeyPair.Generate();
        using var carol = X25519KeyPair.Generate();

        var aliceBob = alice.Agree(bob.PublicKey);
        var aliceCarol = alice.Agree(carol.PublicKey);
        var bobCarol = bob.Agree(carol.PublicKey);

        Assert.NotEqual(aliceBob, aliceCarol);
        Assert.NotEqual(aliceBob, bobCarol);
        Assert.NotEqual(aliceCarol, bobCarol);
    }

    [Fact]
    public void Generated_keys_are_distinct_and_32_bytes()
    {
        using var a = X25519KeyPair.Generate();
        using var b = X25519KeyPair.Generate();

        Assert.Equal(X25519KeyPair.PublicKeySize, a.PublicKey.Length);
        Assert.NotEqual(a.PublicKey, b.PublicKey);
    }

    [Fact]
    public void Private_key_export_and_import_round_trips()
    {
        using var original = X25519KeyPair.Generate();
        using var peer = X25519KeyPair.Generate();
        var exported = original.ExportPrivateKey();
        using var restored = X25519KeyPair.FromPrivateKey(exported);

        Assert.Equal(X25519KeyPair.PrivateKeySize, exported.Length);
        Assert.Equal(original.PublicKey, restored.PublicKey);
        Assert.Equal(original.Agree(peer.PublicKey), restored.Agree(peer.PublicKey));
    }

    [Theory]
    [MemberData(nameof(LowOrderPublicKeys))]
    public void Low_order_public_keys_are_rejected(string publicKeyHex)
    {
        using var keyPair = X25519KeyPair.Generate();
        Assert.Throws<KeyAgreementException>(() => keyPair.Agree(Hex.Decode(publicKeyHex)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(64)]
    public void Wrong_size_public_keys_are_rejected(int size)
    {
        using var keyPair = X25519KeyPair.Generate();
        Assert.Throws<KeyAgreementException>(() => keyPair.Agree(new byte[size]));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(16)]
    [InlineData(31)]
    [InlineData(33)]
    public void Wrong_size_private_keys_are_rejected(int size)
    {
        Assert.Throws<ArgumentException>(() => X25519KeyPair.FromPrivateKey(new byte[size]));
    }

    [Fact]
    public void Rejection_messages_reveal_no_key_material()
    {
        using var keyPair = X25519KeyPair.Generate();
        var thrown = Assert.Throws<KeyAgreementException>(() => keyPair.Agree(new byte[32]));
        Assert.DoesNotContain(Convert.ToHexString(keyPair.PublicKey), thrown.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("X25519 shared secret is all zero", thrown.Message);
    }

    [Fact]
    public void A_disposed_key_can_no_longer_agree()
    {
        var keyPair = X25519KeyPair.Generate();
        using var peer = X25519KeyPair.Generate();
        keyPair.Dispose();
        Assert.Throws<ObjectDisposedException>(() => keyPair.Agree(peer.PublicKey));
    }
}
