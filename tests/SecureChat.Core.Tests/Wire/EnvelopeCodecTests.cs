using Google.Protobuf;
using SecureChat.Core.Tests.TestSupport;
using SecureChat.Core.Wire;

namespace SecureChat.Core.Tests.Wire;

public class EnvelopeCodecTests
{
    public static TheoryData<MessageType> AllTypes => new(Envelopes.AllTypes);

    public static TheoryData<MessageType> TypesWithRequiredPayload => new(
        MessageType.Welcome, MessageType.Join, MessageType.Joined, MessageType.CommitRequest, MessageType.Commit, MessageType.Error);

    [Theory]
    [MemberData(nameof(AllTypes))]
    public void Every_message_type_round_trips_with_its_payload(MessageType type)
    {
        var envelope = Envelopes.Valid(type);
        var decoded = EnvelopeCodec.Decode(EnvelopeCodec.Encode(envelope));

        Assert.Equal(envelope, decoded);
        Assert.Equal(type, decoded.Type);
        Assert.Equal(envelope.PayloadCase, decoded.PayloadCase);
    }

    [Fact]
    public void Every_message_type_is_covered()
    {
        Assert.Equal(15, Envelopes.AllTypes.Count());
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(1u)]
    [InlineData(3u)]
    [InlineData(uint.MaxValue)]
    public void Other_protocol_versions_are_rejected_naming_both_versions(uint version)
    {
        var envelope = Envelopes.Valid(MessageType.Ping);
        envelope.Version = version;

        var thrown = Assert.Throws<WireFormatException>(() => EnvelopeCodec.Decode(envelope.ToByteArray()));
        Assert.Equal(WireError.UnsupportedVersion, thrown.Error);
        Assert.Equal(ErrorCode.UnsupportedVersion, thrown.ToErrorCode());
        Assert.Equal(version, thrown.PeerVersion);
        Assert.Null(thrown.ForeignError);
        Assert.Equal($"protocol version {version} is not supported; this peer speaks version 2", thrown.Message);
    }

    [Fact]
    public void An_error_in_another_version_is_read_leniently_so_a_refusal_can_be_understood()
    {
        // A v1 server refusing us: the envelope's fields 1-9 and the error payload are numbered alike in both versions.
        var refusal = new Envelope
        {
            Version = 1,
            Type = MessageType.Error,
            Error = new Error { Code = ErrorCode.UnsupportedVersion, Reason = "protocol version 2 is not supported", Fatal = true },
        };

        var thrown = Assert.Throws<WireFormatException>(() => EnvelopeCodec.Decode(refusal.ToByteArray()));

        Assert.Equal(1u, thrown.PeerVersion);
        Assert.Equal((ErrorCode.UnsupportedVersion, true), (thrown.ForeignError!.Code, thrown.ForeignError.Fatal));
        Assert.Equal("the server speaks protocol version 1; this client speaks 2", EnvelopeCodec.VersionMismatch(1));
        Assert.Equal("protocol version 1 is not supported; this server speaks version 2", EnvelopeCodec.VersionRefusal(1, "server"));
    }

    [Theory]
    [InlineData(MessageType.Leave)]
    [InlineData(MessageType.Invite)]
    public void Leave_and_invite_frames_carry_their_signed_payload(MessageType type)
    {
        var envelope = Envelopes.Valid(type);
        envelope.ClearPayload();

        Assert.Equal(WireError.InvalidEnvelope, Assert.Throws<WireFormatException>(() => EnvelopeCodec.Decode(envelope.ToByteArray())).Error);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(9)]
    public void An_application_envelope_carries_an_eight_byte_history_tag(int length)
    {
        var envelope = Envelopes.Valid(MessageType.Application);
        envelope.HistoryTag = ByteString.CopyFrom(new byte[length]);

        Assert.Equal(WireError.InvalidEnvelope, Assert.Throws<WireFormatException>(() => EnvelopeCodec.Decode(envelope.ToByteArray())).Error);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(13)]
    [InlineData(99)]
    [InlineData(-1)]
    public void Unknown_or_unspecified_types_are_rejected(int type)
    {
        var envelope = Envelopes.Valid(MessageType.Ping);
        envelope.Type = (MessageType)type;

        var thrown = Assert.Throws<WireFormatException>(() => EnvelopeCodec.Decode(envelope.ToByteArray()));
        Assert.Equal(WireError.InvalidEnvelope, thrown.Error);
    }

