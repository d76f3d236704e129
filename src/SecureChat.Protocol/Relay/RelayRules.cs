using System.Globalization;
using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Framing;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;

namespace SecureChat.Protocol.Relay;

/// <summary>Why the relay refuses a COMMIT (answered with ERROR COMMIT_REJECTED, envelope.epoch = the commit's epoch).</summary>
public enum RelayCommitRejection
{
    None,

    /// <summary>The content does not parse, or a field has the wrong size.</summary>
    Malformed,

    WrongRoom,

    /// <summary>content.epoch is not current + 1 (also: another commit already won this epoch).</summary>
    WrongEpoch,

    /// <summary>committer_id differs from the envelope's authenticated sender.</summary>
    CommitterNotSender,

    /// <summary>An unknown suite, or not the room's.</summary>
    WrongSuite,

    /// <summary>
    /// A kind the room does not accept now: CREATE only for an empty room; MEMBER otherwise, and EXTERNAL only from the joiner
    /// the room asked for one (JOINED mode EXTERNAL: no member was connected to admit it).
    /// </summary>
    WrongKind,

    /// <summary>previous_transcript_hash is not the room's transcript hash (32 zero bytes for a creation): another history.</summary>
    WrongTranscript,

    /// <summary>The sender is not a member that may commit (nor, for an empty room, a waiting joiner creating it alone).</summary>
    NotAMember,

    BadSignature,

    /// <summary>The roster, operations or wraps break the commit rule (PROTOCOL.md §8.4, <see cref="RosterRules"/>).</summary>
    BadRoster,

    /// <summary>An added bundle is not one a client joined with.</summary>
    NotJoined,

    /// <summary>The COMMIT envelope the room would relay does not fit one frame (the connections' limit).</summary>
    TooLarge,

    /// <summary>An EXTERNAL commit's remove the room cannot confirm: LEFT without the leave the room keeps, EXPIRED of an entry unexpired by its clock.</summary>
    UnconfirmedRemove,

    /// <summary>The member has committed its maximum of rekeys in the last minute (<see cref="RoomSettings.RekeysPerMemberPerMinute"/>).</summary>
    TooManyRekeys,
}

/// <summary>What the room knows when a commit arrives: public keys, ids, hashes only.</summary>
/// <param name="Roster">The current roster by id (empty for a new room or one whose roster was reset).</param>
/// <param name="PendingAdds">The bundles connected joiners joined with, by client id.</param>
/// <param name="PendingRemoves">Roster members that left (or reconnected with a new key) and await removal.</param>
public sealed record RelayView(
    string RoomId,
    ulong Epoch,
    CipherSuite Suite,
    IReadOnlyDictionary<string, RosterMember> Roster,
    IReadOnlyDictionary<string, RosterMember> PendingAdds,
    IReadOnlySet<string> PendingRemoves,
    int MaxMembers)
{
    /// <summary>Bundles the open COMMIT_REQUEST asked to add; a committer may still add them if their joiner left meanwhile.</summary>
    public IReadOnlyList<RosterMember> RequestedAdds { get; init; } = [];

    /// <summary>TH of the current epoch (32 zero bytes before a creation): the next commit's previous transcript hash.</summary>
    public ByteString TranscriptHash { get; init; } = ByteString.CopyFrom(KeySchedule.InitialTranscriptHash);

    /// <summary>The policy in force (null before a creation).</summary>
    public RoomPolicy? Policy { get; init; }

    /// <summary>What the room admitted (bundles, invites), for the one-admission rules.</summary>
    public AdmissionRecord? Admissions { get; init; }

    /// <summary>The joiner the room asked for an external commit (JOINED mode EXTERNAL), if any: the only one that may commit EXTERNAL.</summary>
    public string? ExternalCommitter { get; init; }

    /// <summary>The signed leaves the room keeps, by leaver id: an EXTERNAL commit's LEFT removes carry exactly these.</summary>
    public IReadOnlyDictionary<string, SignedLeave> KeptLeaves { get; init; } = new Dictionary<string, SignedLeave>();

    /// <summary>The server's clock: an EXTERNAL commit's EXPIRED removes name entries expired by it.</summary>
    public long NowMs { get; init; }

    /// <summary>The largest frame body a connection sends (<see cref="FrameCodec.IsValidLength"/>): the relayed commit must fit it.</summary>
    public int MaxFrameBytes { get; init; } = WireLimits.DefaultMaxFrameBytes;
}

