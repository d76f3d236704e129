using System.Collections.Frozen;
using Akka.Actor;
using Akka.Serialization;
using SerializationException = System.Runtime.Serialization.SerializationException;
using Google.Protobuf;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Relay;
using SecureChat.Server.Connections;
using SecureChat.Server.Messaging;
using SecureChat.Server.Relays;
using SecureChat.Server.Rooms;
using P = SecureChat.Server.Serialization.Proto;

namespace SecureChat.Server.Serialization;

/// <summary>
/// The Protobuf serializer of everything the server's actors send across nodes (every <see cref="IServerMessage"/>)
/// and of what a room journals (its <see cref="RoomEvent"/>s and its <see cref="RoomDurableState"/> snapshot), on
/// the messages of <c>cluster.proto</c>. Actor references travel as serialized actor paths. Manifests are one or
/// two letters; once journaled they are part of the storage format, so never change one.
/// </summary>
public sealed class ClusterMessageSerializer : SerializerWithStringManifest
{
    /// <summary>Akka reserves 0–100; stored with every journaled event, so never change it.</summary>
    public const int SerializerId = 5001;

    /// <summary>Binds this serializer to the marker interface, the room events and the snapshot (see <see cref="SerializationHosting"/>).</summary>
    public static readonly string Hocon = $$"""
        akka.actor {
          serializers.securechat-cluster = "{{typeof(ClusterMessageSerializer).AssemblyQualifiedName}}"
          serialization-bindings {
            "{{Binding<IServerMessage>()}}" = securechat-cluster
            "{{Binding<RoomEvent>()}}" = securechat-cluster
            "{{Binding<RoomDurableState>()}}" = securechat-cluster
          }
        }
        """;

    private static readonly FrozenDictionary<Type, string> ManifestOf = new Dictionary<Type, string>
    {
        [typeof(JoinRoom)] = "J",
        [typeof(LeaveRoom)] = "L",
        [typeof(InviteToRoom)] = "I",
        [typeof(SubmitCommit)] = "C",
        [typeof(PublishToRoom)] = "P",
        [typeof(RoomFrame)] = "F",
        [typeof(RoomError)] = "E",
        [typeof(SubscribeRelay)] = "SR",
        [typeof(RelaySubscribed)] = "SA",
        [typeof(RelayRecipients)] = "RC",
        [typeof(RelayBroadcast)] = "RB",
        [typeof(RelayFrame)] = "RF",
        [typeof(RelayRefusal)] = "RX",
        [typeof(GetRoomState)] = "G",
        [typeof(RoomStatus)] = "S",
        [typeof(StopRoom)] = "X",
        [typeof(EpochAccepted)] = "EA",
        [typeof(RosterReset)] = "RR",
        [typeof(LeaveKept)] = "LK",
        [typeof(InviteKept)] = "IK",
        [typeof(MemberAway)] = "MA",
        [typeof(MemberBack)] = "MB",
        [typeof(RoomDurableState)] = "RS",
        [typeof(AcknowledgePosition)] = "A",
        [typeof(DeclineCommit)] = "DC",
        [typeof(MessageLogged)] = "ML",
        [typeof(MessageLogBatch)] = "LB",
        [typeof(LogOpened)] = "LO",
        [typeof(LogTruncated)] = "LT",
        [typeof(PositionAcknowledged)] = "PA",
        [typeof(SignIn)] = "SI",
        [typeof(SignInRecorded)] = "SK",
        [typeof(SignedInElsewhere)] = "SE",
    }.ToFrozenDictionary();

    public ClusterMessageSerializer(ExtendedActorSystem system)
        : base(system)
    {
    }

    /// <summary>Every type this serializer writes: each one has a manifest and a round-trip test.</summary>
    public static IReadOnlyCollection<Type> Types => ManifestOf.Keys;

    public override int Identifier => SerializerId;

