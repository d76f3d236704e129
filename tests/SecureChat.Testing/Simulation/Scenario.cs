using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;

namespace SecureChat.Testing.Simulation;

/// <summary>Small helpers for adversarial tests: ready groups, captured envelopes, re-signed commits.</summary>
public static class Scenario
{
    /// <summary>A settled group whose members joined in order (the first created the room).</summary>
    public static GroupSimulation Group(ulong seed, params string[] clientIds) => Group(seed, null, clientIds);

    public static GroupSimulation Group(ulong seed, GroupOptions? options, params string[] clientIds)
    {
        var sim = new GroupSimulation(seed, options: options);
        sim.JoinAll(clientIds);
        return sim;
    }

    /// <summary>Encrypts without relaying: the test decides who sees the envelope.</summary>
    public static Envelope Seal(GroupSimulation sim, string sender, string text)
    {
        var outcome = sim[sender].Session!.Encrypt(text);
        return Assert.IsType<MessageSealed>(outcome).Envelope;
    }

    /// <summary>Creates a rekey commit by <paramref name="committer"/> without relaying it.</summary>
    public static SignedCommit RekeyCommit(GroupSimulation sim, string committer) =>
        Assert.IsType<CommitCreated>(sim[committer].Session!.CreateRekeyCommit()).Commit;

    public static CommitContent Content(SignedCommit commit) => CommitContent.Parser.ParseFrom(commit.Content);

    /// <summary>
    /// Changes the content and signs it again with <paramref name="signer"/> (a malicious member or outsider). The
    /// confirmation tag is kept as it was: the signer does not know the epoch secret (see <see cref="Retag"/> for one that does).
    /// </summary>
    public static SignedCommit Resign(SignedCommit commit, IdentityKeyPair signer, Action<CommitContent> change)
    {
        var content = Content(commit);
        change(content);
        var bytes = content.ToByteArray();
        return new SignedCommit
        {
            Content = ByteString.CopyFrom(bytes),
            Signature = ByteString.CopyFrom(signer.Sign(Labels.CommitSignature, bytes)),
            ConfirmationTag = commit.ConfirmationTag,
        };
    }

    /// <summary>
    /// A MEMBER commit built by hand, as a malicious member would build it from its own view of the room (roster, epoch,
    /// transcript, policy): each roster entry's wrap seals <paramref name="secretFor"/> of that entry, the tag is made with
    /// <paramref name="tagSecret"/>, <paramref name="change"/> edits the content before the wraps are sealed, and the
    /// committer signs. Honest committers seal one secret to everyone; this one need not.
    /// </summary>
    public static SignedCommit HandMadeCommit(GroupSimulation sim, string committer, Func<RosterMember, byte[]> secretFor, byte[] tagSecret,
        Action<CommitContent>? change = null, IReadOnlyList<SignedBundle>? roster = null)
    {
        var client = sim[committer];
        var session = client.Session!;
        var content = new CommitContent
        {
            RoomId = session.RoomId,
            Epoch = session.Epoch + 1,
            PreviousTranscriptHash = ByteString.CopyFrom(session.TranscriptHash),
            CommitterId = committer,
            Kind = CommitKind.Member,
            Suite = session.Suite,
            Policy = session.Policy,
            CreatedAtMs = (ulong)sim.Clock.UtcNowMs,
            CommitterSent = new EpochCount { Epoch = session.Epoch },
        };
        content.Roster.AddRange(roster ?? [.. session.Roster.Select(m => m.Bundle)]);
        change?.Invoke(content);
        return SignAndTag(content, client.Identity, secretFor, tagSecret, sim.Random);
    }

