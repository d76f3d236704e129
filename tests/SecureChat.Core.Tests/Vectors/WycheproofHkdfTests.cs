using SecureChat.Core.Crypto;
using SecureChat.Core.Tests.TestSupport;
using Xunit.Abstractions;

namespace SecureChat.Core.Tests.Vectors;

/// <summary>Wycheproof HKDF-SHA256: valid cases must match okm; invalid ones (size above 255*32) must be refused.</summary>
public class WycheproofHkdfTests(ITestOutputHelper output)
{
    [Fact]
    public void Hkdf_sha256_matches_every_wycheproof_case()
    {
        const string File = "wycheproof/hkdf_sha256_test.json";
        using var document = TestVectors.Load(File);
        var tally = new VectorTally(Path.GetFileName(File));
        foreach (var group in document.RootElement.GetProperty("testGroups").EnumerateArray())
        {
            foreach (var test in group.GetProperty("tests").EnumerateArray())
            {
                var id = $"tcId {test.Int("tcId")}";
                var ikm = test.Hex("ikm");
                var salt = test.Hex("salt");
                var info = test.Hex("info");
                var size = test.Int("size");
                switch (test.Str("result"))
                {
                    case "valid":
                        var okm = Kdf.Hkdf(ikm, salt, info, size);
                        tally.Record(id, okm.AsSpan().SequenceEqual(test.Hex("okm")), "okm differs");
                        break;
                    case "invalid":
                        bool refused;
                        try
                        {
                            Kdf.Hkdf(ikm, salt, info, size);
                            refused = false;
                        }
                        catch (ArgumentException)
                        {
                            refused = true;
                        }

                        tally.Record(id, refused, "invalid size was accepted");
                        break;
                    default:
                        tally.Record(id, false, "unexpected result");
                        break;
                }
            }
        }

        tally.Report(output, minimumRan: 86);
    }
}