    public override string Manifest(object o)
    {
        ArgumentNullException.ThrowIfNull(o);
        return ManifestOf.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new ArgumentException($"{o.GetType()} has no cluster serialization; add it to cluster.proto and {nameof(ClusterMessageSerializer)}", nameof(o));
    }

    public override byte[] ToBinary(object obj) => ToProto(obj).ToByteArray();

    public override object FromBinary(byte[] bytes, string manifest) => manifest switch
    {
        "J" => FromProto(P.JoinRoom.Parser.ParseFrom(bytes)),
        "L" => FromProto(P.LeaveRoom.Parser.ParseFrom(bytes)),
        "C" => FromProto(P.SubmitCommit.Parser.ParseFrom(bytes)),
        "P" => FromProto(P.PublishToRoom.Parser.ParseFrom(bytes)),
        "F" => FromProto(P.RoomFrame.Parser.ParseFrom(bytes)),
        "E" => FromProto(P.RoomError.Parser.ParseFrom(bytes)),
        "SR" => FromProto(P.SubscribeRelay.Parser.ParseFrom(bytes)),
        "SA" => FromProto(P.RelaySubscribed.Parser.ParseFrom(bytes)),
        "RC" => FromProto(P.RelayRecipients.Parser.ParseFrom(bytes)),
        "RB" => FromProto(P.RelayBroadcast.Parser.ParseFrom(bytes)),
        "RF" => FromProto(P.RelayFrame.Parser.ParseFrom(bytes)),
        "RX" => FromProto(P.RelayRefusal.Parser.ParseFrom(bytes)),
        "G" => new GetRoomState(P.GetRoomState.Parser.ParseFrom(bytes).RoomId),
        "S" => FromProto(P.RoomStatus.Parser.ParseFrom(bytes)),
        "X" => StopRoom.Instance,
        "EA" => FromProto(P.EpochAccepted.Parser.ParseFrom(bytes)),
        "RR" => new RosterReset(P.RosterReset.Parser.ParseFrom(bytes).Epoch),
        "LK" => FromProto(P.LeaveKept.Parser.ParseFrom(bytes)),
        "IK" => new InviteKept(P.InviteKept.Parser.ParseFrom(bytes).Epoch, SignedInvite.Parser.ParseFrom(P.InviteKept.Parser.ParseFrom(bytes).Invite)),
        "I" => FromProto(P.InviteToRoom.Parser.ParseFrom(bytes)),
        "MA" => FromProto(P.MemberAway.Parser.ParseFrom(bytes)),
        "MB" => FromProto(P.MemberBack.Parser.ParseFrom(bytes)),
        "RS" => FromProto(P.RoomDurableState.Parser.ParseFrom(bytes)),
        "A" => FromProto(P.AcknowledgePosition.Parser.ParseFrom(bytes)),
        "DC" => FromProto(P.DeclineCommit.Parser.ParseFrom(bytes)),
        "ML" => FromProto(P.MessageLogged.Parser.ParseFrom(bytes)),
        "LB" => FromProto(P.MessageLogBatch.Parser.ParseFrom(bytes)),
        "LO" => FromProto(P.LogOpened.Parser.ParseFrom(bytes)),
        "LT" => new LogTruncated(P.LogTruncated.Parser.ParseFrom(bytes).Epoch, P.LogTruncated.Parser.ParseFrom(bytes).ThroughSeq),
        "PA" => FromProto(P.PositionAcknowledged.Parser.ParseFrom(bytes)),
        "SI" => FromProto(P.SignIn.Parser.ParseFrom(bytes)),
        "SK" => new SignInRecorded(P.SignInRecorded.Parser.ParseFrom(bytes).ClientId),
        "SE" => SignedInElsewhere.Instance,
        _ => throw new SerializationException($"unknown cluster message manifest '{manifest}'"),
    };

    private static string Binding<T>() => $"{typeof(T).FullName}, {typeof(T).Assembly.GetName().Name}";

