using System.Text.Json;
using SecureChat.Core.Crypto;
using SecureChat.Core.Tests.TestSupport;
using SecureChat.Core.Wire;
using Xunit.Abstractions;

namespace SecureChat.Core.Tests.Vectors;

/// <summary>
/// Every Wycheproof AEAD case our API can express: 256-bit key, 96-bit nonce, 128-bit tag.
/// Valid cases must seal to ct||tag and open to msg; invalid cases must not open.
/// Other parameter groups (AES-128/192, short/long IVs, short tags, other ChaCha nonce sizes)
/// are counted as unsupported: Aead refuses those sizes by design.
/// </summary>
public class WycheproofAeadTests(ITestOutputHelper output)
{
    [AesGcmFact]
    public void Aes_256_gcm_matches_every_supported_wycheproof_case() =>
        RunFile("wycheproof/aes_gcm_test.json", CipherSuite.Aes256GcmX25519Ed25519Sha256, minimumRan: 66);

    [Fact]
    public void Chacha20_poly1305_matches_every_supported_wycheproof_case() =>
        RunFile("wycheproof/chacha20_poly1305_test.json", CipherSuite.Chacha20Poly1305X25519Ed25519Sha256, minimumRan: 316);

    private void RunFile(string file, CipherSuite suite, int minimumRan)
    {
        using var document = TestVectors.Load(file);
        var tally = new VectorTally(Path.GetFileName(file));
        foreach (var group in document.RootElement.GetProperty("testGroups").EnumerateArray())
        {
            var supported = group.Int("keySize") == 256 && group.Int("ivSize") == 96 && group.Int("tagSize") == 128;
            foreach (var test in group.GetProperty("tests").EnumerateArray())
            {
                if (!supported)
                {
                    tally.Skip();
                    continue;
                }

                var id = $"tcId {test.Int("tcId")}";
                var (passed, detail) = RunCase(suite, test);
                tally.Record(id, passed, detail);
            }
        }

        tally.Report(output, minimumRan);
    }

    private static (bool Passed, string? Detail) RunCase(CipherSuite suite, JsonElement test)
    {
        var key = test.Hex("key");
        var iv = test.Hex("iv");
        var aad = test.Hex("aad");
        var msg = test.Hex("msg");
        byte[] sealedBytes = [.. test.Hex("ct"), .. test.Hex("tag")];
        var result = test.Str("result");

        var opened = Aead.TryOpen(suite, key, iv, aad, sealedBytes, out var plaintext);
        switch (result)
        {
            case "valid":
                if (!opened || !plaintext.AsSpan().SequenceEqual(msg))
                {
                    return (false, "valid case did not open to msg");
                }

                var resealed = Aead.Seal(suite, key, iv, aad, msg);
                return resealed.AsSpan().SequenceEqual(sealedBytes) ? (true, null) : (false, "seal differs from ct||tag");
            case "invalid":
                return opened ? (false, "invalid case opened") : (true, null);
            default:
                return (false, $"unexpected result '{result}'");
        }
    }
}
