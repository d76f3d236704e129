using SecureChat.Client.Session;
using SecureChat.Core.Crypto;
using SecureChat.Protocol.Identity;

namespace SecureChat.Client.Tests.Session;

/// <summary>/trust accepts exactly the key the user compared.</summary>
public sealed class KeyTrustTests
{
    private static readonly byte[] Pinned = [.. Enumerable.Repeat((byte)1, 32)];
    private static readonly byte[] Compared = [.. Enumerable.Repeat((byte)2, 32)];
    private static readonly byte[] ChangedAgain = [.. Enumerable.Repeat((byte)3, 32)];
    private readonly TrustStore _store = new();

    public KeyTrustTests() => _store.Observe("bob", Pinned);

    [Fact]
    public void A_second_change_between_comparing_and_trusting_is_not_accepted_with_the_first()
    {
        _store.Observe("bob", Compared); // the user reads this fingerprint to bob over the phone...
        _store.Observe("bob", ChangedAgain); // ...while the server swaps in another key

        var outcome = KeyTrust.Apply(_store, "bob", Fingerprint.ForIdentity("bob", Compared));

        Assert.Equal(new TrustUpdated("bob", Fingerprint.ForIdentity("bob", Compared)), outcome);
        Assert.True(_store.IsTrusted("bob", Compared));
        Assert.False(_store.IsTrusted("bob", ChangedAgain));
        Assert.Equal(ChangedAgain, Assert.Single(_store.PendingChangesFor("bob")).NewKey);
    }

    [Fact]
    public void Without_a_fingerprint_it_lists_every_waiting_key_and_accepts_nothing()
    {
        _store.Observe("bob", Compared);
        _store.Observe("bob", ChangedAgain);

        var listed = Assert.IsType<PendingKeys>(KeyTrust.Apply(_store, "bob", typedFingerprint: null));

        var pinned = Fingerprint.ForIdentity("bob", Pinned);
        Assert.Equal([new PendingKey(pinned, Fingerprint.ForIdentity("bob", Compared)), new PendingKey(pinned, Fingerprint.ForIdentity("bob", ChangedAgain))], listed.Keys);
        Assert.False(_store.IsTrusted("bob", Compared));
        Assert.False(_store.IsTrusted("bob", ChangedAgain));
    }

    [Theory]
    [InlineData("")]
    [InlineData("12345")]
    [InlineData("pinned")]
    public void A_fingerprint_no_waiting_key_has_is_refused(string typed)
    {
        _store.Observe("bob", Compared);
        if (typed == "pinned")
        {
            typed = Fingerprint.ForIdentity("bob", Pinned);
        }

        var refused = Assert.IsType<TrustRefused>(KeyTrust.Apply(_store, "bob", typed));

        Assert.Equal((ClientErrorCode.TrustRefused, typed), (refused.Code, refused.TypedFingerprint));
        Assert.Equal(Fingerprint.ForIdentity("bob", Compared), Assert.Single(refused.Pending).NewFingerprint);
        Assert.False(_store.IsTrusted("bob", Compared));
        Assert.Empty(Assert.IsType<TrustRefused>(KeyTrust.Apply(_store, "carol", typed)).Pending);
    }

    [Fact]
    public void Spaces_in_the_typed_fingerprint_do_not_matter()
    {
        _store.Observe("bob", Compared);
        var fingerprint = Fingerprint.ForIdentity("bob", Compared);

        var respaced = " " + string.Join("  ", fingerprint.Replace(" ", string.Empty, StringComparison.Ordinal).Chunk(3).Select(c => new string(c)));

        Assert.IsType<TrustUpdated>(KeyTrust.Apply(_store, "bob", respaced));
        Assert.True(_store.IsTrusted("bob", Compared));
    }
}
