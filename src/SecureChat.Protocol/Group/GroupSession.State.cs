using System.Security.Cryptography;
using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group.State;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;

namespace SecureChat.Protocol.Group;

/// <summary>
/// Export and import of the whole session (a client that survives its own restart keeps it in its encrypted local store).
/// The blob holds every key the session holds — chain keys, skipped message keys, membership private keys, a pending
/// commit's epoch secret — so it must only ever be written encrypted, never logged, and zeroed after use. What it restores is
/// equal to the session exported: the same epochs, chains at the same generations (so a message already read is a replay
/// after the import too), the same gaps, admissions and pending commit.
/// </summary>
public sealed partial class GroupSession
{
    /// <summary>The layout <see cref="ExportState"/> writes (GroupSessionState.format).</summary>
    public const uint StateFormat = 1;

    /// <summary>The session's whole state as bytes (group_state.proto). Secret: store encrypted, zero after use.</summary>
    public byte[] ExportState()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var state = new GroupSessionState
        {
            Format = StateFormat,
            RoomId = RoomId,
            LocalClientId = LocalClientId,
            Status = (int)Status,
            JoinBundle = JoinBundle.ToByteString(),
            FirstEpoch = _firstEpoch,
            RemovedAtEpoch = _removedAtEpoch,
            LastAppliedContentHash = ByteString.CopyFrom(_lastAppliedContentHash ?? []),
            LastAppliedTag = ByteString.CopyFrom(_lastAppliedTag ?? []),
            HasNextGapDue = _nextGapDueMs is not null,
            NextGapDueMs = _nextGapDueMs ?? 0,
        };
        var secrets = new List<byte[]>();
        try
        {
            foreach (var key in _membershipKeys.Values.OrderBy(k => k.KeyId))
            {
                var privateKey = Track(secrets, key.KeyPair.ExportPrivateKey());
                state.MembershipKeys.Add(new MembershipKeyState { PrivateKey = ByteString.CopyFrom(privateKey), Bundle = key.Bundle.ToByteString() });
            }

            if (_current is not null)
            {
                state.Current = ExportEpoch(_current, secrets);
            }

            state.Retired.AddRange(_retired.Select(e => ExportEpoch(e, secrets)));
            if (_pending is { } pending)
            {
                state.Pending = new PendingCommitState
                {
                    Commit = pending.Commit.ToByteString(),
                    Epoch = pending.Epoch,
                    EpochSecret = ByteString.CopyFrom(pending.EpochSecret),
                    HasNewOwnKey = pending.NewOwnKey is not null,
                    NewOwnKeyId = pending.NewOwnKey?.KeyId ?? 0,
                    ContentHash = ByteString.CopyFrom(pending.ContentHash),
                };
            }

            var admissions = _admissions.Snapshot();
            state.AdmittedBundles.AddRange(admissions.Bundles.Select(a => new AdmittedEntry { Key = a.Key, ExpiresAtMs = a.ExpiresAtMs }));
            state.UsedInvites.AddRange(admissions.Invites.Select(a => new AdmittedEntry { Key = a.Key, ExpiresAtMs = a.ExpiresAtMs }));
            state.LastActivity.AddRange(_lastActivityMs.OrderBy(a => a.Key, StringComparer.Ordinal)
                .Select(a => new ActivityEntry { ClientId = a.Key, AtMs = a.Value }));
            foreach (var report in _withheld)
            {
                var record = new WithheldReport { SenderId = report.SenderId, Epoch = report.Epoch };
                record.Ranges.AddRange(report.Generations.Select(r => new GapRangeState { First = r.First, End = r.End }));
                state.Withheld.Add(record);
            }

            return state.ToByteArray();
        }
        finally
        {
            foreach (var secret in secrets)
            {
                CryptographicOperations.ZeroMemory(secret);
            }
        }
    }

    /// <summary>
    /// A session back from <see cref="ExportState"/> bytes, for <paramref name="identity"/> (whose id must be the exported
    /// session's). Throws <see cref="GroupStateException"/> when the bytes are not such a state. The caller zeroes the bytes.
    /// </summary>
    public static GroupSession ImportState(ReadOnlySpan<byte> exported, LocalIdentity identity, TrustStore trust, GroupOptions? options = null,
        IClock? clock = null, IRandomSource? random = null)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(trust);
        GroupSessionState state;
        try
        {
            state = GroupSessionState.Parser.ParseFrom(exported);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new GroupStateException("the room state does not parse", ex);
        }

        if (state.Format != StateFormat)
        {
            throw new GroupStateException($"the room state has format {state.Format}; this build reads format {StateFormat}");
        }

        if (!string.Equals(state.LocalClientId, identity.ClientId, StringComparison.Ordinal) || !EnvelopeCodec.IsValidId(state.RoomId)
            || !Enum.IsDefined((GroupStatus)state.Status))
        {
            throw new GroupStateException("the room state belongs to another client, or names no valid room");
        }

        var session = new GroupSession(identity, state.RoomId, trust, options, clock, random, ParseWire(SignedBundle.Parser, state.JoinBundle))
        {
            Status = (GroupStatus)state.Status,
        };
        try
        {
            session.Restore(state);
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private void Restore(GroupSessionState state)
    {
        _firstEpoch = state.FirstEpoch;
        _removedAtEpoch = state.RemovedAtEpoch;
        _lastAppliedContentHash = state.LastAppliedContentHash.Length == 0 ? null : state.LastAppliedContentHash.ToByteArray();
        _lastAppliedTag = state.LastAppliedTag.Length == 0 ? null : state.LastAppliedTag.ToByteArray();
        _nextGapDueMs = state.HasNextGapDue ? state.NextGapDueMs : null;
        foreach (var record in state.MembershipKeys)
        {
            var privateKey = record.PrivateKey.ToByteArray();
            try
            {
                var key = new MembershipKey(X25519KeyPair.FromPrivateKey(privateKey), ParseWire(SignedBundle.Parser, record.Bundle));
                if (!_membershipKeys.TryAdd(key.KeyId, key))
                {
                    key.Dispose();
                    throw new GroupStateException("the room state has a membership key twice");
                }
            }
            catch (ArgumentException ex)
            {
                throw new GroupStateException("the room state has a malformed membership key", ex);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(privateKey);
            }
        }

        // Roster entries are verified once each (the same bundle is in several epochs' rosters).
        var members = new Dictionary<ByteString, RosterMember>();
        foreach (var record in state.Retired)
        {
            _retired.Add(ImportEpoch(record, members));
        }

        if (state.Current is { } current)
        {
            _current = ImportEpoch(current, members);
        }

        if (state.Pending is { } pending)
        {
            MembershipKey? newOwnKey = null;
            if (pending.HasNewOwnKey && !_membershipKeys.TryGetValue(pending.NewOwnKeyId, out newOwnKey))
            {
                throw new GroupStateException("the room state's pending commit names a membership key it does not hold");
            }

            _pending = new PendingOwnCommit(ParseWire(SignedCommit.Parser, pending.Commit), pending.Epoch, pending.EpochSecret.ToByteArray(), newOwnKey,
                pending.ContentHash.ToByteArray());
        }

        _admissions = AdmissionRecord.From(new AdmissionSnapshot(
            [.. state.AdmittedBundles.Select(a => new AdmittedItem(a.Key, a.ExpiresAtMs))],
            [.. state.UsedInvites.Select(a => new AdmittedItem(a.Key, a.ExpiresAtMs))]));
        foreach (var activity in state.LastActivity)
        {
            _lastActivityMs[activity.ClientId] = activity.AtMs;
        }

        foreach (var report in state.Withheld)
        {
            _withheld.Add(new MessagesWithheld(report.SenderId, report.Epoch, [.. report.Ranges.Select(r => new GenerationRange(r.First, r.End))]));
        }
    }

    private static EpochStateRecord ExportEpoch(EpochState epoch, List<byte[]> secrets)
    {
        var record = new EpochStateRecord
        {
            Epoch = epoch.Epoch,
            Suite = (int)epoch.Suite,
            Policy = epoch.Policy.ToByteString(),
            TranscriptHash = ByteString.CopyFrom(epoch.TranscriptHash),
            EpochCode = epoch.EpochCode,
            StartedAtMs = epoch.StartedAtMs,
            HasRetiredAt = epoch.RetiredAtMs is not null,
            RetiredAtMs = epoch.RetiredAtMs ?? 0,
            MessagesSent = epoch.MessagesSent,
            SummariesSent = epoch.SummariesSent,
            SummaryDue = epoch.SummaryDue,
            HasPreviousSent = epoch.PreviousSent is not null,
            PreviousSentEpoch = epoch.PreviousSent?.Epoch ?? 0,
            PreviousSentCount = epoch.PreviousSent?.Count ?? 0,
        };
        record.Roster.AddRange(epoch.Roster.Select(m => m.Bundle.ToByteString()));
        if (epoch.Send is { } send)
        {
            record.Send = new ChainState { ChainKey = ByteString.CopyFrom(Track(secrets, send.ExportChainKey())), NextGeneration = send.NextGeneration };
        }

        foreach (var (senderId, chain) in epoch.Receive.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            var receive = new ReceiveChainState
            {
                SenderId = senderId,
                Chain = new ChainState { ChainKey = ByteString.CopyFrom(Track(secrets, chain.ExportChainKey())), NextGeneration = chain.NextGeneration },
            };
            foreach (var (generation, key) in chain.ExportSkipped())
            {
                receive.Skipped.Add(new SkippedKey { Generation = generation, Key = ByteString.CopyFrom(Track(secrets, key)) });
            }

            record.Receive.Add(receive);
        }

        foreach (var (senderId, gaps) in epoch.Gaps.OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var gapsRecord = new SenderGapsState { SenderId = senderId, KnownEnd = gaps.KnownEnd };
            gapsRecord.Gaps.AddRange(gaps.Export().Select(g => new GapState { First = g.First, End = g.End, NoticedAtMs = g.NoticedAtMs, Reported = g.Reported }));
            record.Gaps.Add(gapsRecord);
        }

        return record;
    }

    private EpochState ImportEpoch(EpochStateRecord record, Dictionary<ByteString, RosterMember> members)
    {
        var roster = new List<RosterMember>(record.Roster.Count);
        foreach (var bytes in record.Roster)
        {
            if (!members.TryGetValue(bytes, out var member))
            {
                if (Bundles.Verify(ParseWire(SignedBundle.Parser, bytes), RoomId, null, out member) != BundleRejection.None)
                {
                    throw new GroupStateException("the room state has a roster entry that does not verify");
                }

                members[bytes] = member!;
            }

            roster.Add(member!);
        }

        if (record.TranscriptHash.Length != KeySchedule.HashSize)
        {
            throw new GroupStateException("the room state has a malformed transcript hash");
        }

        var send = record.Send is { } sendRecord ? SendChain.Restore(ChainKey(sendRecord), sendRecord.NextGeneration) : null;
        var epoch = EpochState.Restore(record.Epoch, (CipherSuite)record.Suite, ParseWire(RoomPolicy.Parser, record.Policy), record.TranscriptHash.ToByteArray(),
            roster, record.EpochCode, record.StartedAtMs, send);
        epoch.RetiredAtMs = record.HasRetiredAt ? record.RetiredAtMs : null;
        epoch.MessagesSent = record.MessagesSent;
        epoch.SummariesSent = record.SummariesSent;
        epoch.SummaryDue = record.SummaryDue;
        epoch.PreviousSent = record.HasPreviousSent ? new EpochCount { Epoch = record.PreviousSentEpoch, Count = record.PreviousSentCount } : null;
        foreach (var receive in record.Receive)
        {
            epoch.Receive[receive.SenderId] = ReceiveChain.Restore(ChainKey(receive.Chain ?? new ChainState()), receive.Chain?.NextGeneration ?? 0,
                receive.Skipped.Select(s => (s.Generation, s.Key.ToByteArray())));
        }

        foreach (var gaps in record.Gaps)
        {
            epoch.Gaps[gaps.SenderId] = DeliveryGaps.Restore(gaps.KnownEnd, gaps.Gaps.Select(g => (g.First, g.End, g.NoticedAtMs, g.Reported)));
        }

        return epoch;
    }

    private static byte[] ChainKey(ChainState chain) =>
        chain.ChainKey.Length == KeySchedule.SecretSize ? chain.ChainKey.ToByteArray() : throw new GroupStateException("the room state has a malformed chain key");

    private static T ParseWire<T>(MessageParser<T> parser, ByteString bytes)
        where T : IMessage<T>
    {
        try
        {
            return parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new GroupStateException($"the room state has a malformed {typeof(T).Name}", ex);
        }
    }

    private static byte[] Track(List<byte[]> secrets, byte[] secret)
    {
        secrets.Add(secret);
        return secret;
    }
}

/// <summary>Bytes that are not an exported <see cref="GroupSession"/> state (<see cref="GroupSession.ImportState"/>).</summary>
public sealed class GroupStateException : Exception
{
    public GroupStateException()
        : base("not a room state")
    {
    }

    public GroupStateException(string message)
        : base(message)
    {
    }

    public GroupStateException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