    [Theory]
    [MemberData(nameof(TypesWithRequiredPayload))]
    public void A_missing_payload_is_rejected(MessageType type)
    {
        var envelope = Envelopes.Valid(type);
        envelope.ClearPayload();

        var thrown = Assert.Throws<WireFormatException>(() => EnvelopeCodec.Decode(envelope.ToByteArray()));
        Assert.Equal(WireError.InvalidEnvelope, thrown.Error);
        Assert.Equal(ErrorCode.InvalidArgument, thrown.ToErrorCode());
    }

    [Theory]
    [MemberData(nameof(AllTypes))]
    public void A_payload_of_another_type_is_rejected(MessageType type)
    {
        var envelope = Envelopes.Valid(type);
        envelope.Joined = type == MessageType.Joined ? null : new Joined { CurrentEpoch = 1 };
        if (type == MessageType.Joined)
        {
            envelope.Hello = new Hello();
        }

        var thrown = Assert.Throws<WireFormatException>(() => EnvelopeCodec.Decode(envelope.ToByteArray()));
        Assert.Equal(WireError.InvalidEnvelope, thrown.Error);
    }

    [Fact]
    public void A_stored_naming_several_messages_lists_the_earlier_ones_in_number_order_below_the_one_it_names()
    {
        var stored = Envelopes.Valid(MessageType.Stored); // names room_seq 65,553
        stored.Stored = new Stored { Earlier = { new StoredMessage { Epoch = 4, Sequence = 15, RoomSeq = 65_550 }, new StoredMessage { Epoch = 4, Sequence = 16, RoomSeq = 65_552 } } };
        Assert.Equal(2, EnvelopeCodec.Decode(stored.ToByteArray()).Stored.Earlier.Count);

        foreach (var bad in new ulong[] { 65_553, 65_554, 65_551 - 1 })
        {
            var refused = stored.Clone();
            refused.Stored.Earlier[1].RoomSeq = bad; // not below the named one, or not above the one before
            Assert.Equal(WireError.InvalidEnvelope, Assert.Throws<WireFormatException>(() => EnvelopeCodec.Decode(refused.ToByteArray())).Error);
        }

        var relayed = Envelopes.Valid(MessageType.Relayed);
        relayed.Stored = stored.Stored.Clone(); // only STORED carries it
        Assert.Equal(WireError.InvalidEnvelope, Assert.Throws<WireFormatException>(() => EnvelopeCodec.Decode(relayed.ToByteArray())).Error);
    }

    [Theory]
    [InlineData(MessageType.Application)]
    [InlineData(MessageType.Join)]
    [InlineData(MessageType.Leave)]
    [InlineData(MessageType.Commit)]
    [InlineData(MessageType.Relayed)]
    [InlineData(MessageType.Stored)]
    [InlineData(MessageType.Ack)]
    public void Room_messages_without_a_room_are_rejected(MessageType type)
    {
        var envelope = Envelopes.Valid(type);
        envelope.RoomId = string.Empty;

        Assert.Equal(WireError.InvalidEnvelope, Assert.Throws<WireFormatException>(() => EnvelopeCodec.Decode(envelope.ToByteArray())).Error);
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("tab\t")]
    [InlineData("slash/")]
    [InlineData("ünïcode")]
    [InlineData("a\u0000b")]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123X")]
    public void Bad_sender_or_room_ids_are_rejected(string badId)
    {
        var badSender = Envelopes.Valid(MessageType.Application);
        badSender.SenderId = badId;
        var badRoom = Envelopes.Valid(MessageType.Application);
        badRoom.RoomId = badId;

        Assert.Equal(WireError.InvalidEnvelope, Assert.Throws<WireFormatException>(() => EnvelopeCodec.Decode(badSender.ToByteArray())).Error);
        Assert.Equal(WireError.InvalidEnvelope, Assert.Throws<WireFormatException>(() => EnvelopeCodec.Decode(badRoom.ToByteArray())).Error);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("alice@example.org")]
    [InlineData("Room_9-x.y")]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123")]
    public void Ids_of_1_to_64_allowed_characters_are_accepted(string id)
    {
        Assert.True(EnvelopeCodec.IsValidId(id));
        var envelope = Envelopes.Valid(MessageType.Application);
        envelope.SenderId = id;
        envelope.RoomId = id;
        Assert.Equal(id, EnvelopeCodec.Decode(envelope.ToByteArray()).RoomId);
    }

