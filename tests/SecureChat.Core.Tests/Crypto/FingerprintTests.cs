using System.Text.RegularExpressions;
using SecureChat.Core.Crypto;

namespace SecureChat.Core.Tests.Crypto;

public partial class FingerprintTests
{
    private static readonly byte[] KeyA = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
    private static readonly byte[] KeyB = Enumerable.Range(0, 32).Select(i => (byte)(255 - i)).ToArray();

    [GeneratedRegex("^[0-9]{5}( [0-9]{5}){5}$")]
    private static partial Regex SixGroupsOfFive();

    [Fact]
    public void Fingerprint_is_30_digits_in_six_groups_of_five()
    {
        var fingerprint = Fingerprint.ForIdentity("alice", KeyA);

        Assert.Matches(SixGroupsOfFive(), fingerprint);
        Assert.Equal(30, fingerprint.Count(char.IsAsciiDigit));
    }

    [Fact]
    public void Fingerprint_is_deterministic()
    {
        Assert.Equal(Fingerprint.ForIdentity("alice", KeyA), Fingerprint.ForIdentity("alice", KeyA));
    }

    [Fact]
    public void Fingerprint_differs_per_key()
    {
        Assert.NotEqual(Fingerprint.ForIdentity("alice", KeyA), Fingerprint.ForIdentity("alice", KeyB));
        var oneBitOff = (byte[])KeyA.Clone();
        oneBitOff[31] ^= 1;
        Assert.NotEqual(Fingerprint.ForIdentity("alice", KeyA), Fingerprint.ForIdentity("alice", oneBitOff));
    }

    [Fact]
    public void Fingerprint_differs_per_client_id()
    {
        Assert.NotEqual(Fingerprint.ForIdentity("alice", KeyA), Fingerprint.ForIdentity("alicf", KeyA));
        Assert.NotEqual(Fingerprint.ForIdentity("alice", KeyA), Fingerprint.ForIdentity("bob", KeyA));
    }

    [Fact]
    public void Null_client_id_is_refused()
    {
        Assert.Throws<ArgumentNullException>(() => Fingerprint.ForIdentity(null!, KeyA));
    }

    [Fact]
    public void A_client_id_longer_than_its_16_bit_length_prefix_is_refused()
    {
        Assert.Throws<ArgumentException>(() => Fingerprint.ForIdentity(new string('a', 65536), KeyA));
    }

    [Fact]
    public void Safety_number_is_symmetric_in_argument_order()
    {
        var ab = Fingerprint.SafetyNumber("alice", KeyA, "bob", KeyB);
        var ba = Fingerprint.SafetyNumber("bob", KeyB, "alice", KeyA);

        Assert.Equal(ab, ba);
        Assert.Equal(60, ab.Count(char.IsAsciiDigit));
        Assert.Contains(Fingerprint.ForIdentity("alice", KeyA), ab, StringComparison.Ordinal);
        Assert.Contains(Fingerprint.ForIdentity("bob", KeyB), ab, StringComparison.Ordinal);
    }

    [Fact]
    public void Safety_number_changes_when_either_key_changes()
    {
        using var carol = IdentityKeyPair.Generate();
        var original = Fingerprint.SafetyNumber("alice", KeyA, "bob", KeyB);

        Assert.NotEqual(original, Fingerprint.SafetyNumber("alice", carol.PublicKey, "bob", KeyB));
        Assert.NotEqual(original, Fingerprint.SafetyNumber("alice", KeyA, "bob", carol.PublicKey));
    }
}