    private static IMessage ToProto(object obj) => obj switch
    {
        JoinRoom m => new P.JoinRoom
        {
            RoomId = m.RoomId, ClientId = m.ClientId, BundleContent = m.BundleContent, BundleSignature = m.BundleSignature,
            PreferredSuite = (int)m.PreferredSuite, Connection = PathOf(m.Connection), SupportedSuites = { m.SupportedSuites.Select(suite => (int)suite) },
            Invite = m.Invite?.ToByteString() ?? ByteString.Empty, KnownEpoch = m.KnownEpoch, LastSeq = m.LastSeq,
        },
        InviteToRoom m => new P.InviteToRoom { RoomId = m.RoomId, ClientId = m.ClientId, Invite = m.Invite.ToByteString(), Connection = PathOf(m.Connection) },
        LeaveRoom m => new P.LeaveRoom { RoomId = m.RoomId, ClientId = m.ClientId, Connection = PathOf(m.Connection), Leave = m.Leave?.ToByteString() ?? ByteString.Empty },
        SubmitCommit m => new P.SubmitCommit
        {
            RoomId = m.RoomId, ClientId = m.ClientId, Content = m.Content, Signature = m.Signature, ConfirmationTag = m.ConfirmationTag,
            Connection = PathOf(m.Connection),
        },
        PublishToRoom m => new P.PublishToRoom
        {
            RoomId = m.RoomId, ClientId = m.ClientId, Epoch = m.Epoch, Sequence = m.Sequence, Envelope = m.Envelope, Connection = PathOf(m.Connection),
        },
        RoomFrame m => new P.RoomFrame { RoomId = m.RoomId, Envelope = m.Envelope },
        RoomError m => new P.RoomError { RoomId = m.RoomId, Code = (int)m.Code, Reason = m.Reason, NotInRoom = m.NotInRoom, Epoch = m.Epoch, Sequence = m.Sequence },
        SubscribeRelay m => new P.SubscribeRelay { RoomId = m.RoomId, Relay = PathOf(m.Relay) },
        RelaySubscribed m => new P.RelaySubscribed { RoomId = m.RoomId, Incarnation = m.Incarnation, LastSequence = m.LastSequence },
        RelayRecipients m => ToProto(m),
        RelayBroadcast m => new P.RelayBroadcast { RoomId = m.RoomId, Sequence = m.Sequence, Frame = m.Frame, SenderId = m.SenderId },
        RelayFrame m => ToProto(m),
        RelayRefusal m => new P.RelayRefusal
        {
            RoomId = m.RoomId, Sequence = m.Sequence, Connection = PathOf(m.Connection), Code = (int)m.Code, Reason = m.Reason, NotInRoom = m.NotInRoom,
            Epoch = m.Epoch, MessageSequence = m.MessageSequence,
        },
        GetRoomState m => new P.GetRoomState { RoomId = m.RoomId },
        RoomStatus m => new P.RoomStatus { Snapshot = ToProto(m.Snapshot), Durable = ToProto(m.Durable) },
        StopRoom => new P.StopRoom(),
        EpochAccepted m => ToProto(m),
        RosterReset m => new P.RosterReset { Epoch = m.Epoch },
        LeaveKept m => new P.LeaveKept { Epoch = m.Epoch, ClientId = m.ClientId, Leave = m.Leave.ToByteString() },
        InviteKept m => new P.InviteKept { Epoch = m.Epoch, Invite = m.Invite.ToByteString() },
        MemberAway m => new P.MemberAway { Epoch = m.Epoch, ClientId = m.ClientId, SinceMs = m.SinceMs },
        MemberBack m => new P.MemberBack { Epoch = m.Epoch, ClientId = m.ClientId },
        RoomDurableState m => ToProto(m),
        AcknowledgePosition m => new P.AcknowledgePosition { RoomId = m.RoomId, ClientId = m.ClientId, Seq = m.Seq, Connection = PathOf(m.Connection) },
        DeclineCommit m => new P.DeclineCommit { RoomId = m.RoomId, ClientId = m.ClientId, NewEpoch = m.NewEpoch, Connection = PathOf(m.Connection) },
        MessageLogged m => new P.MessageLogged { Epoch = m.Epoch, Message = ToProto(m.Message) },
        MessageLogBatch m => ToProto(m),
        LogOpened m => new P.LogOpened { Epoch = m.Epoch, Skip = ToProto(m.Skip) },
        LogTruncated m => new P.LogTruncated { Epoch = m.Epoch, ThroughSeq = m.ThroughSeq },
        PositionAcknowledged m => new P.PositionAcknowledged { Epoch = m.Epoch, ClientId = m.ClientId, Seq = m.Seq },
        SignIn m => new P.SignIn { ClientId = m.ClientId, Connection = PathOf(m.Connection), Resume = m.Resume },
        SignInRecorded m => new P.SignInRecorded { ClientId = m.ClientId },
        SignedInElsewhere => new P.SignedInElsewhere(),
        _ => throw new ArgumentException($"{obj?.GetType()} has no cluster serialization", nameof(obj)),
    };