/// <summary>The relay's answer to a commit: accepted (the event to apply), or the rejection and its ERROR reason.</summary>
/// <param name="Epoch">The epoch the commit names (0 when it does not parse): the ERROR's envelope epoch.</param>
public sealed record RelayVerdict(RelayCommitRejection Rejection, string Reason, ulong Epoch, EpochAccepted? Accepted)
{
    public bool IsAccepted => Accepted is not null;

    /// <summary>For an accepted commit, the COMMIT envelope to relay to every member (<see cref="RelayRules.RelayedCommit"/>).</summary>
    public ByteString Relayed { get; init; } = ByteString.Empty;
}

/// <summary>
/// The relay's rules (PROTOCOL.md §4.3): the one implementation the server, the protocol tests' relay and the adversarial
/// relay all call. Pure and synchronous: it verifies signatures over public keys and compares ids, bytes and hashes; it
/// never sees a secret. The commit rule is the members' own (<see cref="RosterRules"/>); on top of it the relay holds the
/// committer to its own records: only a member that has not left commits (MEMBER), only a waiting joiner creates an empty
/// room (CREATE, alone), only bundles clients joined with are added, the commit continues the room's history (its previous
/// transcript hash is the one the relay recorded) and what the relay would relay fits one frame. Any member may remove any
/// other (the relay cannot veto a remove); the commit rule checks each reason's proof. It cannot check wraps or the
/// confirmation tag (they need the epoch secret).
/// </summary>
public static class RelayRules
{
    /// <summary>TH_0: the previous transcript hash of a creating commit, and the room's before one (§8.8).</summary>
    public static ByteString InitialTranscriptHash { get; } = ByteString.CopyFrom(KeySchedule.InitialTranscriptHash);

    /// <summary>
    /// The JOIN check (§4.2, §6): a valid bundle of the sender for this room, unexpired now, with a usable membership key,
    /// and not one the room already admitted.
    /// </summary>
    public static BundleRejection CheckJoinBundle(SignedBundle? bundle, string clientId, string roomId, long nowMs, out RosterMember? member,
        out string reason)
    {
        var rejection = Bundles.VerifyFor(bundle, clientId, roomId, nowMs, out member);
        reason = Describe(rejection);
        return rejection;
    }

    /// <summary>The BAD_BUNDLE reason for each rejection.</summary>
    public static string Describe(BundleRejection rejection) => rejection switch
    {
        BundleRejection.None => string.Empty,
        BundleRejection.Malformed => "bundle content does not parse, or a key or the signature has the wrong length",
        BundleRejection.InvalidClientId => "bundle client id is not a valid id",
        BundleRejection.BadSignature => "bundle signature does not verify",
        BundleRejection.Expired => "bundle has expired",
        BundleRejection.BadLifetime => "bundle lifetime is negative or longer than 90 days",
        BundleRejection.WrongRoom => "bundle is for another room",
        BundleRejection.WrongClient => "bundle belongs to another client id",
        BundleRejection.WeakMembershipKey => "bundle membership key is a low-order point",
        _ => rejection.ToString(),
    };

    /// <summary>The COMMIT check (§4.3). The first commit that passes for an epoch wins.</summary>
    public static RelayVerdict CheckCommit(RelayView room, string senderId, SignedCommit commit)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentNullException.ThrowIfNull(commit);
        if (!WireParsing.TryParse(CommitContent.Parser, commit.Content.Span, out var content))
        {
            return Refuse(RelayCommitRejection.Malformed, "commit content does not parse", 0);
        }

        var epoch = content.Epoch;
        if (!string.Equals(content.RoomId, room.RoomId, StringComparison.Ordinal))
        {
            return Refuse(RelayCommitRejection.WrongRoom, "commit is for another room", epoch);
        }

        if (epoch <= room.Epoch)
        {
            return Refuse(RelayCommitRejection.WrongEpoch, Invariant($"epoch {epoch} is already committed"), epoch);
        }

        if (epoch != room.Epoch + 1)
        {
            return Refuse(RelayCommitRejection.WrongEpoch, Invariant($"epoch {epoch} is not the next epoch {room.Epoch + 1}"), epoch);
        }

