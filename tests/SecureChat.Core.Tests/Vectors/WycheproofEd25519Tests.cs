using SecureChat.Core.Crypto;
using SecureChat.Core.Tests.TestSupport;
using Xunit.Abstractions;

namespace SecureChat.Core.Tests.Vectors;

/// <summary>Wycheproof Ed25519 verification through Signatures.VerifyRaw: valid verifies, invalid does not.</summary>
public class WycheproofEd25519Tests(ITestOutputHelper output)
{
    [Fact]
    public void Ed25519_verify_matches_every_wycheproof_case()
    {
        const string File = "wycheproof/ed25519_test.json";
        using var document = TestVectors.Load(File);
        var tally = new VectorTally(Path.GetFileName(File));
        foreach (var group in document.RootElement.GetProperty("testGroups").EnumerateArray())
        {
            var publicKey = group.GetProperty("publicKey").Hex("pk");
            foreach (var test in group.GetProperty("tests").EnumerateArray())
            {
                var id = $"tcId {test.Int("tcId")}";
                var verified = Signatures.VerifyRaw(publicKey, test.Hex("msg"), test.Hex("sig"));
                switch (test.Str("result"))
                {
                    case "valid":
                        tally.Record(id, verified, "valid signature rejected");
                        break;
                    case "invalid":
                        tally.Record(id, !verified, "invalid signature accepted");
                        break;
                    default:
                        // The file has no "acceptable" Ed25519 cases; a new one must be looked at, not waved through.
                        tally.Record(id, false, "unexpected result");
                        break;
                }
            }
        }

        tally.Report(output, minimumRan: 151);
    }
}
