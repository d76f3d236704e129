namespace SecureChat.Core.Crypto;

/// <summary>
/// Every signature and every KDF use carries one of these versioned, per-purpose labels,
/// so that no value made for one purpose can be taken for another. PROTOCOL.md lists them.
/// </summary>
public static class Labels
{
    public const string BundleSignature = "SC1/bundle-sig";
    public const string CommitSignature = "SC1/commit-sig";
    public const string MessageSignature = "SC1/msg-sig";
    public const string MessageAssociatedData = "SC1/msg-ad";
    public const string WrapKey = "SC1/wrap";
    public const string TranscriptHash = "SC1/transcript";
    public const string RosterHash = "SC1/roster";
    public const string EpochSecret = "SC1/epoch";
    public const string SenderChain = "SC1/sender-chain";
    public const string ChainStep = "SC1/chain-step";
    public const string MessageKey = "SC1/msg-key";
    public const string EpochCode = "SC1/epoch-code";
    public const string Fingerprint = "SC1/fingerprint";

    /// <summary>Seed of the fixed, public probe scalar used to detect low-order X25519 membership keys.</summary>
    public const string LowOrderProbe = "SC1/low-order-probe";

    /// <summary>Test-only deterministic random streams (never used in production).</summary>
    public const string TestDrbg = "SC1/test-drbg";
}
