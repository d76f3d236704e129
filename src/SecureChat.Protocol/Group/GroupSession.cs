using System.Security.Cryptography;
using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;

namespace SecureChat.Protocol.Group;

/// <summary>
/// One client's view of one room under protocol v2: roster, policy, epoch, transcript hash, what the room admitted,
/// and the per-sender hash ratchets. Pure and deterministic given its <see cref="IClock"/> and <see cref="IRandomSource"/>; no I/O.
/// Not thread-safe: one owner (the room's client actor) drives it. Dispose to erase every key it holds.
/// </summary>
public sealed partial class GroupSession : IDisposable
{
    private readonly LocalIdentity _identity;
    private readonly TrustStore _trust;
    private readonly IClock _clock;
    private readonly IRandomSource _random;

    // Membership private keys this session can open wraps with, by key id.
    private readonly Dictionary<uint, MembershipKey> _membershipKeys = new();
    private readonly List<EpochState> _retired = [];
    private AdmissionRecord _admissions = new(); // replaced only by ImportState

    // The last time (our clock) each other member showed it is there: a message from it, a commit by it, its admission
    // (or our own joining, for the members already there). What an ABSENT remove is checked against.
    private readonly Dictionary<string, long> _lastActivityMs = new(StringComparer.Ordinal);
    private EpochState? _current;
    private PendingOwnCommit? _pending;
    private byte[]? _lastAppliedContentHash;
    private byte[]? _lastAppliedTag;
    private ulong _firstEpoch;
    private ulong _removedAtEpoch;
    private bool _disposed;

    // The epoch whose roster was last found free of unaccepted key changes, and the trust store's pin version then.
    private EpochState? _rosterTrustedFor;
    private long _rosterTrustedAtPinsVersion;

    public GroupSession(LocalIdentity identity, string roomId, TrustStore trust, GroupOptions? options = null,
        IClock? clock = null, IRandomSource? random = null)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(trust);
        if (!EnvelopeCodec.IsValidId(roomId))
        {
            throw new ArgumentException("room id must be 1-64 characters of [A-Za-z0-9._@-]", nameof(roomId));
        }