    private static P.RelayRecipients ToProto(RelayRecipients m)
    {
        var proto = new P.RelayRecipients { RoomId = m.RoomId, Sequence = m.Sequence };
        proto.Members.AddRange(m.Members.Select(member => new P.RelayMember { ClientId = member.ClientId, Connection = PathOf(member.Connection) }));
        return proto;
    }

    private static P.RelayFrame ToProto(RelayFrame m)
    {
        var proto = new P.RelayFrame { RoomId = m.RoomId, Sequence = m.Sequence, Frame = m.Frame };
        proto.Connections.AddRange(m.Connections.Select(PathOf));
        return proto;
    }

    private static P.RoomSnapshot ToProto(RoomSnapshot m)
    {
        var proto = new P.RoomSnapshot { RoomId = m.RoomId, Epoch = m.Epoch, Recovered = m.Recovered };
        proto.Roster.AddRange(m.Roster);
        proto.Connected.AddRange(m.Connected);
        proto.PendingAdds.AddRange(m.PendingAdds);
        proto.PendingRemoves.AddRange(m.PendingRemoves);
        if (m.AskedCommitter is { } asked)
        {
            proto.AskedCommitter = asked;
        }

        return proto;
    }

    private static P.EpochAccepted ToProto(EpochAccepted m)
    {
        var proto = new P.EpochAccepted
        {
            Epoch = m.Epoch, Suite = (int)m.Suite, CommitterId = m.CommitterId, Rekey = m.Rekey, TranscriptHash = m.TranscriptHash,
            Policy = ToProto(m.Policy), CreatedAtMs = m.CreatedAtMs, Relayed = m.Relayed, AfterSeq = m.AfterSeq,
        };
        proto.Roster.AddRange(m.Roster.Select(ToProto));
        proto.Added.AddRange(m.Added);
        proto.Removed.AddRange(m.Removed);
        proto.InvitesUsed.AddRange(m.InvitesUsed.Select(invite => invite.ToByteString()));
        return proto;
    }

