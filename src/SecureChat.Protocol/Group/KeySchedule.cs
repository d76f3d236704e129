using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Encoding;
using SecureChat.Protocol.Identity;

namespace SecureChat.Protocol.Group;

/// <summary>
/// The byte-exact derivations of protocol v2 (PROTOCOL.md §8.7–§10). Pure functions; public so that
/// test vectors and other implementations can check each step.
/// </summary>
public static class KeySchedule
{
    public const int SecretSize = 32;
    public const int HashSize = Hashing.Sha256Size;
    public const int EpochCodeDigits = 25;
    public const int ConfirmationTagSize = Mac.TagSize;
    private const int EpochCodeGroups = 5;

    /// <summary>The transcript hash before a room's first commit: 32 zero bytes.</summary>
    public static byte[] InitialTranscriptHash => new byte[HashSize];

    /// <summary>H("SC2/roster", u32 count || per member: str16 id || IK[32] || u32 key_id || MK[32]).</summary>
    public static byte[] RosterHash(IReadOnlyList<RosterMember> roster)
    {
        ArgumentNullException.ThrowIfNull(roster);
        var writer = new CanonicalWriter().U32((uint)roster.Count);
        foreach (var member in roster)
        {
            writer.Str16(member.ClientId).Bytes(member.IdentityKey).U32(member.KeyId).Bytes(member.MembershipKey);
        }

        return Hashing.LabeledSha256(Labels.RosterHash, writer.ToArray());
    }

    /// <summary>CTH_e = H("SC2/confirmed-transcript", TH_{e-1}[32] || u32 len(content) || content).</summary>
    public static byte[] ConfirmedTranscriptHash(ReadOnlySpan<byte> previousTranscriptHash, ReadOnlySpan<byte> commitContent)
    {
        RequireLength(previousTranscriptHash, HashSize, nameof(previousTranscriptHash));
        var data = new CanonicalWriter().Bytes(previousTranscriptHash).Bytes32(commitContent).ToArray();
        return Hashing.LabeledSha256(Labels.ConfirmedTranscriptHash, data);
    }

    /// <summary>CK_e = HKDF("SC2/confirm", ikm = epoch_secret, salt = CTH_e, context = str16 room || u64 e || CTH_e[32], 32).</summary>
    public static byte[] ConfirmationKey(ReadOnlySpan<byte> epochSecret, string roomId, ulong epoch, ReadOnlySpan<byte> confirmedTranscriptHash)
    {
        RequireLength(epochSecret, SecretSize, nameof(epochSecret));
        RequireLength(confirmedTranscriptHash, HashSize, nameof(confirmedTranscriptHash));
        var context = new CanonicalWriter().Str16(roomId).U64(epoch).Bytes(confirmedTranscriptHash).ToArray();
        return Kdf.Derive(Labels.ConfirmationKey, epochSecret, confirmedTranscriptHash, context, SecretSize);
    }

