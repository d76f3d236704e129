using System.Text;
using SecureChat.Core.Crypto;

namespace SecureChat.Core.Tests.Crypto;

public class KdfTests
{
    private static readonly byte[] Ikm = Enumerable.Repeat((byte)0x0b, 22).ToArray();
    private static readonly byte[] Salt = Enumerable.Range(0, 13).Select(i => (byte)i).ToArray();
    private static readonly byte[] Context = "room-1|epoch-7"u8.ToArray();

    [Fact]
    public void Hkdf_is_deterministic()
    {
        var first = Kdf.Hkdf(Ikm, Salt, "info"u8, 42);
        var second = Kdf.Hkdf(Ikm, Salt, "info"u8, 42);

        Assert.Equal(42, first.Length);
        Assert.Equal(first, second);
    }

    [Fact]
    public void Hkdf_equals_extract_then_expand()
    {
        var prk = Kdf.Extract(Ikm, Salt);

        Assert.Equal(32, prk.Length);
        Assert.Equal(Kdf.Expand(prk, "info"u8, 100), Kdf.Hkdf(Ikm, Salt, "info"u8, 100));
    }

    [Fact]
    public void Shorter_outputs_are_prefixes_of_longer_ones()
    {
        var longOutput = Kdf.Hkdf(Ikm, Salt, "info"u8, 96);
        Assert.Equal(longOutput[..17], Kdf.Hkdf(Ikm, Salt, "info"u8, 17));
    }

    [Fact]
    public void Derive_uses_label_zero_byte_context_as_info()
    {
        var expectedInfo = Encoding.UTF8.GetBytes(Labels.EpochSecret).Concat(new byte[] { 0 }).Concat(Context).ToArray();

        Assert.Equal(expectedInfo, Kdf.LabeledInfo(Labels.EpochSecret, Context));
        Assert.Equal(Kdf.Hkdf(Ikm, Salt, expectedInfo, 32), Kdf.Derive(Labels.EpochSecret, Ikm, Salt, Context, 32));
    }

    [Fact]
    public void Different_labels_give_different_outputs()
    {
        var labels = new[]
        {
            Labels.WrapKey, Labels.EpochSecret, Labels.SenderChain, Labels.ChainStep, Labels.MessageKey, Labels.EpochCode,
        };
        var outputs = labels.Select(label => Convert.ToHexString(Kdf.Derive(label, Ikm, Salt, Context, 32))).ToList();

        Assert.Equal(labels.Length, outputs.Distinct().Count());
    }

    [Fact]
    public void Different_contexts_give_different_outputs()
    {
        var a = Kdf.Derive(Labels.MessageKey, Ikm, Salt, "ctx-a"u8, 32);
        var b = Kdf.Derive(Labels.MessageKey, Ikm, Salt, "ctx-b"u8, 32);
        var empty = Kdf.Derive(Labels.MessageKey, Ikm, Salt, [], 32);

        Assert.NotEqual(a, b);
        Assert.NotEqual(a, empty);
    }

    [Fact]
    public void Label_and_context_boundary_cannot_be_shifted()
    {
        // "SC1/a" + context "b..." must differ from "SC1/ab" + context "...": the 0x00 separator prevents it.
        var shifted = Kdf.Derive("SC1/ab", Ikm, Salt, "c"u8, 32);
        var original = Kdf.Derive("SC1/a", Ikm, Salt, "bc"u8, 32);
        Assert.NotEqual(original, shifted);
    }

    [Fact]
    public void Different_salts_and_input_keys_give_different_outputs()
    {
        var baseline = Kdf.Derive(Labels.MessageKey, Ikm, Salt, Context, 32);
        Assert.NotEqual(baseline, Kdf.Derive(Labels.MessageKey, Ikm, [.. Salt, 1], Context, 32));
        Assert.NotEqual(baseline, Kdf.Derive(Labels.MessageKey, [.. Ikm, 1], Salt, Context, 32));
    }

    [Fact]
    public void Empty_or_null_label_is_refused()
    {
        Assert.ThrowsAny<ArgumentException>(() => Kdf.LabeledInfo(string.Empty, Context));
        Assert.ThrowsAny<ArgumentException>(() => Kdf.LabeledInfo(null!, Context));
    }

    [Fact]
    public void Output_longer_than_255_hash_blocks_is_refused()
    {
        Assert.Equal(8160, Kdf.Hkdf(Ikm, Salt, [], Kdf.MaxOutput).Length);
        Assert.ThrowsAny<ArgumentException>(() => Kdf.Hkdf(Ikm, Salt, [], Kdf.MaxOutput + 1));
        Assert.ThrowsAny<ArgumentException>(() => Kdf.Expand(new byte[32], [], Kdf.MaxOutput + 1));
        Assert.ThrowsAny<ArgumentException>(() => Kdf.Derive(Labels.MessageKey, Ikm, Salt, Context, Kdf.MaxOutput + 1));
    }

    [Fact]
    public void Negative_output_length_is_refused()
    {
        Assert.ThrowsAny<ArgumentException>(() => Kdf.Hkdf(Ikm, Salt, [], -1));
    }

    [Fact]
    public void Labeled_sha256_differs_per_label_and_from_plain_sha256()
    {
        var data = "transcript"u8.ToArray();
        var transcript = Hashing.LabeledSha256(Labels.TranscriptHash, data);
        var roster = Hashing.LabeledSha256(Labels.RosterHash, data);

        Assert.Equal(32, transcript.Length);
        Assert.NotEqual(transcript, roster);
        Assert.NotEqual(Hashing.Sha256(data), transcript);
        Assert.Equal(Hashing.Sha256(Kdf.LabeledInfo(Labels.TranscriptHash, data)), transcript);
    }

    [Fact]
    public void Sha256_matches_the_fips_180_abc_vector()
    {
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            Convert.ToHexStringLower(Hashing.Sha256("abc"u8)));
    }

    [Fact]
    public void Fixed_time_equals_compares_contents_and_lengths()
    {
        Assert.True(Hashing.FixedTimeEquals([1, 2, 3], [1, 2, 3]));
        Assert.False(Hashing.FixedTimeEquals([1, 2, 3], [1, 2, 4]));
        Assert.False(Hashing.FixedTimeEquals([1, 2, 3], [1, 2]));
    }
}
