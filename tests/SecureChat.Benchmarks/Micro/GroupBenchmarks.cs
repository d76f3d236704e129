using BenchmarkDotNet.Attributes;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;

namespace SecureChat.Benchmarks.Micro;

/// <summary>
/// A room of N members built with the real engine: member A created it and admitted everyone in one commit;
/// B is a second real session that receives. The other N-2 members exist only as bundles (their keys are
/// never needed to send or process). Limits are raised so N = 1000 fits the engine; the server's 64 KiB
/// frame limit would refuse a commit that large today.
/// </summary>
public abstract class GroupRoom
{
    protected static readonly GroupOptions Options = GroupOptions.Default with
    {
        MaxMembers = 1024,
        MaxFrameBytes = 8 * 1024 * 1024,
    };

    private readonly List<IDisposable> _owned = [];

    [Params(10, 100, 1000)]
    public int Members { get; set; }

    protected GroupSession Sender { get; private set; } = null!;

    protected GroupSession Receiver { get; private set; } = null!;

    protected static string Text { get; } = new('x', 200);

    protected void BuildRoom()
    {
        var random = SystemRandomSource.Instance;
        var alice = Own(LocalIdentity.Generate("member-0000", random));
        var bob = Own(LocalIdentity.Generate("member-0001", random));
        Sender = Own(new GroupSession(alice, "bench-room", new TrustStore(), Options));
        Receiver = Own(new GroupSession(bob, "bench-room", new TrustStore(), Options));

        var create = new CommitRequest { NewEpoch = 1, Suite = CipherSuites.Preferred };
        create.Adds.Add(new Add { Bundle = Sender.JoinBundle });
        Apply(Sender.CreateCommit(create), Sender);

        var admit = new CommitRequest { NewEpoch = 2 };
        admit.Adds.Add(new Add { Bundle = Receiver.JoinBundle });
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (var i = 2; i < Members; i++)
        {
            var other = Own(LocalIdentity.Generate($"member-{i:D4}", random));
            admit.Adds.Add(new Add { Bundle = Own(other.CreateMembershipKey("bench-room", 1, now, Options.BundleLifetimeMs, random)).Bundle });
        }

        var commit = Apply(Sender.CreateCommit(admit), Sender);
        if (Receiver.ProcessCommit(commit) is not CommitAccepted)
        {
            throw new InvalidOperationException("the receiver could not join the benchmark room");
        }
    }

    /// <summary>A commit takes effect for its author when the relay echoes it: here, at once.</summary>
    protected static SignedCommit Apply(CommitCreation creation, GroupSession author)
    {
        if (creation is not CommitCreated created)
        {
            throw new InvalidOperationException($"commit not created: {creation}");
        }

        if (author.ProcessCommit(created.Commit) is not CommitAccepted)
        {
            throw new InvalidOperationException("the author could not apply its own commit");
        }

        return created.Commit;
    }

    protected void DisposeRoom()
    {
        foreach (var item in Enumerable.Reverse(_owned))
        {
            item.Dispose();
        }

        _owned.Clear();
    }

    private T Own<T>(T item)
        where T : IDisposable
    {
        _owned.Add(item);
        return item;
    }
}

/// <summary>A sender's cost per message (sign + seal) and a commit's creation cost (a wrap per member).</summary>
[MemoryDiagnoser]
public class GroupSendBenchmarks : GroupRoom
{
    [GlobalSetup]
    public void Setup() => BuildRoom();

    [GlobalCleanup]
    public void Cleanup() => DisposeRoom();

    [Benchmark(Description = "encrypt + sign a 200-byte message")]
    public SendOutcome EncryptAndSign() => Sender.Encrypt(Text);

    [Benchmark(Description = "create a rekey commit (wraps for every member)")]
    public CommitCreation CreateCommit()
    {
        var creation = Sender.CreateRekeyCommit();
        Sender.AbandonPendingCommit(Sender.Epoch + 1);
        return creation;
    }
}

/// <summary>
/// A receiver's cost: each message and each commit can be processed once, so every iteration gets a fresh
/// batch made in its setup (not measured) and the benchmark processes the whole batch.
/// </summary>
[MemoryDiagnoser]
[InvocationCount(1, 1)]
public class GroupReceiveBenchmarks : GroupRoom
{
    private const int MessageBatch = 256;
    private const int CommitBatch = 4;
    private readonly List<Envelope> _messages = [];
    private readonly List<SignedCommit> _commits = [];

    [GlobalSetup]
    public void Setup() => BuildRoom();

    [GlobalCleanup]
    public void Cleanup() => DisposeRoom();

    [IterationSetup(Target = nameof(VerifyAndDecrypt))]
    public void MakeMessages()
    {
        _messages.Clear();
        for (var i = 0; i < MessageBatch; i++)
        {
            _messages.Add(((MessageSealed)Sender.Encrypt(Text)).Envelope);
        }
    }

    [IterationSetup(Target = nameof(ProcessCommit))]
    public void MakeCommits()
    {
        _commits.Clear();
        for (var i = 0; i < CommitBatch; i++)
        {
            _commits.Add(Apply(Sender.CreateRekeyCommit(), Sender));
        }
    }

    [Benchmark(Description = "verify + decrypt a 200-byte message", OperationsPerInvoke = MessageBatch)]
    public int VerifyAndDecrypt()
    {
        var delivered = 0;
        foreach (var envelope in _messages)
        {
            delivered += Receiver.Decrypt(envelope) is MessageDelivered ? 1 : throw new InvalidOperationException("not delivered");
        }

        return delivered;
    }

    [Benchmark(Description = "process a rekey commit", OperationsPerInvoke = CommitBatch)]
    public int ProcessCommit()
    {
        var accepted = 0;
        foreach (var commit in _commits)
        {
            accepted += Receiver.ProcessCommit(commit) is CommitAccepted ? 1 : throw new InvalidOperationException("commit not accepted");
        }

        return accepted;
    }
}
