using CsCheck;
using SecureChat.Core.Tests.TestSupport;
using SecureChat.Core.Wire;

namespace SecureChat.Core.Tests.Wire;

public class HeaderAadPropertyTests
{
    private static readonly Gen<(string Room, string Sender, ulong Epoch, ulong Sequence, byte[] Nonce)> Header =
        Gen.Select(Gen.Char["abc"].Array[0, 4].Select(c => new string(c)), Gen.Char["abc"].Array[0, 4].Select(c => new string(c)), Gen.ULong[0, 3], Gen.ULong[0, 3], Gen.Byte[0, 1].Array[0, 3]);

    [Fact]
    public Task Different_headers_never_encode_to_the_same_bytes() => Bounded.Run(() =>
        Gen.Select(Header, Header).Sample((a, b) =>
        {
            var same = a.Room == b.Room && a.Sender == b.Sender && a.Epoch == b.Epoch && a.Sequence == b.Sequence && a.Nonce.AsSpan().SequenceEqual(b.Nonce);
            var encodedA = HeaderAad.Encode(2, CipherSuite.Chacha20Poly1305X25519Ed25519Sha256, a.Room, a.Epoch, a.Sender, a.Sequence, a.Nonce, [3], [7]);
            var encodedB = HeaderAad.Encode(2, CipherSuite.Chacha20Poly1305X25519Ed25519Sha256, b.Room, b.Epoch, b.Sender, b.Sequence, b.Nonce, [3], [7]);
            Assert.Equal(same, encodedA.AsSpan().SequenceEqual(encodedB));
        }, iter: 10_000));
}