        if (!string.Equals(content.CommitterId, senderId, StringComparison.Ordinal))
        {
            return Refuse(RelayCommitRejection.CommitterNotSender, "committer id differs from the sender", epoch);
        }

        if (content.PreviousTranscriptHash.Length != KeySchedule.HashSize || commit.ConfirmationTag.Length != KeySchedule.ConfirmationTagSize)
        {
            return Refuse(RelayCommitRejection.Malformed, "previous transcript hash or confirmation tag has the wrong length", epoch);
        }

        if (content.Suite == CipherSuite.Unspecified || !Enum.IsDefined(content.Suite))
        {
            return Refuse(RelayCommitRejection.WrongSuite, "unknown cipher suite", epoch);
        }

        var creating = room.Roster.Count == 0;
        if (!creating && content.Suite != room.Suite)
        {
            return Refuse(RelayCommitRejection.WrongSuite, "cipher suite differs from the room's", epoch);
        }

        var external = !creating && content.Kind == CommitKind.External;
        if (external && !string.Equals(room.ExternalCommitter, senderId, StringComparison.Ordinal))
        {
            return Refuse(RelayCommitRejection.WrongKind,
                "an external commit only from the joiner the room asked for one (no member was connected to admit it)", epoch);
        }

        var expectedKind = creating ? CommitKind.Create : external ? CommitKind.External : CommitKind.Member;
        if (content.Kind != expectedKind)
        {
            return Refuse(RelayCommitRejection.WrongKind, creating
                ? "the first commit of a room must be a CREATE"
                : "only MEMBER commits are accepted in a room that has members", epoch);
        }

        var committer = creating ? Creator(room, senderId, content) : external ? ExternalJoiner(room, senderId, content) : Committer(room, senderId);
        if (committer is null)
        {
            return Refuse(RelayCommitRejection.NotAMember, creating
                ? "only a waiting joiner can create the room, and only with itself as its roster"
                : external
                    ? "an external commit adds exactly one bundle: the one its committer joined with"
                    : "committer is not in the room's roster", epoch);
        }

        if (!Signatures.Verify(committer.IdentityKey, Labels.CommitSignature, commit.Content.Span, commit.Signature.Span))
        {
            return Refuse(RelayCommitRejection.BadSignature, "commit signature does not verify with the committer's identity key", epoch);
        }

        if (!content.PreviousTranscriptHash.Equals(ExpectedPreviousTranscriptHash(room)))
        {
            return Refuse(RelayCommitRejection.WrongTranscript, creating
                ? "previous transcript hash is not the room's: a creating commit names 32 zero bytes"
                : "previous transcript hash is not the room's: the commit continues another history", epoch);
        }

        // The relay's own records first: they are byte comparisons, cheaper than the roster's signatures.
        var operations = content.Operations;
        if (operations.Any(o => o.OpCase == Operation.OpOneofCase.Add && (o.Add.Bundle is null || JoinedBundle(room, o.Add.Bundle) is null)))
        {
            return Refuse(RelayCommitRejection.NotJoined, "commit adds a bundle nobody joined with", epoch);
        }

        if (external && UnconfirmedExternalRemove(room, content) is { } unconfirmed)
        {
            return Refuse(RelayCommitRejection.UnconfirmedRemove, unconfirmed, epoch);
        }

