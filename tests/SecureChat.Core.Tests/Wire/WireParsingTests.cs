using Google.Protobuf;
using SecureChat.Core.Tests.TestSupport;
using SecureChat.Core.Wire;

namespace SecureChat.Core.Tests.Wire;

public class WireParsingTests
{
    [Fact]
    public void Signed_bundle_and_its_content_round_trip()
    {
        var bundle = Envelopes.Bundle();
        var parsed = WireParsing.Parse(SignedBundle.Parser, bundle.ToByteArray());
        var content = WireParsing.Parse(BundleContent.Parser, parsed.Content);

        Assert.Equal(bundle, parsed);
        Assert.Equal("alice@example", content.ClientId);
    }

    [Fact]
    public void Commit_content_and_application_plaintext_round_trip()
    {
        Assert.Equal(Envelopes.Commit(), WireParsing.Parse(CommitContent.Parser, Envelopes.Commit().ToByteArray()));
        Assert.Equal(Envelopes.Plaintext(), WireParsing.Parse(ApplicationPlaintext.Parser, Envelopes.Plaintext().ToByteArray()));
    }

    [Fact]
    public void Malformed_bytes_become_an_unparsable_wire_format_exception()
    {
        var thrown = Assert.Throws<WireFormatException>(() => WireParsing.Parse(CommitContent.Parser, new byte[] { 0x0A, 0x7F }));
        Assert.Equal(WireError.Unparsable, thrown.Error);
        Assert.IsType<InvalidProtocolBufferException>(thrown.InnerException);
    }

    [Fact]
    public void Invalid_utf8_in_a_string_field_becomes_an_unparsable_wire_format_exception()
    {
        // BundleContent.client_id (field 1, length-delimited) = 0xC3 0x28, an invalid two-byte sequence.
        byte[] bytes = [0x0A, 0x02, 0xC3, 0x28];
        var thrown = Assert.Throws<WireFormatException>(() => WireParsing.Parse(BundleContent.Parser, bytes));
        Assert.Equal(WireError.Unparsable, thrown.Error);
        Assert.IsType<InvalidProtocolBufferException>(thrown.InnerException);
        Assert.False(WireParsing.TryParse(BundleContent.Parser, bytes, out var message));
        Assert.Null(message);
    }

    [Fact]
    public void Try_parse_returns_the_message_on_success()
    {
        Assert.True(WireParsing.TryParse(ApplicationPlaintext.Parser, Envelopes.Plaintext().ToByteArray(), out var plaintext));
        Assert.Equal("hello, room", plaintext.Body.ToStringUtf8());
    }

    [Fact]
    public void Deeply_nested_groups_end_in_the_typed_error()
    {
        // 200 nested start-group tags exceed protobuf's recursion limit.
        var bytes = Enumerable.Repeat((byte)0x0B, 200).ToArray();
        Assert.Throws<WireFormatException>(() => WireParsing.Parse(Envelope.Parser, bytes));
    }
}