    /// <summary>
    /// An EXTERNAL commit built by hand from a member's view of the room (<paramref name="basis"/>: roster, epoch, transcript,
    /// suite, policy): <paramref name="committer"/> adds <paramref name="bundle"/> (with <paramref name="invite"/>) and wraps one
    /// fresh secret to every entry; <paramref name="change"/> edits the content first (the roster is sorted again after it).
    /// What a malicious joiner, or a relay with its own keys, can make.
    /// </summary>
    public static SignedCommit HandMadeExternalCommit(GroupSession basis, LocalIdentity committer, SignedBundle bundle, IRandomSource random,
        long nowMs, SignedInvite? invite = null, Action<CommitContent>? change = null)
    {
        ArgumentNullException.ThrowIfNull(basis);
        ArgumentNullException.ThrowIfNull(committer);
        var content = new CommitContent
        {
            RoomId = basis.RoomId,
            Epoch = basis.Epoch + 1,
            PreviousTranscriptHash = ByteString.CopyFrom(basis.TranscriptHash),
            CommitterId = committer.ClientId,
            Kind = CommitKind.External,
            Suite = basis.Suite,
            Policy = basis.Policy,
            CreatedAtMs = (ulong)nowMs,
        };
        content.Operations.Add(new Operation { Add = new Add { Bundle = bundle, Invite = invite } });
        content.Roster.AddRange([.. basis.Roster.Select(m => m.Bundle), bundle]);
        change?.Invoke(content);
        var sorted = content.Roster.OrderBy(b => BundleContent.Parser.ParseFrom(b.Content).ClientId, StringComparer.Ordinal).ToList();
        content.Roster.Clear();
        content.Roster.AddRange(sorted);
        var secret = random.NextBytes(KeySchedule.SecretSize);
        return SignAndTag(content, committer, _ => secret, secret, random);
    }

    /// <summary>Seals <paramref name="secretFor"/> of each roster entry to it, signs the content as <paramref name="signer"/> and tags it with <paramref name="tagSecret"/>.</summary>
    private static SignedCommit SignAndTag(CommitContent content, LocalIdentity signer, Func<RosterMember, byte[]> secretFor, byte[] tagSecret,
        IRandomSource random)
    {
        var members = content.Roster.Select(b => Bundles.Verify(b, content.RoomId, null, out var m) == BundleRejection.None ? m! : null).ToList();
        if (members.All(m => m is not null))
        {
            var rosterHash = KeySchedule.RosterHash(members!);
            content.Wraps.Clear();
            foreach (var member in members)
            {
                using var ephemeral = random.NextX25519();
                if (!Bundles.IsUsableMembershipKey(member!.MembershipKey))
                {
                    // Nothing can be sealed to a low-order point; a malicious committer fills the wrap with anything.
                    content.Wraps.Add(new Wrap
                    {
                        RecipientId = member.ClientId, RecipientKeyId = member.KeyId,
                        EphemeralKey = ByteString.CopyFrom(ephemeral.PublicKey), SealedSecret = ByteString.CopyFrom(new byte[48]),
                    });
                    continue;
                }

                content.Wraps.Add(KeySchedule.SealWrap(ephemeral, secretFor(member!), content.RoomId, content.Epoch, content.PreviousTranscriptHash.Span,
                    rosterHash, content.Suite, signer.ClientId, signer.PublicIdentityKey, member!));
            }
        }

        var bytes = content.ToByteArray();
        var signed = new SignedCommit
        {
            Content = ByteString.CopyFrom(bytes),
            Signature = ByteString.CopyFrom(signer.IdentityKey.Sign(Labels.CommitSignature, bytes)),
        };
        return Retag(signed, tagSecret);
    }

    /// <summary>The commit with the confirmation tag that <paramref name="epochSecret"/> gives (a committer who knows the secret).</summary>
    public static SignedCommit Retag(SignedCommit commit, ReadOnlySpan<byte> epochSecret)
    {
        var content = Content(commit);
        var confirmed = KeySchedule.ConfirmedTranscriptHash(content.PreviousTranscriptHash.Span, commit.Content.Span);
        var retagged = commit.Clone();
        retagged.ConfirmationTag = ByteString.CopyFrom(KeySchedule.ConfirmationTag(epochSecret, content.RoomId, content.Epoch, confirmed));
        return retagged;
    }
}