    [Fact]
    public void Empty_ids_are_not_valid_ids()
    {
        Assert.False(EnvelopeCodec.IsValidId(string.Empty));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(11)]
    [InlineData(13)]
    [InlineData(24)]
    public void Application_with_a_wrong_nonce_size_is_rejected(int nonceSize)
    {
        var envelope = Envelopes.Valid(MessageType.Application);
        envelope.Nonce = ByteString.CopyFrom(new byte[nonceSize]);

        Assert.Equal(WireError.InvalidEnvelope, Assert.Throws<WireFormatException>(() => EnvelopeCodec.Decode(envelope.ToByteArray())).Error);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(15)]
    public void Application_with_a_ciphertext_shorter_than_its_tag_is_rejected(int length)
    {
        var envelope = Envelopes.Valid(MessageType.Application);
        envelope.Ciphertext = ByteString.CopyFrom(new byte[length]);

        Assert.Equal(WireError.InvalidEnvelope, Assert.Throws<WireFormatException>(() => EnvelopeCodec.Decode(envelope.ToByteArray())).Error);
    }

    [Fact]
    public void Application_with_exactly_a_tag_of_ciphertext_is_accepted()
    {
        var envelope = Envelopes.Valid(MessageType.Application);
        envelope.Ciphertext = ByteString.CopyFrom(new byte[16]);
        Assert.Equal(16, EnvelopeCodec.Decode(envelope.ToByteArray()).Ciphertext.Length);
    }

    [Theory]
    [MemberData(nameof(AllTypes))]
    public void Every_truncation_of_a_valid_envelope_is_rejected_or_still_valid(MessageType type)
    {
        var bytes = Envelopes.Valid(type).ToByteArray();
        for (var length = 0; length < bytes.Length; length++)
        {
            try
            {
                EnvelopeCodec.Decode(bytes.AsSpan(0, length));
            }
            catch (WireFormatException ex)
            {
                Assert.True(ex.Error is WireError.Unparsable or WireError.InvalidEnvelope or WireError.UnsupportedVersion, $"{ex.Error} at {length}");
            }
        }
    }

    [Fact]
    public void Garbage_is_unparsable()
    {
        var thrown = Assert.Throws<WireFormatException>(() => EnvelopeCodec.Decode([0xFF, 0xFF, 0xFF, 0xFF, 0xFF]));
        Assert.Equal(WireError.Unparsable, thrown.Error);
        Assert.Equal(ErrorCode.MalformedFrame, thrown.ToErrorCode());
    }

    [Fact]
    public void Invalid_utf8_in_an_id_is_unparsable_not_a_decoder_exception()
    {
        // version=1, type=PING, sender_id = one byte 0xFF (not UTF-8)
        byte[] bytes = [0x08, 0x01, 0x10, 0x0A, 0x1A, 0x01, 0xFF];
        Assert.Equal(WireError.Unparsable, Assert.Throws<WireFormatException>(() => EnvelopeCodec.Decode(bytes)).Error);
    }

    [Fact]
    public void Encode_refuses_null()
    {
        Assert.Throws<ArgumentNullException>(() => EnvelopeCodec.Encode(null!));
        Assert.Throws<ArgumentNullException>(() => EnvelopeCodec.Validate(null!));
    }
}
