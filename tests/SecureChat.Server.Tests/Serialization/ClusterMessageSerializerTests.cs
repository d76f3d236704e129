using Akka.Actor;
using Akka.Serialization;
using Akka.TestKit.Xunit2;
using Google.Protobuf;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Relay;
using SecureChat.Server.Connections;
using SecureChat.Server.Messaging;
using SecureChat.Server.Relays;
using SecureChat.Server.Rooms;
using SecureChat.Server.Serialization;
using SecureChat.Testing.RawClients;
using StoredProto = SecureChat.Server.Serialization.Proto;

namespace SecureChat.Server.Tests.Serialization;

/// <summary>
/// Every message that can cross nodes, every room event and the room snapshot go through <see cref="ClusterMessageSerializer"/>
/// (bound by its HOCON, as the server binds it) and come back equal, field by field, actor references included.
/// </summary>
public sealed class ClusterMessageSerializerTests() : TestKit(ClusterMessageSerializer.Hocon)
{
    private readonly TestMember _alice = new("alice");
    private readonly TestMember _bob = new("bob");

    /// <summary>One sample of every type the serializer writes, every field set to something other than its default.</summary>
    private IEnumerable<object> Samples()
    {
        var connection = CreateTestProbe().Ref;
        var other = CreateTestProbe().Ref;
        var relay = CreateTestProbe().Ref;
        var roster = new[] { Member(_alice), Member(_bob) };
        var hash = ByteString.CopyFrom(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
        var policy = new RoomPolicy { Admission = Admission.Invite, AbsenceLimitMs = 7_200_000 };
        var signedInvite = new SignedInvite { Content = ByteString.CopyFromUtf8("invite content"), Signature = ByteString.CopyFrom(new byte[64]) };
        var leave = new SignedLeave { Content = ByteString.CopyFromUtf8("leave content"), Signature = ByteString.CopyFrom(new byte[64]) };
        var durable = new RoomDurableState(7, CipherSuite.Chacha20Poly1305X25519Ed25519Sha256, roster, hash)
        {
            Policy = policy,
            Admissions = new AdmissionSnapshot([new AdmittedItem(hash, 99)], [new AdmittedItem(ByteString.CopyFrom(new byte[16]), 77)]),
            CommitLog =
            [
                new LoggedCommit(6, 1_767_225_500_000, ByteString.CopyFromUtf8("commit 6")),
                new LoggedCommit(7, 1_767_225_600_000, ByteString.CopyFromUtf8("commit 7")) { AfterSeq = 65_540 },
            ],
            Away = [new AwayMember("bob", 1_767_225_700_000)],
            Leaves = [leave],
            Invites = [signedInvite],
            Messages = [Logged(65_541), Logged(65_542)],
            LastSeq = 65_542,
            LogOpened = true,
            Skipped = [new SkippedSeqs(4, 65_541)],
            Positions = [new MemberPosition("alice", 65_542), new MemberPosition("bob", 3)],
        };
        var invite = new InviteContent { RoomId = "lobby", InviteeId = "bob", InviterId = "alice", InviteId = ByteString.CopyFrom(new byte[16]), CreatedAtMs = 1, ExpiresAtMs = 2 };
        return
        [
            new JoinRoom("lobby", "alice", _alice.Bundle.Content, _alice.Bundle.Signature, CipherSuite.Chacha20Poly1305X25519Ed25519Sha256, connection)
            {
                SupportedSuites = [CipherSuite.Chacha20Poly1305X25519Ed25519Sha256],
                KnownEpoch = 6,
                Invite = signedInvite,
                LastSeq = 65_540,
            },
            new AcknowledgePosition("lobby", "alice", 65_542, connection),
            new DeclineCommit("lobby", "alice", 9, connection),
            new InviteToRoom("lobby", "alice", signedInvite, connection),
            new LeaveRoom("lobby", "alice", connection) { Leave = leave },
            new SubmitCommit("lobby", "alice", ByteString.CopyFromUtf8("content"), ByteString.CopyFromUtf8("signature"), ByteString.CopyFromUtf8("tag"), connection),
            new PublishToRoom("lobby", "alice", 7, 3, Frames.Application("alice", "lobby", 7, 3).Bytes(), connection),
            new RoomFrame("lobby", Frames.Application("bob", "lobby", 7, 4).Bytes()),
            new RoomError("lobby", ErrorCode.CommitRejected, "already committed", NotInRoom: true, Epoch: 8, Sequence: 2),
            new SubscribeRelay("lobby", relay),
            new RelaySubscribed("lobby", Incarnation: 0x1234_5678_9abc, LastSequence: 41),
            new RelayRecipients("lobby", 42, [new RelayMember("alice", connection), new RelayMember("bob", other)]),
            new RelayBroadcast("lobby", 43, Frames.Application("alice", "lobby", 7, 5).Bytes(), "alice"),
            new RelayFrame("lobby", 44, Frames.Application("bob", "lobby", 7, 6).Bytes(), [connection, other]),
            new RelayRefusal("lobby", 45, connection, ErrorCode.StaleEpoch, "epoch 6 is not the room's epoch 7", NotInRoom: true, Epoch: 6, MessageSequence: 3),
            new GetRoomState("lobby"),
            new RoomStatus(new RoomSnapshot("lobby", 7, ["alice", "bob"], ["bob", "alice"], "bob", ["carol"], ["dave"], Recovered: true), durable),
            StopRoom.Instance,
            new EpochAccepted(7, CipherSuite.Chacha20Poly1305X25519Ed25519Sha256, "alice", roster, ["bob"], ["carol"], Rekey: true, hash)
            {
                Policy = policy,
                CreatedAtMs = 1_767_225_600_000,
                InvitesUsed = [invite],
                Relayed = ByteString.CopyFromUtf8("the relayed COMMIT envelope"),
                AfterSeq = 65_540,
            },
            new MessageLogged(7, Logged(65_543)),
            new MessageLogBatch(8,
            [
                new MessageLogged(7, Logged(65_544)), new PositionAcknowledged(7, "bob", 65_544), new MessageLogged(8, Logged(65_545)),
                new LogTruncated(8, 65_542),
            ]),
            new LogOpened(7, new SkippedSeqs(65_543, 131_080)),
            new LogTruncated(7, 65_541),
            new PositionAcknowledged(7, "bob", 65_542),
            new RosterReset(9),
            new MemberAway(7, "bob", 1_767_225_700_000),
            new MemberBack(8, "bob"),
            new LeaveKept(7, "bob", leave),
            new InviteKept(7, signedInvite),
            durable,
            new SignIn("alice", connection, Resume: true),
            new SignInRecorded("alice"),
            SignedInElsewhere.Instance,
        ];
    }

    private static LoggedMessage Logged(ulong seq) =>
        new(seq, "alice", 7, seq - 65_540, 1_767_225_800_000 + seq, Frames.Application("alice", "lobby", 7, seq - 65_540).Bytes());

    [Fact]
    public void Every_type_round_trips_through_the_cluster_serializer_unchanged()
    {
        foreach (var message in Samples())
        {
            var serializer = Assert.IsType<ClusterMessageSerializer>(Sys.Serialization.FindSerializerFor(message));
            var manifest = serializer.Manifest(message);
            Assert.InRange(manifest.Length, 1, 2);

            var back = Sys.Serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier, manifest);

            AssertEquivalent(message, back);
        }
    }

