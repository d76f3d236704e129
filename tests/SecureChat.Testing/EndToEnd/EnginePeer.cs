using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;
using Envelope = SecureChat.Core.Wire.Envelope;

namespace SecureChat.Testing.EndToEnd;

/// <summary>A room member driven directly through the engine, standing in for another client.</summary>
public sealed class EnginePeer : IDisposable
{
    public EnginePeer(string clientId, string roomId)
    {
        Identity = LocalIdentity.Generate(clientId, SystemRandomSource.Instance);
        Session = new GroupSession(Identity, roomId, new TrustStore());
    }

    public LocalIdentity Identity { get; }

    public GroupSession Session { get; }

    public string ClientId => Identity.ClientId;

    /// <summary>Creates the room at <paramref name="epoch"/> and applies the commit as the relay's echo would.</summary>
    public Envelope CreateRoom(ulong epoch = 1) => CommitAndApply(new CommitRequest
    {
        NewEpoch = epoch,
        Adds = { new Add { Bundle = Session.JoinBundle } },
        Suite = CipherSuites.Preferred,
    });

    public Envelope Admit(SignedBundle joiner) => CommitAndApply(new CommitRequest { NewEpoch = Session.Epoch + 1, Adds = { new Add { Bundle = joiner } } });

    /// <summary>The remove a relay asks for when this peer leaves: LEFT, with its signed leave.</summary>
    public Remove Leaving() => new() { ClientId = Session.LocalClientId, Reason = RemoveReason.Left, Leave = Session.CreateLeave() };

    /// <summary>Commits the removal of <paramref name="clientId"/> (reason REMOVED) and applies it; the relayed commit.</summary>
    public Envelope Remove(string clientId)
    {
        var created = Assert.IsType<CommitCreated>(Session.CreateRemoveCommit([clientId])); // our user's decision, not a relay's request
        Assert.IsType<CommitAccepted>(Session.ProcessCommit(created.Commit));
        return Session.CommitEnvelope(created.Commit);
    }

    public Envelope Rekey()
    {
        var created = Assert.IsType<CommitCreated>(Session.CreateRekeyCommit());
        Assert.IsType<CommitAccepted>(Session.ProcessCommit(created.Commit));
        return Session.CommitEnvelope(created.Commit);
    }

    public CommitAccepted Apply(Envelope commit) => Assert.IsType<CommitAccepted>(Session.ProcessCommit(commit.Commit));

    public Envelope Encrypt(string text) => Assert.IsType<MessageSealed>(Session.Encrypt(text)).Envelope;

    public string Decrypt(Envelope envelope) => Assert.IsType<MessageDelivered>(Session.Decrypt(envelope)).Text;

    public void Dispose()
    {
        Session.Dispose();
        Identity.Dispose();
    }

    private Envelope CommitAndApply(CommitRequest request)
    {
        var created = Assert.IsType<CommitCreated>(Session.CreateCommit(request));
        Assert.IsType<CommitAccepted>(Session.ProcessCommit(created.Commit));
        return Session.CommitEnvelope(created.Commit);
    }
}