        return CheckRoster(room, commit, content, creating);
    }

    /// <summary>
    /// What the room can confirm of an external commit's removes, on top of the members' rule: a LEFT remove carries the very
    /// leave the room keeps for that member, an EXPIRED one names an entry expired by the server's clock (its created_at_ms is
    /// the joiner's word). The rule (<see cref="RosterRules"/>) admits no other reason but the committer's own REJOINED.
    /// </summary>
    private static string? UnconfirmedExternalRemove(RelayView room, CommitContent content)
    {
        foreach (var remove in content.Operations.Where(o => o.OpCase == Operation.OpOneofCase.Remove).Select(o => o.Remove))
        {
            switch (remove.Reason)
            {
                case RemoveReason.Left when !room.KeptLeaves.TryGetValue(remove.ClientId, out var kept) || !kept.Equals(remove.Leave):
                    return "an external commit removes as LEFT only a member whose signed leave the room keeps, with that leave";
                case RemoveReason.Expired when room.Roster.TryGetValue(remove.ClientId, out var entry) && !entry.IsExpiredAt((ulong)Math.Max(0, room.NowMs)):
                    return "an external commit removes as EXPIRED only an entry that has expired by the server's clock";
            }
        }

        return null;
    }

    private static RelayVerdict CheckRoster(RelayView room, SignedCommit commit, CommitContent content, bool creating)
    {
        var epoch = content.Epoch;
        var violation = RosterRules.CheckShape(content, room.MaxMembers, Known(room), out var shape);
        IReadOnlyList<InviteContent> invitesUsed = [];
        if (violation == RosterViolation.None)
        {
            var basis = new CommitBasis(room.Roster, creating ? content.Policy : room.Policy ?? RoomPolicies.Default, room.Admissions);
            violation = RosterRules.CheckChange(content, shape!, basis, out invitesUsed);
        }

        if (violation != RosterViolation.None)
        {
            return Refuse(RelayCommitRejection.BadRoster, Describe(violation, room.MaxMembers), epoch);
        }

        var relayed = RelayedCommit(room.RoomId, content, commit);
        if (!FrameCodec.IsValidLength(relayed.Length, room.MaxFrameBytes))
        {
            return Refuse(RelayCommitRejection.TooLarge,
                Invariant($"the commit would be relayed as {relayed.Length} bytes, above the frame limit of {room.MaxFrameBytes}"), epoch);
        }

        var accepted = new EpochAccepted(epoch, content.Suite, content.CommitterId, shape!.Roster, [.. shape.AddedIds],
            [.. shape.RemovedIds], shape.IsRekey, TranscriptHashAfter(content, commit))
        {
            Policy = shape.Policy.Clone(),
            CreatedAtMs = content.CreatedAtMs,
            InvitesUsed = invitesUsed,
            Relayed = relayed,
        };
        return new RelayVerdict(RelayCommitRejection.None, string.Empty, epoch, accepted) { Relayed = relayed };
    }

    /// <summary>The previous transcript hash the next commit must name: the room's, or TH_0 when it creates the room.</summary>
    public static ByteString ExpectedPreviousTranscriptHash(RelayView room)
    {
        ArgumentNullException.ThrowIfNull(room);
        return room.Roster.Count == 0 ? InitialTranscriptHash : room.TranscriptHash;
    }

    /// <summary>The transcript hash TH_e an accepted commit leads to (§8.8): what the room records, and members compute, for the next commit.</summary>
    public static ByteString TranscriptHashAfter(CommitContent content, SignedCommit commit)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(commit);
        return ByteString.CopyFrom(KeySchedule.TranscriptHashOf(commit, content.PreviousTranscriptHash.Span));
    }

    /// <summary>The transcript hash a well-formed commit leads to (for clients built by hand that track the room's history).</summary>
    public static ByteString TranscriptHashAfter(SignedCommit commit)
    {
        ArgumentNullException.ThrowIfNull(commit);
        return TranscriptHashAfter(CommitContent.Parser.ParseFrom(commit.Content), commit);
    }

    /// <summary>The COMMIT envelope the room relays for an accepted commit, to every member and back to its committer.</summary>
    public static ByteString RelayedCommit(string roomId, CommitContent content, SignedCommit commit)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(commit);
        return ServerFrames.Commit(roomId, content.CommitterId, content.Epoch, content.Suite, commit);
    }

    /// <summary>The server's reason texts for the commit rule.</summary>
    private static string Describe(RosterViolation violation, int maxMembers) => violation switch
    {
        RosterViolation.BadKind => "unknown commit kind",
        RosterViolation.BadPolicy => "policy is missing or out of range",
        RosterViolation.PolicyChanged => "policy changed without a SetPolicy operation",
        RosterViolation.UnknownOperation => "commit has an operation of an unknown kind",
        RosterViolation.OperationOrder => "operations are not removes, adds, policy, each sorted by client id",
        RosterViolation.BadRemove => "a remove has no valid id or reason, or a leave proof on the wrong reason",
        RosterViolation.EmptyRoster => "roster is empty",
        RosterViolation.TooManyMembers => Invariant($"roster exceeds {maxMembers} members"),
        RosterViolation.InvalidBundle => "roster entry does not verify, is for another room, or has a low-order key",
        RosterViolation.NotSorted => "roster is not sorted by client id without duplicates",
        RosterViolation.EntryExpired => "roster holds a bundle that had expired when the commit was made",
        RosterViolation.AddedNotInRoster => "an added bundle is not a distinct entry of the roster",
        RosterViolation.RemovedStillInRoster => "a removed member is still in the roster",
        RosterViolation.RejoinNotReadded or RosterViolation.RejoinOtherIdentity => "a rejoining member is not added back with its identity key",
        RosterViolation.CreateShape => "a CREATE must hold the creator alone",
        RosterViolation.ExternalShape or RosterViolation.ExternalFromMember => "an external commit must add its committer alone",
        RosterViolation.CommitterNotInRoster => "committer is not in the new roster",
        RosterViolation.WrapCount => "commit needs one wrap per roster member",
        RosterViolation.WrapOrder => "wraps are not in roster order",
        RosterViolation.WrapShape => "a wrap names another key id than its roster entry, or has the wrong size",
        RosterViolation.RemovedNotMember => "commit removes someone who is not a member",
        RosterViolation.RemovesCommitter => "a committer cannot remove itself",
        RosterViolation.AddedAlreadyMember => "commit adds a member that is already in the roster",
        RosterViolation.EntryChanged => "roster holds a bundle other than the member's known one",
        RosterViolation.NotExpired => "an EXPIRED remove of a bundle that has not expired",
        RosterViolation.InvalidLeave => "a LEFT remove without the member's signed leave",
        RosterViolation.InviteMissing or RosterViolation.InviteInvalid => "an add without a valid invite in an invite-only room",
        RosterViolation.InviteUsed => "an invite that was already used",
        RosterViolation.BundleReused => "commit adds a bundle that was already admitted in this room",
        _ => "roster is not the old roster with the operations applied",
    };

    private static RosterMember? Committer(RelayView room, string senderId) =>
        room.Roster.TryGetValue(senderId, out var member) && !room.PendingRemoves.Contains(senderId) ? member : null;

    /// <summary>An empty room is created by a waiting joiner, with its own join bundle as the whole roster.</summary>
    private static RosterMember? Creator(RelayView room, string senderId, CommitContent content)
    {
        if (!room.PendingAdds.TryGetValue(senderId, out var own))
        {
            return null;
        }

        var onlySelf = content.Roster.Count == 1 && content.Operations.Count == 1 && content.Operations[0].OpCase == Operation.OpOneofCase.Add
                       && own.Bundle.Equals(content.Roster[0]) && own.Bundle.Equals(content.Operations[0].Add.Bundle);
        return onlySelf ? own : null;
    }

    /// <summary>The joiner asked for an external commit, when the commit's one add is the bundle it joined with.</summary>
    private static RosterMember? ExternalJoiner(RelayView room, string senderId, CommitContent content)
    {
        var adds = content.Operations.Where(o => o.OpCase == Operation.OpOneofCase.Add).ToList();
        return room.PendingAdds.TryGetValue(senderId, out var own) && adds.Count == 1 && own.Bundle.Equals(adds[0].Add.Bundle) ? own : null;
    }

    /// <summary>
    /// The bundle an added entry stands for, if it is byte for byte one a client joined with: still waiting,
    /// or named in the open request (its joiner may have left since; the room then removes it again).
    /// </summary>
    private static RosterMember? JoinedBundle(RelayView room, SignedBundle bundle) =>
        room.PendingAdds.Values.FirstOrDefault(m => m.Bundle.Equals(bundle)) ?? room.RequestedAdds.FirstOrDefault(m => m.Bundle.Equals(bundle));

    /// <summary>Bundles the relay verified before (roster and joins): the roster rule need not verify them again.</summary>
    private static Dictionary<ByteString, RosterMember> Known(RelayView room)
    {
        var known = new Dictionary<ByteString, RosterMember>();
        foreach (var member in room.Roster.Values.Concat(room.PendingAdds.Values).Concat(room.RequestedAdds))
        {
            known.TryAdd(member.Bundle.Signature, member);
        }

        return known;
    }

    private static RelayVerdict Refuse(RelayCommitRejection rejection, string reason, ulong epoch) => new(rejection, reason, epoch, null);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