    /// <summary>tag_e = HMAC-SHA256(CK_e, CTH_e): what every member recomputes from the secret its wrap opened.</summary>
    public static byte[] ConfirmationTag(ReadOnlySpan<byte> epochSecret, string roomId, ulong epoch, ReadOnlySpan<byte> confirmedTranscriptHash)
    {
        var key = ConfirmationKey(epochSecret, roomId, epoch, confirmedTranscriptHash);
        try
        {
            return Mac.HmacSha256(key, confirmedTranscriptHash);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>Constant-time: does <paramref name="tag"/> confirm <paramref name="epochSecret"/> for this commit?</summary>
    public static bool VerifyConfirmationTag(ReadOnlySpan<byte> epochSecret, string roomId, ulong epoch, ReadOnlySpan<byte> confirmedTranscriptHash,
        ReadOnlySpan<byte> tag)
    {
        var key = ConfirmationKey(epochSecret, roomId, epoch, confirmedTranscriptHash);
        try
        {
            return Mac.VerifyHmacSha256(key, confirmedTranscriptHash, tag);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>TH_e = H("SC2/transcript", CTH_e[32] || tag_e[32]): the epoch's transcript hash.</summary>
    public static byte[] TranscriptHash(ReadOnlySpan<byte> confirmedTranscriptHash, ReadOnlySpan<byte> confirmationTag)
    {
        RequireLength(confirmedTranscriptHash, HashSize, nameof(confirmedTranscriptHash));
        RequireLength(confirmationTag, ConfirmationTagSize, nameof(confirmationTag));
        var data = new CanonicalWriter().Bytes(confirmedTranscriptHash).Bytes(confirmationTag).ToArray();
        return Hashing.LabeledSha256(Labels.TranscriptHash, data);
    }

    /// <summary>TH_e of a commit as transmitted (content and tag are public: the relay computes it too).</summary>
    public static byte[] TranscriptHashOf(SignedCommit commit, ReadOnlySpan<byte> previousTranscriptHash)
    {
        ArgumentNullException.ThrowIfNull(commit);
        return TranscriptHash(ConfirmedTranscriptHash(previousTranscriptHash, commit.Content.Span), commit.ConfirmationTag.Span);
    }

    /// <summary>The history tag of an epoch: the first 8 bytes of TH_e, carried in every APPLICATION envelope.</summary>
    public static byte[] HistoryTag(ReadOnlySpan<byte> transcriptHash) => transcriptHash[..WireLimits.HistoryTagBytes].ToArray();

    /// <summary>EC_e = str16 room || u64 epoch || TH_e[32].</summary>
    public static byte[] EpochContext(string roomId, ulong epoch, ReadOnlySpan<byte> transcriptHash)
    {
        RequireLength(transcriptHash, HashSize, nameof(transcriptHash));
        return new CanonicalWriter().Str16(roomId).U64(epoch).Bytes(transcriptHash).ToArray();
    }

    /// <summary>epoch_key = HKDF(label "SC2/epoch", ikm = epoch_secret, salt = TH_e, context = EC_e, 32).</summary>
    public static byte[] EpochKey(ReadOnlySpan<byte> epochSecret, ReadOnlySpan<byte> transcriptHash, ReadOnlySpan<byte> epochContext)
    {
        RequireLength(epochSecret, SecretSize, nameof(epochSecret));
        return Kdf.Derive(Labels.EpochSecret, epochSecret, transcriptHash, epochContext, SecretSize);
    }

    /// <summary>CK_s[0] = HKDF("SC2/sender-chain", ikm = epoch_key, salt = empty, context = EC_e || str16 sender, 32).</summary>
    public static byte[] SenderChainKey(ReadOnlySpan<byte> epochKey, ReadOnlySpan<byte> epochContext, string senderId)
    {
        var context = new CanonicalWriter().Bytes(epochContext).Str16(senderId).ToArray();
        return Kdf.Derive(Labels.SenderChain, epochKey, [], context, SecretSize);
    }

    /// <summary>MK_s[g] = HKDF("SC2/msg-key", ikm = CK_s[g], salt = empty, context = u64 g, 32).</summary>
    public static byte[] MessageKey(ReadOnlySpan<byte> chainKey, ulong generation) =>
        Kdf.Derive(Labels.MessageKey, chainKey, [], new CanonicalWriter().U64(generation).ToArray(), SecretSize);

    /// <summary>CK_s[g+1] = HKDF("SC2/chain-step", ikm = CK_s[g], salt = empty, context = u64 g, 32).</summary>
    public static byte[] NextChainKey(ReadOnlySpan<byte> chainKey, ulong generation) =>
        Kdf.Derive(Labels.ChainStep, chainKey, [], new CanonicalWriter().U64(generation).ToArray(), SecretSize);

    /// <summary>
    /// 25 digits in five groups of five (about 83 bits): HKDF("SC2/epoch-code", ikm = epoch_key, salt = empty,
    /// context = EC_e, 25), each 5-byte big-endian group modulo 100000.
    /// </summary>
    public static string EpochCode(ReadOnlySpan<byte> epochKey, ReadOnlySpan<byte> epochContext)
    {
        var bytes = Kdf.Derive(Labels.EpochCode, epochKey, [], epochContext, EpochCodeGroups * 5);
        var builder = new StringBuilder(EpochCodeDigits + EpochCodeGroups - 1);
        for (var group = 0; group < EpochCodeGroups; group++)
        {
            ulong value = 0;
            foreach (var b in bytes.AsSpan(group * 5, 5))
            {
                value = (value << 8) | b;
            }

            if (group > 0)
            {
                builder.Append(' ');
            }

            builder.Append((value % 100000).ToString("D5", CultureInfo.InvariantCulture));
        }

        return builder.ToString();
    }

    /// <summary>
    /// WC = str16 room || u64 epoch || prev_TH[32] || roster_hash[32] || u32 suite || str16 committer || IK_c[32]
    /// || str16 recipient || IK_r[32] || u32 recipient_key_id || MK_r[32] || ephemeral[32].
    /// </summary>
    public static byte[] WrapContext(string roomId, ulong epoch, ReadOnlySpan<byte> previousTranscriptHash, ReadOnlySpan<byte> rosterHash,
        CipherSuite suite, string committerId, ReadOnlySpan<byte> committerIdentityKey, RosterMember recipient, ReadOnlySpan<byte> ephemeralPublicKey)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        return new CanonicalWriter()
            .Str16(roomId).U64(epoch).Bytes(previousTranscriptHash).Bytes(rosterHash).U32((uint)suite)
            .Str16(committerId).Bytes(committerIdentityKey)
            .Str16(recipient.ClientId).Bytes(recipient.IdentityKey).U32(recipient.KeyId).Bytes(recipient.MembershipKey)
            .Bytes(ephemeralPublicKey)
            .ToArray();
    }

    /// <summary>
    /// Seals the epoch secret to <paramref name="recipient"/>: shared = X25519(ephemeral, MK_r);
    /// key(32) || nonce(12) = HKDF("SC2/wrap", ikm = shared, salt = roster_hash, context = WC, 44);
    /// sealed_secret = AEAD(suite, key, nonce, ad = WC, epoch_secret).
    /// </summary>
    public static Wrap SealWrap(X25519KeyPair ephemeral, ReadOnlySpan<byte> epochSecret, string roomId, ulong epoch,
        ReadOnlySpan<byte> previousTranscriptHash, ReadOnlySpan<byte> rosterHash, CipherSuite suite, string committerId,
        ReadOnlySpan<byte> committerIdentityKey, RosterMember recipient)
    {
        ArgumentNullException.ThrowIfNull(ephemeral);
        ArgumentNullException.ThrowIfNull(recipient);
        var context = WrapContext(roomId, epoch, previousTranscriptHash, rosterHash, suite, committerId, committerIdentityKey, recipient, ephemeral.PublicKey);
        var shared = ephemeral.Agree(recipient.MembershipKey);
        var okm = Kdf.Derive(Labels.WrapKey, shared, rosterHash, context, SecretSize + CipherSuites.NonceSize);
        try
        {
            var sealedSecret = Aead.Seal(suite, okm.AsSpan(0, SecretSize), okm.AsSpan(SecretSize), context, epochSecret);
            return new Wrap
            {
                RecipientId = recipient.ClientId,
                RecipientKeyId = recipient.KeyId,
                EphemeralKey = ByteString.CopyFrom(ephemeral.PublicKey),
                SealedSecret = ByteString.CopyFrom(sealedSecret),
            };
        }
        finally
        {
            CryptographicOperations.ZeroMemory(shared);
            CryptographicOperations.ZeroMemory(okm);
        }
    }

    /// <summary>Opens a wrap with the recipient's membership private key; null when it does not authenticate.</summary>
    public static byte[]? OpenWrap(X25519KeyPair membershipKey, Wrap wrap, string roomId, ulong epoch,
        ReadOnlySpan<byte> previousTranscriptHash, ReadOnlySpan<byte> rosterHash, CipherSuite suite, string committerId,
        ReadOnlySpan<byte> committerIdentityKey, RosterMember recipient)
    {
        ArgumentNullException.ThrowIfNull(membershipKey);
        ArgumentNullException.ThrowIfNull(wrap);
        ArgumentNullException.ThrowIfNull(recipient);
        if (wrap.EphemeralKey.Length != X25519KeyPair.PublicKeySize || wrap.SealedSecret.Length != SecretSize + CipherSuites.TagSize)
        {
            return null;
        }

        var context = WrapContext(roomId, epoch, previousTranscriptHash, rosterHash, suite, committerId, committerIdentityKey, recipient, wrap.EphemeralKey.Span);
        byte[] shared;
        try
        {
            shared = membershipKey.Agree(wrap.EphemeralKey.Span);
        }
        catch (KeyAgreementException)
        {
            return null;
        }

        var okm = Kdf.Derive(Labels.WrapKey, shared, rosterHash, context, SecretSize + CipherSuites.NonceSize);
        try
        {
            return Aead.TryOpen(suite, okm.AsSpan(0, SecretSize), okm.AsSpan(SecretSize), context, wrap.SealedSecret.Span, out var secret)
                ? secret
                : null;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(shared);
            CryptographicOperations.ZeroMemory(okm);
        }
    }

    /// <summary>
    /// The bytes the sender signs inside a message: u32 len(AD) || AD || u64 sent_at_ms || u32 len(body) || body
    /// || u64 previous.epoch || u64 previous.count || u8 summary (previous absent = 0, 0).
    /// </summary>
    public static byte[] MessageSignedBytes(ReadOnlySpan<byte> associatedData, ulong sentAtMs, ReadOnlySpan<byte> body,
        EpochCount? previous, bool summary) =>
        new CanonicalWriter().Bytes32(associatedData).U64(sentAtMs).Bytes32(body)
            .U64(previous?.Epoch ?? 0).U64(previous?.Count ?? 0).U8(summary ? (byte)1 : (byte)0).ToArray();

    private static void RequireLength(ReadOnlySpan<byte> value, int length, string name)
    {
        if (value.Length != length)
        {
            throw new ArgumentException($"must be {length} bytes", name);
        }
    }
}