    private static P.RoomDurableState ToProto(RoomDurableState m)
    {
        var proto = new P.RoomDurableState { Epoch = m.Epoch, Suite = (int)m.Suite, TranscriptHash = m.TranscriptHash, Policy = ToProto(m.Policy) };
        proto.Roster.AddRange(m.Roster.Select(ToProto));
        proto.AdmittedBundles.AddRange((m.Admissions?.Bundles ?? []).Select(ToProto));
        proto.SpentInvites.AddRange((m.Admissions?.Invites ?? []).Select(ToProto));
        proto.Leaves.AddRange(m.Leaves.Select(leave => leave.ToByteString()));
        proto.Invites.AddRange(m.Invites.Select(invite => invite.ToByteString()));
        proto.CommitLog.AddRange(m.CommitLog.Select(c => new P.LoggedCommit
        {
            Epoch = c.Epoch, CreatedAtMs = c.CreatedAtMs, Envelope = c.Envelope, AfterSeq = c.AfterSeq,
        }));
        proto.Away.AddRange(m.Away.Select(a => new P.MemberAway { ClientId = a.ClientId, SinceMs = a.SinceMs }));
        proto.Messages.AddRange(m.Messages.Select(ToProto));
        proto.LastSeq = m.LastSeq;
        proto.LogOpened = m.LogOpened;
        proto.Skipped.AddRange(m.Skipped.Select(ToProto));
        proto.Positions.AddRange(m.Positions.Select(p => new P.MemberPosition { ClientId = p.ClientId, Seq = p.Seq }));
        return proto;
    }

    private static P.LoggedMessage ToProto(LoggedMessage m) => new()
    {
        Seq = m.Seq, SenderId = m.SenderId, Epoch = m.Epoch, Generation = m.Generation, AtMs = m.AtMs, Envelope = m.Envelope,
    };

    private static LoggedMessage FromProto(P.LoggedMessage m) => new(m.Seq, m.SenderId, m.Epoch, m.Generation, m.AtMs, m.Envelope);

    private static P.MessageLogBatch ToProto(MessageLogBatch m)
    {
        var proto = new P.MessageLogBatch { Epoch = m.Epoch };
        foreach (var entry in m.Entries)
        {
            var delta = (long)(entry.Epoch - m.Epoch);
            proto.Entries.Add(entry switch
            {
                MessageLogged logged => new P.MessageLogEntry { Message = ToProto(logged.Message), EpochDelta = delta },
                PositionAcknowledged acknowledged => new P.MessageLogEntry
                {
                    Position = new P.MemberPosition { ClientId = acknowledged.ClientId, Seq = acknowledged.Seq }, EpochDelta = delta,
                },
                LogTruncated truncated => new P.MessageLogEntry { TruncatedThrough = truncated.ThroughSeq, EpochDelta = delta },
                _ => throw new ArgumentException($"{entry?.GetType().Name} is not a message-log event", nameof(m)),
            });
        }

        return proto;
    }

    private static MessageLogBatch FromProto(P.MessageLogBatch m)
    {
        var entries = new RoomEvent[m.Entries.Count];
        for (var i = 0; i < entries.Length; i++)
        {
            var entry = m.Entries[i];
            var epoch = (ulong)((long)m.Epoch + entry.EpochDelta);
            entries[i] = entry.EntryCase switch
            {
                P.MessageLogEntry.EntryOneofCase.Message => new MessageLogged(epoch, FromProto(entry.Message)),
                P.MessageLogEntry.EntryOneofCase.Position => new PositionAcknowledged(epoch, entry.Position.ClientId, entry.Position.Seq),
                P.MessageLogEntry.EntryOneofCase.TruncatedThrough => new LogTruncated(epoch, entry.TruncatedThrough),
                _ => throw new SerializationException($"message-log batch entry {i} holds nothing"),
            };
        }

        return new MessageLogBatch(m.Epoch, entries);
    }

    private static P.SkippedSeqs ToProto(SkippedSeqs m) => new() { AfterSeq = m.AfterSeq, NextSeq = m.NextSeq };

    private static SkippedSeqs FromProto(P.SkippedSeqs m) => new(m.AfterSeq, m.NextSeq);

    private AcknowledgePosition FromProto(P.AcknowledgePosition m) => new(m.RoomId, m.ClientId, m.Seq, Resolve(m.Connection));

    private DeclineCommit FromProto(P.DeclineCommit m) => new(m.RoomId, m.ClientId, m.NewEpoch, Resolve(m.Connection));

