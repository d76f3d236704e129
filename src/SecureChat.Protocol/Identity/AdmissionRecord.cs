using Google.Protobuf;
using SecureChat.Core.Wire;

namespace SecureChat.Protocol.Identity;

/// <summary>
/// What a room has admitted, for its one-admission rules (PROTOCOL.md §6, §8.3): the SHA-256 of every bundle that became
/// a roster entry and every invite id that admitted someone, each kept until it expires. Pruned by commit time
/// (<c>created_at_ms</c>), never by a local clock, so every member and the relay that saw the same commits decide alike.
/// The engine and the relay keep one each.
/// </summary>
public sealed class AdmissionRecord
{
    private readonly Dictionary<ByteString, ulong> _bundles = new();
    private readonly Dictionary<ByteString, ulong> _invites = new();

    public int BundleCount => _bundles.Count;

    public int InviteCount => _invites.Count;

    public bool BundleUsed(RosterMember member)
    {
        ArgumentNullException.ThrowIfNull(member);
        return _bundles.ContainsKey(member.BundleHash);
    }

    public bool InviteUsed(ByteString inviteId) => _invites.ContainsKey(inviteId);

    /// <summary>A bundle became a roster entry (added, refreshed, or seen by a joiner in its first roster).</summary>
    public void Admit(RosterMember member)
    {
        ArgumentNullException.ThrowIfNull(member);
        _bundles[member.BundleHash] = member.ExpiresAtMs;
    }

    public void UseInvite(InviteContent invite)
    {
        ArgumentNullException.ThrowIfNull(invite);
        _invites[invite.InviteId] = invite.ExpiresAtMs;
    }

    /// <summary>Everything recorded, for a room's snapshot (<see cref="From"/> restores it).</summary>
    public AdmissionSnapshot Snapshot() => new(
        [.. _bundles.Select(e => new AdmittedItem(e.Key, e.Value)).OrderBy(e => e.Key.ToBase64(), StringComparer.Ordinal)],
        [.. _invites.Select(e => new AdmittedItem(e.Key, e.Value)).OrderBy(e => e.Key.ToBase64(), StringComparer.Ordinal)]);

    public static AdmissionRecord From(AdmissionSnapshot? snapshot)
    {
        var record = new AdmissionRecord();
        foreach (var item in snapshot?.Bundles ?? [])
        {
            record._bundles[item.Key] = item.ExpiresAtMs;
        }

        foreach (var item in snapshot?.Invites ?? [])
        {
            record._invites[item.Key] = item.ExpiresAtMs;
        }

        return record;
    }

    /// <summary>Forgets what has expired at <paramref name="atMs"/>: such a bundle or invite is refused for its expiry anyway.</summary>
    public void Prune(ulong atMs)
    {
        Prune(_bundles, atMs);
        Prune(_invites, atMs);
    }

    private static void Prune(Dictionary<ByteString, ulong> entries, ulong atMs)
    {
        foreach (var key in entries.Where(e => Bundles.IsExpiredAt(e.Value, atMs)).Select(e => e.Key).ToList())
        {
            entries.Remove(key);
        }
    }
}

/// <summary>One recorded admission: a bundle's content hash or an invite's id, and when it expires.</summary>
public readonly record struct AdmittedItem(ByteString Key, ulong ExpiresAtMs);

/// <summary>An <see cref="AdmissionRecord"/> as stored: admitted bundle hashes and spent invite ids, with their expiry.</summary>
public sealed record AdmissionSnapshot(IReadOnlyList<AdmittedItem> Bundles, IReadOnlyList<AdmittedItem> Invites);
