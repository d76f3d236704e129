using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;

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

    /// <summary>Changes the content and signs it again with <paramref name="signer"/> (a malicious member or outsider).</summary>
    public static SignedCommit Resign(SignedCommit commit, IdentityKeyPair signer, Action<CommitContent> change)
    {
        var content = Content(commit);
        change(content);
        var bytes = content.ToByteArray();
        return new SignedCommit
        {
            Content = ByteString.CopyFrom(bytes),
            Signature = ByteString.CopyFrom(signer.Sign(Labels.CommitSignature, bytes)),
        };
    }
}
