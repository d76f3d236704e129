using System.Text.Json;
using SecureChat.Core.Crypto;
using SecureChat.Core.Tests.TestSupport;
using Xunit.Abstractions;

namespace SecureChat.Core.Tests.Vectors;

/// <summary>
/// Wycheproof xdh_comp cases through X25519KeyPair.FromPrivateKey(private).Agree(public).
/// Policy per result and flag:
/// <list type="bullet">
/// <item>valid: must agree and match <c>shared</c>.</item>
/// <item>invalid: must throw <see cref="KeyAgreementException"/>.</item>
/// <item>acceptable with an all-zero <c>shared</c> (flag ZeroSharedSecret, low-order public keys): must be
/// rejected with <see cref="KeyAgreementException"/>, because we refuse every all-zero result (RFC 7748 §6.1).</item>
/// <item>other acceptable cases (Twist, NonCanonicalPublic, SmallPublicKey without a zero result,
/// EdgeCaseMultiplication): either outcome is allowed, but an accepted case must match <c>shared</c>
/// and a refused one must be a <see cref="KeyAgreementException"/>, never another exception.</item>
/// </list>
/// </summary>
public class WycheproofX25519Tests(ITestOutputHelper output)
{
    [Fact]
    public void X25519_matches_every_wycheproof_case()
    {
        const string File = "wycheproof/x25519_test.json";
        using var document = TestVectors.Load(File);
        var tally = new VectorTally(Path.GetFileName(File));
        int acceptableAccepted = 0, acceptableRejected = 0;
        foreach (var group in document.RootElement.GetProperty("testGroups").EnumerateArray())
        {
            foreach (var test in group.GetProperty("tests").EnumerateArray())
            {
                var (passed, detail, outcome) = RunCase(test);
                tally.Record($"tcId {test.Int("tcId")}", passed, detail);
                if (test.Str("result") == "acceptable" && outcome == Outcome.Agreed)
                {
                    acceptableAccepted++;
                }
                else if (test.Str("result") == "acceptable")
                {
                    acceptableRejected++;
                }
            }
        }

        output.WriteLine($"x25519 acceptable cases: {acceptableAccepted} agreed, {acceptableRejected} rejected");
        tally.Report(output, minimumRan: 518);
    }

    private enum Outcome
    {
        Agreed,
        Rejected,
        Crashed,
    }

    private static (bool Passed, string? Detail, Outcome Outcome) RunCase(JsonElement test)
    {
        var expected = test.Hex("shared");
        var zeroResult = expected.All(b => b == 0) || test.Flags().Contains("ZeroSharedSecret");
        byte[]? shared = null;
        Outcome outcome;
        string? error = null;
        try
        {
            using var keyPair = X25519KeyPair.FromPrivateKey(test.Hex("private"));
            shared = keyPair.Agree(test.Hex("public"));
            outcome = Outcome.Agreed;
        }
        catch (KeyAgreementException)
        {
            outcome = Outcome.Rejected;
        }
#pragma warning disable CA1031 // any other exception is the failure this test exists to report
        catch (Exception ex)
#pragma warning restore CA1031
        {
            outcome = Outcome.Crashed;
            error = ex.GetType().Name;
        }

        var matches = shared is not null && shared.AsSpan().SequenceEqual(expected);
        return (test.Str("result"), outcome) switch
        {
            (_, Outcome.Crashed) => (false, $"threw {error}", outcome),
            ("valid", Outcome.Agreed) => (matches, "shared secret differs", outcome),
            ("valid", _) => (false, "valid case rejected", outcome),
            ("invalid", _) => (outcome == Outcome.Rejected, "invalid case agreed", outcome),
            ("acceptable", Outcome.Agreed) when zeroResult => (false, "all-zero shared secret accepted", outcome),
            ("acceptable", Outcome.Agreed) => (matches, "accepted but shared secret differs", outcome),
            ("acceptable", Outcome.Rejected) => (true, null, outcome),
            _ => (false, "unexpected result", outcome),
        };
    }
}
