namespace SecureChat.Core.Crypto;

/// <summary>
/// Every signature, hash, MAC and KDF use carries one of these versioned, per-purpose labels, so that no value made
/// for one purpose (or by protocol v1, whose labels were SC1/…) can be taken for another. PROTOCOL.md §7 lists them.
/// </summary>
public static class Labels
{
    public const string BundleSignature = "SC2/bundle-sig";
    public const string CommitSignature = "SC2/commit-sig";
    public const string InviteSignature = "SC2/invite-sig";
    public const string LeaveSignature = "SC2/leave-sig";
    public const string MessageSignature = "SC2/msg-sig";
    public const string MessageAssociatedData = "SC2/msg-ad";
    public const string WrapKey = "SC2/wrap";
    public const string ConfirmedTranscriptHash = "SC2/confirmed-transcript";
    public const string ConfirmationKey = "SC2/confirm";
    public const string TranscriptHash = "SC2/transcript";
    public const string RosterHash = "SC2/roster";
    public const string WrapLeaf = "SC2/wrap-leaf";
    public const string WrapNode = "SC2/wrap-node";
    public const string EpochSecret = "SC2/epoch";
    public const string SenderChain = "SC2/sender-chain";
    public const string ChainStep = "SC2/chain-step";
    public const string MessageKey = "SC2/msg-key";
    public const string EpochCode = "SC2/epoch-code";
    public const string Fingerprint = "SC2/fingerprint";

    /// <summary>Seed of the fixed, public probe scalar used to detect low-order X25519 membership keys.</summary>
    public const string LowOrderProbe = "SC2/low-order-probe";

    /// <summary>Test-only deterministic random streams (never used in production).</summary>
    public const string TestDrbg = "SC2/test-drbg";
}
