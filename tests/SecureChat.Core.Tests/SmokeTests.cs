using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;

namespace SecureChat.Core.Tests;

public class SmokeTests
{
    [Fact]
    public void Aead_round_trips_with_the_preferred_suite()
    {
        var key = new byte[32];
        var nonce = new byte[12];
        var sealedBytes = Aead.Seal(CipherSuites.Preferred, key, nonce, "ad"u8, "hello"u8);
        Assert.Equal("hello"u8.ToArray(), Aead.Open(CipherSuites.Preferred, key, nonce, "ad"u8, sealedBytes));
    }
}
