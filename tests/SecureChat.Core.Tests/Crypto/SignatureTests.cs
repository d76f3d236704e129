using SecureChat.Core.Crypto;

namespace SecureChat.Core.Tests.Crypto;

public class SignatureTests
{
    private static readonly byte[] Message = "bundle content bytes"u8.ToArray();

    [Fact]
    public void A_labelled_signature_verifies()
    {
        using var identity = IdentityKeyPair.Generate();
        var signature = identity.Sign(Labels.BundleSignature, Message);

        Assert.Equal(IdentityKeyPair.SignatureSize, signature.Length);
        Assert.True(Signatures.Verify(identity.PublicKey, Labels.BundleSignature, Message, signature));
    }

    [Fact]
    public void A_signature_under_one_label_does_not_verify_under_another()
    {
        using var identity = IdentityKeyPair.Generate();
        var signature = identity.Sign(Labels.BundleSignature, Message);

        Assert.False(Signatures.Verify(identity.PublicKey, Labels.CommitSignature, Message, signature));
        Assert.False(Signatures.Verify(identity.PublicKey, Labels.MessageSignature, Message, signature));
        Assert.False(Signatures.VerifyRaw(identity.PublicKey, Message, signature));
    }

    [Fact]
    public void A_raw_signature_does_not_pass_as_a_labelled_one()
    {
        using var identity = IdentityKeyPair.Generate();
        var raw = identity.SignRaw(Message);

        Assert.True(Signatures.VerifyRaw(identity.PublicKey, Message, raw));
        Assert.False(Signatures.Verify(identity.PublicKey, Labels.BundleSignature, Message, raw));
    }

    [Fact]
    public void Labelled_signing_signs_label_zero_byte_message()
    {
        using var identity = IdentityKeyPair.Generate();
        var signature = identity.Sign(Labels.CommitSignature, Message);
        Assert.True(Signatures.VerifyRaw(identity.PublicKey, Kdf.LabeledInfo(Labels.CommitSignature, Message), signature));
    }

    [Fact]
    public void Every_flipped_bit_of_the_message_is_rejected()
    {
        using var identity = IdentityKeyPair.Generate();
        var signature = identity.Sign(Labels.BundleSignature, Message);
        for (var bit = 0; bit < Message.Length * 8; bit++)
        {
            Assert.False(Signatures.Verify(identity.PublicKey, Labels.BundleSignature, Flip(Message, bit), signature));
        }
    }

    [Fact]
    public void Every_flipped_bit_of_the_signature_is_rejected()
    {
        using var identity = IdentityKeyPair.Generate();
        var signature = identity.Sign(Labels.BundleSignature, Message);
        for (var bit = 0; bit < signature.Length * 8; bit++)
        {
            Assert.False(Signatures.Verify(identity.PublicKey, Labels.BundleSignature, Message, Flip(signature, bit)));
        }
    }

    [Fact]
    public void Every_flipped_bit_of_the_public_key_is_rejected()
    {
        using var identity = IdentityKeyPair.Generate();
        var signature = identity.Sign(Labels.BundleSignature, Message);
        for (var bit = 0; bit < identity.PublicKey.Length * 8; bit++)
        {
            Assert.False(Signatures.Verify(Flip(identity.PublicKey, bit), Labels.BundleSignature, Message, signature));
        }
    }

    [Fact]
    public void Another_identity_key_does_not_verify()
    {
        using var alice = IdentityKeyPair.Generate();
        using var mallory = IdentityKeyPair.Generate();
        var signature = alice.Sign(Labels.BundleSignature, Message);
        Assert.False(Signatures.Verify(mallory.PublicKey, Labels.BundleSignature, Message, signature));
    }

    [Theory]
    [InlineData(0, 64)]
    [InlineData(31, 64)]
    [InlineData(33, 64)]
    [InlineData(32, 0)]
    [InlineData(32, 63)]
    [InlineData(32, 65)]
    public void Wrong_sized_keys_or_signatures_are_false_not_exceptions(int keySize, int signatureSize)
    {
        using var identity = IdentityKeyPair.Generate();
        var signature = identity.Sign(Labels.BundleSignature, Message);
        var key = new byte[keySize];
        identity.PublicKey.AsSpan(0, Math.Min(keySize, 32)).CopyTo(key);
        var sig = new byte[signatureSize];
        signature.AsSpan(0, Math.Min(signatureSize, 64)).CopyTo(sig);

        Assert.False(Signatures.Verify(key, Labels.BundleSignature, Message, sig));
    }

    [Fact]
    public void Signing_is_deterministic_and_seed_round_trips()
    {
        using var identity = IdentityKeyPair.Generate();
        var seed = identity.ExportSeed();
        using var restored = IdentityKeyPair.FromSeed(seed);

        Assert.Equal(IdentityKeyPair.SeedSize, seed.Length);
        Assert.Equal(identity.PublicKey, restored.PublicKey);
        Assert.Equal(identity.Sign(Labels.BundleSignature, Message), restored.Sign(Labels.BundleSignature, Message));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(64)]
    public void Wrong_sized_seeds_are_refused(int size)
    {
        Assert.Throws<ArgumentException>(() => IdentityKeyPair.FromSeed(new byte[size]));
    }

    private static byte[] Flip(byte[] source, int bit)
    {
        var copy = (byte[])source.Clone();
        copy[bit / 8] ^= (byte)(1 << (bit % 8));
        return copy;
    }
}