    [Fact]
    public void Every_message_that_may_cross_nodes_and_every_stored_type_has_a_manifest_and_a_round_trip_sample()
    {
        var marked = typeof(IServerMessage).Assembly.GetTypes().Where(t => typeof(IServerMessage).IsAssignableFrom(t) && t is { IsClass: true, IsAbstract: false });
        var events = typeof(RoomEvent).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(RoomEvent)) && !t.IsAbstract);
        var required = marked.Concat(events).Append(typeof(RoomDurableState)).ToHashSet();

        Assert.Superset(required, ClusterMessageSerializer.Types.ToHashSet());
        Assert.Equal(required.OrderBy(t => t.FullName), Samples().Select(s => s.GetType()).Distinct().OrderBy(t => t.FullName));
        var serializer = new ClusterMessageSerializer((ExtendedActorSystem)Sys);
        Assert.Equal(ClusterMessageSerializer.Types.Count, Samples().Select(serializer.Manifest).Distinct().Count());
    }

    [Fact]
    public void A_stored_roster_entry_that_was_altered_does_not_come_back()
    {
        var serializer = new ClusterMessageSerializer((ExtendedActorSystem)Sys);
        var stored = Stored(new RoomDurableState(3, CipherSuite.Aes256GcmX25519Ed25519Sha256, [Member(_alice)], ByteString.CopyFrom(new byte[32])));
        var tampered = stored.ToByteArray();
        tampered[^40] ^= 1; // inside the signature of alice's bundle

        Assert.IsType<RoomDurableState>(serializer.FromBinary(stored.ToByteArray(), "RS"));
        var error = Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary(tampered, "RS"));
        Assert.Contains("does not verify", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_message_log_batch_is_one_compact_event_and_a_journal_of_single_message_events_still_reads()
    {
        var serializer = new ClusterMessageSerializer((ExtendedActorSystem)Sys);
        var messages = Enumerable.Range(1, 100).Select(i => new MessageLogged(7, Logged(65_540 + (ulong)i))).ToList();

        var batch = serializer.ToBinary(new MessageLogBatch(7, messages));
        var single = messages.Sum(m => serializer.ToBinary(m).Length);

        // One event instead of 100 (one journal row), and about the same bytes: nothing is written twice; each entry costs its
        // message and one more field tag and length than the message's own, the room epoch is written once.
        Assert.InRange(batch.Length, single - (2 * messages.Count), single + messages.Count + 8);
        Assert.Equal(messages, ((MessageLogBatch)serializer.FromBinary(batch, "LB")).Entries);

        // Journals written before batching hold "ML" events, as the serializer wrote them then: they still read.
        var first = messages[0].Message;
        var old = new StoredProto.MessageLogged
        {
            Epoch = 7,
            Message = new StoredProto.LoggedMessage
            {
                Seq = first.Seq, SenderId = first.SenderId, Epoch = first.Epoch, Generation = first.Generation, AtMs = first.AtMs, Envelope = first.Envelope,
            },
        }.ToByteArray();
        Assert.Equal(messages[0], serializer.FromBinary(old, "ML"));
    }

    [Fact]
    public void A_message_log_batch_holds_only_message_log_events()
    {
        var serializer = new ClusterMessageSerializer((ExtendedActorSystem)Sys);

        Assert.Throws<ArgumentException>(() => serializer.ToBinary(new MessageLogBatch(7, [new MemberBack(7, "bob")])));
        var empty = new StoredProto.MessageLogBatch { Epoch = 7, Entries = { new StoredProto.MessageLogEntry() } }.ToByteArray();
        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary(empty, "LB"));
    }

    [Fact]
    public void Unknown_manifests_and_types_are_refused()
    {
        var serializer = new ClusterMessageSerializer((ExtendedActorSystem)Sys);

        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary([], "??"));
        Assert.Throws<ArgumentException>(() => serializer.Manifest("a string"));
    }

    protected override void Dispose(bool disposing)
    {
        _alice.Dispose();
        _bob.Dispose();
        base.Dispose(disposing);
    }

    private static RosterMember Member(TestMember member)
    {
        Assert.Equal(BundleRejection.None, Bundles.Verify(member.Bundle, member.Room, null, out var verified));
        return verified!;
    }

    /// <summary>The snapshot as the serializer writes it (its Protobuf message), to alter a byte of.</summary>
    private StoredProto.RoomDurableState Stored(RoomDurableState state) =>
        StoredProto.RoomDurableState.Parser.ParseFrom(new ClusterMessageSerializer((ExtendedActorSystem)Sys).ToBinary(state));

    private static void AssertEquivalent(object expected, object actual)
    {
        Assert.IsType(expected.GetType(), actual);
        switch (expected)
        {
            case EpochAccepted e:
                var a = (EpochAccepted)actual;
                Assert.Equal((e.Epoch, e.Suite, e.CommitterId, e.Rekey, e.TranscriptHash), (a.Epoch, a.Suite, a.CommitterId, a.Rekey, a.TranscriptHash));
                Assert.Equal(e.Added, a.Added);
                Assert.Equal(e.Removed, a.Removed);
                AssertSameRoster(e.Roster, a.Roster);
                Assert.Equal((e.Policy, e.CreatedAtMs), (a.Policy, a.CreatedAtMs));
                Assert.Equal(e.InvitesUsed, a.InvitesUsed);
                Assert.Equal(e.Relayed, a.Relayed);
                Assert.Equal(e.AfterSeq, a.AfterSeq);
                break;
            case JoinRoom e:
                var j = (JoinRoom)actual;
                Assert.Equal(e with { SupportedSuites = [] }, j with { SupportedSuites = [] });
                Assert.Equal(e.Invite, j.Invite);
                Assert.Equal(e.SupportedSuites, j.SupportedSuites);
                break;
            case RoomDurableState e:
                AssertSameDurable(e, (RoomDurableState)actual);
                break;
            case RoomStatus e:
                var s = (RoomStatus)actual;
                var (x, y) = (e.Snapshot, s.Snapshot);
                Assert.Equal((x.RoomId, x.Epoch, x.AskedCommitter, x.Recovered), (y.RoomId, y.Epoch, y.AskedCommitter, y.Recovered));
                Assert.Equal(x.Roster, y.Roster);
                Assert.Equal(x.Connected, y.Connected);
                Assert.Equal(x.PendingAdds, y.PendingAdds);
                Assert.Equal(x.PendingRemoves, y.PendingRemoves);
                AssertSameDurable(e.Durable, s.Durable);
                break;
            case RelayRecipients e:
                var r = (RelayRecipients)actual;
                Assert.Equal((e.RoomId, e.Sequence), (r.RoomId, r.Sequence));
                Assert.Equal(e.Members, r.Members);
                break;
            case MessageLogBatch e:
                var b = (MessageLogBatch)actual;
                Assert.Equal(e.Epoch, b.Epoch);
                Assert.Equal(e.Entries, b.Entries);
                break;
            case RelayFrame e:
                var f = (RelayFrame)actual;
                Assert.Equal((e.RoomId, e.Sequence, e.Frame), (f.RoomId, f.Sequence, f.Frame));
                Assert.Equal(e.Connections, f.Connections);
                break;
            default:
                // Records of strings, numbers, enums, ByteStrings and actor references: value equality covers every field.
                Assert.Equal(expected, actual);
                break;
        }
    }

    private static void AssertSameDurable(RoomDurableState expected, RoomDurableState actual)
    {
        Assert.Equal((expected.Epoch, expected.Suite, expected.TranscriptHash, expected.Policy), (actual.Epoch, actual.Suite, actual.TranscriptHash, actual.Policy));
        AssertSameRoster(expected.Roster, actual.Roster);
        Assert.Equal(expected.Admissions?.Bundles ?? [], actual.Admissions?.Bundles ?? []);
        Assert.Equal(expected.Admissions?.Invites ?? [], actual.Admissions?.Invites ?? []);
        Assert.Equal(expected.CommitLog, actual.CommitLog);
        Assert.Equal(expected.Away, actual.Away);
        Assert.Equal(expected.Leaves, actual.Leaves);
        Assert.Equal(expected.Invites, actual.Invites);
        Assert.Equal(expected.Messages, actual.Messages);
        Assert.Equal((expected.LastSeq, expected.LogOpened), (actual.LastSeq, actual.LogOpened));
        Assert.Equal(expected.Skipped, actual.Skipped);
        Assert.Equal(expected.Positions, actual.Positions);
    }

    private static void AssertSameRoster(IReadOnlyList<RosterMember> expected, IReadOnlyList<RosterMember> actual) =>
        Assert.Equal(expected.Select(m => (m.ClientId, m.Bundle)), actual.Select(m => (m.ClientId, m.Bundle)));
}