        _identity = identity;
        _trust = trust;
        _clock = clock ?? SystemClock.Instance;
        _random = random ?? SystemRandomSource.Instance;
        Options = options ?? GroupOptions.Default;
        MaxMembers = Options.MaxMembers;
        MaxFrameBytes = Options.MaxFrameBytes;
        RoomId = roomId;
        var joinKey = identity.CreateMembershipKey(roomId, 1, _clock.UtcNowMs, Options.BundleLifetimeMs, _random);
        _membershipKeys[joinKey.KeyId] = joinKey;
        JoinBundle = joinKey.Bundle;
    }

    /// <summary>An imported session (<see cref="ImportState"/>): no new membership key; the state fills in the rest.</summary>
    private GroupSession(LocalIdentity identity, string roomId, TrustStore trust, GroupOptions? options, IClock? clock, IRandomSource? random,
        SignedBundle joinBundle)
    {
        _identity = identity;
        _trust = trust;
        _clock = clock ?? SystemClock.Instance;
        _random = random ?? SystemRandomSource.Instance;
        Options = options ?? GroupOptions.Default;
        MaxMembers = Options.MaxMembers;
        MaxFrameBytes = Options.MaxFrameBytes;
        RoomId = roomId;
        JoinBundle = joinBundle;
    }

    public string RoomId { get; }

    public string LocalClientId => _identity.ClientId;

    public GroupOptions Options { get; }

    /// <summary>Largest roster this session commits or accepts: the server's max_members_per_room once adopted, else the options'.</summary>
    public int MaxMembers { get; private set; }

    /// <summary>The frame limit the COMMIT envelope of a commit this session creates must fit: the server's max_frame_bytes once adopted, else the options'.</summary>
    public int MaxFrameBytes { get; private set; }

    /// <summary>The bundle to publish in this session's JOIN (its first membership key, key id 1).</summary>
    public SignedBundle JoinBundle { get; }

    public GroupStatus Status { get; private set; } = GroupStatus.Joining;

    /// <summary>The current epoch; 0 before the first commit.</summary>
    public ulong Epoch => _current?.Epoch ?? 0;

    /// <summary>The first epoch this session could read.</summary>
    public ulong FirstEpoch => _firstEpoch;

    /// <summary>TH of the current epoch (32 zero bytes before the first commit).</summary>
    public byte[] TranscriptHash => (byte[])(_current?.TranscriptHash ?? KeySchedule.InitialTranscriptHash).Clone();

    /// <summary>The room's cipher suite, fixed by its first commit.</summary>
    public CipherSuite Suite => _current?.Suite ?? CipherSuite.Unspecified;

    /// <summary>The current roster, sorted by client id.</summary>
    public IReadOnlyList<RosterMember> Roster => _current?.Roster ?? [];

    /// <summary>The policy in force (null before the first commit).</summary>
    public RoomPolicy? Policy => _current?.Policy?.Clone();

    /// <summary>This member's entry in the current roster; before the first commit, the join bundle.</summary>
    public SignedBundle CurrentBundle =>
        _current is { } current && current.Members.TryGetValue(LocalClientId, out var own) ? own.Bundle : JoinBundle;

    /// <summary>25 digits every member of the epoch sees alike; differing codes reveal a fork.</summary>
    public string? EpochCode => _current?.EpochCode;

    /// <summary>Our commit waiting for the relay's echo, if any.</summary>
    public SignedCommit? PendingCommit => _pending?.Commit;

    /// <summary>Roster members whose identity key is not the pinned one: sending is blocked until the user accepts each.</summary>
    public IReadOnlyList<IdentityKeyChange> BlockingKeyChanges =>
        Roster.Where(m => !IsSelf(m.ClientId) && !_trust.IsTrusted(m.ClientId, m.IdentityKey))
            .Select(m => new IdentityKeyChange(m.ClientId, _trust.PinnedKey(m.ClientId) ?? [], m.IdentityKey))
            .ToList();

    /// <summary>
    /// Like <see cref="BlockingKeyChanges"/>, but remembers an empty answer until the epoch (so the roster) or a
    /// pin changes: checking every member before every message would otherwise dominate sending in a large room.
    /// </summary>
    private IReadOnlyList<IdentityKeyChange> BlockingKeyChangesBeforeSending(EpochState current)
    {
        // Read the version first: a pin that moves during the check bumps it past the remembered one.
        var pinsVersion = _trust.PinsVersion;
        if (ReferenceEquals(_rosterTrustedFor, current) && _rosterTrustedAtPinsVersion == pinsVersion)
        {
            return [];
        }

        var blocking = BlockingKeyChanges;
        if (blocking.Count == 0)
        {
            _rosterTrustedFor = current;
            _rosterTrustedAtPinsVersion = pinsVersion;
        }

        return blocking;
    }

    /// <summary>
    /// True when this member should commit a rekey: it sent <see cref="GroupOptions.RekeyAfterMessages"/> messages
    /// in the epoch; or the epoch is older than <see cref="GroupOptions.RekeyAfterMs"/> and it sent at least one text (a summary
    /// does not count); or its
    /// own roster entry has less than half of its lifetime left (the rekey refreshes it before it can expire).
    /// </summary>
    public bool NeedsRekey =>
        Status == GroupStatus.Active && _pending is null && _current is { } current &&
        (current.MessagesSent >= Options.RekeyAfterMessages ||
         (current.MessagesSent > current.SummariesSent && _clock.UtcNowMs - current.StartedAtMs >= Options.RekeyAfterMs) ||
         OwnEntryPastHalfLife(current));

    /// <summary>
    /// Whether this member's own view lets it remove <paramref name="clientId"/> as ABSENT (PROTOCOL.md §8.3): a member of
    /// the current roster from which it has seen no message, no commit and no admission for longer than the room's
    /// absence limit, counted from when this session joined for members that were there before.
    /// </summary>
    public bool SeesAbsent(string clientId)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        return _current is { } current && !IsSelf(clientId) && current.Members.ContainsKey(clientId)
            && _lastActivityMs.TryGetValue(clientId, out var last) && _clock.UtcNowMs - last > (long)current.Policy.AbsenceLimitMs;
    }

    private void RecordActivity(CommitShape shape, RosterMember committer, bool joining, long nowMs)
    {
        foreach (var member in shape.Roster)
        {
            if (joining || !_lastActivityMs.ContainsKey(member.ClientId))
            {
                _lastActivityMs[member.ClientId] = nowMs;
            }
        }

        foreach (var added in shape.Added)
        {
            _lastActivityMs[added.Member.ClientId] = nowMs;
        }

        _lastActivityMs[committer.ClientId] = nowMs;
        foreach (var gone in _lastActivityMs.Keys.Where(id => !shape.Roster.Any(m => m.ClientId == id)).ToList())
        {
            _lastActivityMs.Remove(gone);
        }
    }

    /// <summary>
    /// This member's signed leave (PROTOCOL.md §4.5): for the room, its current roster entry (the join bundle before it
    /// was admitted) and the current epoch. With it, any member may remove us as LEFT; without it only as REMOVED.
    /// </summary>
    public SignedLeave CreateLeave() => Leaves.Create(_identity, RoomId, Epoch, CurrentBundle, Math.Max(0, _clock.UtcNowMs));

    /// <summary>
    /// A signed invite naming <paramref name="inviteeId"/> (PROTOCOL.md §8.3): in an INVITE room a committer adds that id
    /// only with it, and only while we are in the roster it checks. Valid from now for <paramref name="lifetimeMs"/>
    /// (default and maximum 30 days); it admits once.
    /// </summary>
    public SignedInvite CreateInvite(string inviteeId, long lifetimeMs = Invites.MaxLifetimeMs) =>
        Invites.Create(_identity, RoomId, inviteeId, Math.Max(0, _clock.UtcNowMs), lifetimeMs, _random);

    /// <summary>Wraps a commit for sending: a COMMIT envelope from this client for this room.</summary>
    /// <summary>
    /// The limits the server's WELCOME announced for this connection (PROTOCOL.md §4.1): the commits this session makes must fit
    /// its frames and its room size, and commits of that room size are accepted. Zero (not announced) keeps the current limit;
    /// a value beyond what any server may announce is taken at that bound.
    /// </summary>
    public void AdoptServerLimits(uint maxMembersPerRoom, uint maxFrameBytes)
    {
        if (maxMembersPerRoom > 0)
        {
            MaxMembers = (int)Math.Min(maxMembersPerRoom, WireLimits.MaxMembersPerRoomCeiling);
        }

        if (maxFrameBytes > 0)
        {
            MaxFrameBytes = (int)Math.Min(maxFrameBytes, WireLimits.MaxFrameBytesCeiling);
        }
    }

    public Envelope CommitEnvelope(SignedCommit commit)
    {
        ArgumentNullException.ThrowIfNull(commit);
        var content = CommitContent.Parser.ParseFrom(commit.Content);
        return new Envelope
        {
            Version = WireLimits.ProtocolVersion,
            Type = MessageType.Commit,
            SenderId = LocalClientId,
            RoomId = RoomId,
            Epoch = content.Epoch,
            Commit = commit,
        };
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _current?.Dispose();
        foreach (var state in _retired)
        {
            state.Dispose();
        }

        _retired.Clear();
        DiscardPending();
        foreach (var key in _membershipKeys.Values)
        {
            key.Dispose();
        }

        _membershipKeys.Clear();
    }

    private bool IsSelf(string clientId) => string.Equals(clientId, LocalClientId, StringComparison.Ordinal);

    private bool OwnEntryPastHalfLife(EpochState current) =>
        current.Members.TryGetValue(LocalClientId, out var own)
        && (ulong)Math.Max(0, _clock.UtcNowMs) >= own.CreatedAtMs + ((own.ExpiresAtMs - own.CreatedAtMs) / 2);

    private void DiscardPending()
    {
        if (_pending is null)
        {
            return;
        }

        CryptographicOperations.ZeroMemory(_pending.EpochSecret);
        if (_pending.NewOwnKey is { } key && _membershipKeys.Remove(key.KeyId))
        {
            key.Dispose();
        }

        _pending = null;
    }

    private static byte[] ContentHash(ByteString content) => Hashing.Sha256(content.Span);

    private sealed record PendingOwnCommit(SignedCommit Commit, ulong Epoch, byte[] EpochSecret, MembershipKey? NewOwnKey, byte[] ContentHash);
}