    private SignIn FromProto(P.SignIn m) => new(m.ClientId, Resolve(m.Connection), m.Resume);

    private static MessageLogged FromProto(P.MessageLogged m) => new(m.Epoch, FromProto(m.Message));

    private static LogOpened FromProto(P.LogOpened m) => new(m.Epoch, FromProto(m.Skip));

    private static PositionAcknowledged FromProto(P.PositionAcknowledged m) => new(m.Epoch, m.ClientId, m.Seq);

    private static P.RoomPolicy? ToProto(RoomPolicy? policy) =>
        policy is null ? null : new P.RoomPolicy { Admission = (int)policy.Admission, AbsenceLimitMs = policy.AbsenceLimitMs };

    private static P.AdmittedItem ToProto(AdmittedItem item) => new() { Key = item.Key, ExpiresAtMs = item.ExpiresAtMs };

    private static RoomPolicy? FromProto(P.RoomPolicy? policy) =>
        policy is null ? null : new RoomPolicy { Admission = (Admission)policy.Admission, AbsenceLimitMs = policy.AbsenceLimitMs };

    private static P.SignedBundle ToProto(RosterMember member) => new() { Content = member.Bundle.Content, Signature = member.Bundle.Signature };

    private JoinRoom FromProto(P.JoinRoom m) =>
        new(m.RoomId, m.ClientId, m.BundleContent, m.BundleSignature, (CipherSuite)m.PreferredSuite, Resolve(m.Connection))
        {
            SupportedSuites = [.. m.SupportedSuites.Select(suite => (CipherSuite)suite)],
            Invite = m.Invite.IsEmpty ? null : SignedInvite.Parser.ParseFrom(m.Invite),
            KnownEpoch = m.KnownEpoch,
            LastSeq = m.LastSeq,
        };

    private InviteToRoom FromProto(P.InviteToRoom m) => new(m.RoomId, m.ClientId, SignedInvite.Parser.ParseFrom(m.Invite), Resolve(m.Connection));

    private LeaveRoom FromProto(P.LeaveRoom m) =>
        new(m.RoomId, m.ClientId, Resolve(m.Connection)) { Leave = m.Leave.IsEmpty ? null : SignedLeave.Parser.ParseFrom(m.Leave) };

    private static LeaveKept FromProto(P.LeaveKept m) => new(m.Epoch, m.ClientId, SignedLeave.Parser.ParseFrom(m.Leave));

    private SubmitCommit FromProto(P.SubmitCommit m) => new(m.RoomId, m.ClientId, m.Content, m.Signature, m.ConfirmationTag, Resolve(m.Connection));

    private PublishToRoom FromProto(P.PublishToRoom m) => new(m.RoomId, m.ClientId, m.Epoch, m.Sequence, m.Envelope, Resolve(m.Connection));

    private static RoomFrame FromProto(P.RoomFrame m) => new(m.RoomId, m.Envelope);

    private SubscribeRelay FromProto(P.SubscribeRelay m) => new(m.RoomId, Resolve(m.Relay));

    private static RelaySubscribed FromProto(P.RelaySubscribed m) => new(m.RoomId, m.Incarnation, m.LastSequence);

    private RelayRecipients FromProto(P.RelayRecipients m) =>
        new(m.RoomId, m.Sequence, [.. m.Members.Select(member => new RelayMember(member.ClientId, Resolve(member.Connection)))]);

    private static RelayBroadcast FromProto(P.RelayBroadcast m) => new(m.RoomId, m.Sequence, m.Frame, m.SenderId);

    private RelayFrame FromProto(P.RelayFrame m) => new(m.RoomId, m.Sequence, m.Frame, [.. m.Connections.Select(Resolve)]);

    private RelayRefusal FromProto(P.RelayRefusal m) =>
        new(m.RoomId, m.Sequence, Resolve(m.Connection), (ErrorCode)m.Code, m.Reason, m.NotInRoom, m.Epoch, m.MessageSequence);

