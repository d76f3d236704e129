using System.Security.Cryptography;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Identity;

namespace SecureChat.Protocol.Group;

/// <summary>Everything one epoch needs after its commit was applied. The epoch secret itself is not kept.</summary>
internal sealed class EpochState : IDisposable
{
    private EpochState(ulong epoch, CipherSuite suite, RoomPolicy policy, byte[] transcriptHash, IReadOnlyList<RosterMember> roster, string epochCode,
        long startedAtMs)
    {
        Epoch = epoch;
        Suite = suite;
        Policy = policy;
        TranscriptHash = transcriptHash;
        HistoryTag = KeySchedule.HistoryTag(transcriptHash);
        Roster = roster;
        Members = roster.ToDictionary(m => m.ClientId, StringComparer.Ordinal);
        EpochCode = epochCode;
        StartedAtMs = startedAtMs;
    }

    public ulong Epoch { get; }

    public CipherSuite Suite { get; }

    public RoomPolicy Policy { get; }

    /// <summary>TH_e: commits to the whole history, confirmation tags included.</summary>
    public byte[] TranscriptHash { get; }

    /// <summary>The first bytes of TH_e, carried by every APPLICATION envelope of the epoch.</summary>
    public byte[] HistoryTag { get; }

    public IReadOnlyList<RosterMember> Roster { get; }

    public IReadOnlyDictionary<string, RosterMember> Members { get; }

    public string EpochCode { get; }

    public long StartedAtMs { get; }

    public long? RetiredAtMs { get; set; }

    /// <summary>Generations this member used in the epoch (texts and summaries): the count it tells the others.</summary>
    public int MessagesSent { get; set; }

    /// <summary>Of <see cref="MessagesSent"/>, the summaries (they carry no text, so they do not make the epoch's keys worth a rekey).</summary>
    public int SummariesSent { get; set; }

    /// <summary>This member sent in the epoch before and no commit of its own carried that count: a summary is due until it sends here.</summary>
    public bool SummaryDue { get; set; }

    /// <summary>What this member sent in the epoch before (when it was a member of it): carried by its first message here.</summary>
    public EpochCount? PreviousSent { get; set; }

    public SendChain? Send { get; private set; }

    public Dictionary<string, ReceiveChain> Receive { get; } = new(StringComparer.Ordinal);

    /// <summary>Per other member: which of its generations are known to be missing (drop detection).</summary>
    public Dictionary<string, DeliveryGaps> Gaps { get; } = new(StringComparer.Ordinal);

    public int GapCount => Gaps.Values.Sum(g => g.Count);

    public int SkippedCount => Receive.Values.Sum(c => c.SkippedCount);

    /// <summary>Derives every member's chain from the epoch secret, then erases the secret and the epoch key.</summary>
    public static EpochState Derive(string roomId, ulong epoch, CipherSuite suite, RoomPolicy policy, byte[] epochSecret, byte[] transcriptHash,
        IReadOnlyList<RosterMember> roster, string localClientId, long nowMs)
    {
        var context = KeySchedule.EpochContext(roomId, epoch, transcriptHash);
        var epochKey = KeySchedule.EpochKey(epochSecret, transcriptHash, context);
        try
        {
            var state = new EpochState(epoch, suite, policy, transcriptHash, roster, KeySchedule.EpochCode(epochKey, context), nowMs);
            foreach (var member in roster)
            {
                var chainKey = KeySchedule.SenderChainKey(epochKey, context, member.ClientId);
                if (string.Equals(member.ClientId, localClientId, StringComparison.Ordinal))
                {
                    state.Send = new SendChain(chainKey);
                }
                else
                {
                    state.Receive[member.ClientId] = new ReceiveChain(chainKey);
                    state.Gaps[member.ClientId] = new DeliveryGaps();
                }
            }

            return state;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(epochKey);
            CryptographicOperations.ZeroMemory(epochSecret);
        }
    }

    /// <summary>
    /// An epoch back from the owner's store (<see cref="GroupSession.ExportState"/>): its fields as exported; the caller adds
    /// the chains and gaps.
    /// </summary>
    public static EpochState Restore(ulong epoch, CipherSuite suite, RoomPolicy policy, byte[] transcriptHash, IReadOnlyList<RosterMember> roster,
        string epochCode, long startedAtMs, SendChain? send) =>
        new(epoch, suite, policy, transcriptHash, roster, epochCode, startedAtMs) { Send = send };

    /// <summary>Stops sending in this epoch (it was replaced); receive chains stay for in-flight messages.</summary>
    public void StopSending()
    {
        Send?.Dispose();
        Send = null;
    }

    public void Dispose()
    {
        StopSending();
        foreach (var chain in Receive.Values)
        {
            chain.Dispose();
        }

        Receive.Clear();
    }
}