    private static RoomError FromProto(P.RoomError m) => new(m.RoomId, (ErrorCode)m.Code, m.Reason, m.NotInRoom, m.Epoch, m.Sequence);

    private static RoomStatus FromProto(P.RoomStatus m) => new(
        new RoomSnapshot(m.Snapshot.RoomId, m.Snapshot.Epoch, [.. m.Snapshot.Roster], [.. m.Snapshot.Connected],
            m.Snapshot.HasAskedCommitter ? m.Snapshot.AskedCommitter : null, [.. m.Snapshot.PendingAdds], [.. m.Snapshot.PendingRemoves],
            m.Snapshot.Recovered),
        FromProto(m.Durable));

    private static EpochAccepted FromProto(P.EpochAccepted m) =>
        new(m.Epoch, (CipherSuite)m.Suite, m.CommitterId, Roster(m.Roster), [.. m.Added], [.. m.Removed], m.Rekey, m.TranscriptHash)
        {
            Policy = FromProto(m.Policy),
            CreatedAtMs = m.CreatedAtMs,
            InvitesUsed = [.. m.InvitesUsed.Select(InviteContent.Parser.ParseFrom)],
            Relayed = m.Relayed,
            AfterSeq = m.AfterSeq,
        };

    private static MemberAway FromProto(P.MemberAway m) => new(m.Epoch, m.ClientId, m.SinceMs);

    private static MemberBack FromProto(P.MemberBack m) => new(m.Epoch, m.ClientId);

    private static RoomDurableState FromProto(P.RoomDurableState m) => new(m.Epoch, (CipherSuite)m.Suite, Roster(m.Roster), m.TranscriptHash)
    {
        Policy = FromProto(m.Policy),
        Admissions = new AdmissionSnapshot([.. m.AdmittedBundles.Select(i => new AdmittedItem(i.Key, i.ExpiresAtMs))],
            [.. m.SpentInvites.Select(i => new AdmittedItem(i.Key, i.ExpiresAtMs))]),
        Leaves = [.. m.Leaves.Select(SignedLeave.Parser.ParseFrom)],
        Invites = [.. m.Invites.Select(SignedInvite.Parser.ParseFrom)],
        CommitLog = [.. m.CommitLog.Select(c => new LoggedCommit(c.Epoch, c.CreatedAtMs, c.Envelope) { AfterSeq = c.AfterSeq })],
        Away = [.. m.Away.Select(a => new AwayMember(a.ClientId, a.SinceMs))],
        Messages = [.. m.Messages.Select(FromProto)],
        LastSeq = m.LastSeq,
        LogOpened = m.LogOpened,
        Skipped = [.. m.Skipped.Select(FromProto)],
        Positions = [.. m.Positions.Select(p => new MemberPosition(p.ClientId, p.Seq))],
    };

    /// <summary>
    /// Roster entries are verified again as they are read: a journal entry that was changed or damaged fails the
    /// room's recovery (the room does not start) rather than bringing back a roster no member signed.
    /// </summary>
    private static RosterMember[] Roster(IEnumerable<P.SignedBundle> bundles) => [.. bundles.Select(b =>
    {
        // A stored entry is verified for the room it names (it was admitted to this room only after the same check).
        var room = WireParsing.TryParse(BundleContent.Parser, b.Content.Span, out var content) ? content.RoomId : string.Empty;
        var rejection = Bundles.Verify(new SignedBundle { Content = b.Content, Signature = b.Signature }, room, validAtMs: null, out var member);
        return rejection == BundleRejection.None
            ? member!
            : throw new SerializationException($"a stored roster entry does not verify ({rejection})");
    })];

    private static string PathOf(IActorRef actor) => Akka.Serialization.Serialization.SerializedActorPath(actor);

    private IActorRef Resolve(string path) => system.Provider.ResolveActorRef(path);
}
