using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Testing.Simulation;

namespace SecureChat.Adversarial.Tests.MaliciousRelay;

/// <summary>
/// A compromised server: the protocol harness's relay (which follows the server's flow) with an attacker
/// between it and every client. Every envelope the relay hands a client is recorded and passed through
/// <see cref="Attack"/>, which may drop it, duplicate it, hold it back, alter it or add others; the clients are
/// the real client room loop and engine, as the client actor runs them (<see cref="SimulatedClient"/>). Deterministic: the
/// relay's ingress is drained, then each client's inbox in id order, until nothing moves.
/// </summary>
public sealed class AttackingRelay : IDisposable
{
    private readonly List<(string Sender, string Text)> _genuine = [];

    public AttackingRelay(ulong seed, params string[] members)
    {
        Sim = Scenario.Group(seed, members);
    }

    public GroupSimulation Sim { get; }

    public InMemoryRelay Relay => Sim.Relay;

    public SimulatedClient this[string id] => Sim[id];

    public GroupSession Session(string id) => Sim[id].Session!;

    /// <summary>Everything the relay handed to a client, before the attacker touched it.</summary>
    public List<(string To, Envelope Envelope)> Recorded { get; } = [];

    /// <summary>The attacker: what reaches <c>to</c> in place of the envelope. Null relays honestly.</summary>
    public Func<string, Envelope, IEnumerable<Envelope>>? Attack { get; set; }

    /// <summary>Envelopes the attacker holds back for later (<see cref="Release"/>).</summary>
    public List<(string To, Envelope Envelope)> Withheld { get; } = [];

    public IReadOnlyList<(string Sender, string Text)> Genuine => _genuine;

    /// <summary>A member sends through the relay (a genuine message the test expects to arrive).</summary>
    public Envelope Send(string sender, string text)
    {
        var sealedMessage = Assert.IsType<MessageSealed>(Sim[sender].Send(Relay, text));
        _genuine.Add((sender, text));
        Run();
        return sealedMessage.Envelope;
    }

    /// <summary>A member commits a rekey through the relay.</summary>
    public void Rekey(string member)
    {
        Assert.IsType<CommitCreated>(Sim[member].Rekey(Relay));
        Run();
    }

    /// <summary>The attacker hands <paramref name="envelope"/> straight to a client, as if the server sent it.</summary>
    public void Inject(string to, Envelope envelope)
    {
        Sim[to].Handle(envelope.Clone(), Relay);
        Run();
    }

    /// <summary>Hands the withheld envelopes over, in the order given (default: as withheld).</summary>
    public void Release(Func<IEnumerable<(string To, Envelope Envelope)>, IEnumerable<(string To, Envelope Envelope)>>? order = null)
    {
        var held = (order ?? (x => x))(Withheld.ToList()).ToList();
        Withheld.Clear();
        foreach (var (to, envelope) in held)
        {
            Sim[to].Handle(envelope, Relay);
        }

        Run();
    }

    public void Run()
    {
        for (var rounds = 0; ; rounds++)
        {
            Assert.True(rounds < 10_000, "the relay never settled");
            var moved = false;
            foreach (var id in Relay.ClientsWithIngress)
            {
                Relay.ProcessNext(id);
                moved = true;
            }

            foreach (var client in Sim.Clients.OrderBy(c => c.ClientId, StringComparer.Ordinal))
            {
                if (client.Inbox.Count == 0)
                {
                    continue;
                }

                var batch = client.Inbox.ToList();
                client.Inbox.Clear();
                moved = true;
                foreach (var envelope in batch)
                {
                    Recorded.Add((client.ClientId, envelope.Clone()));
                    foreach (var delivered in Attack?.Invoke(client.ClientId, envelope) ?? [envelope])
                    {
                        client.Handle(delivered, Relay);
                    }
                }
            }

            if (!moved)
            {
                return;
            }
        }
    }

    public DecryptOutcome LastDecrypt(string id) => Sim[id].DecryptOutcomes[^1];

    public CommitOutcome LastCommit(string id) => Sim[id].CommitOutcomes[^1];

    public static DecryptRejection Rejection(DecryptOutcome outcome) => Assert.IsType<MessageRejected>(outcome).Reason;

    public static CommitRejection Rejection(CommitOutcome outcome) => Assert.IsType<CommitRejected>(outcome).Reason;

    /// <summary>No client ever delivered a message that was not genuinely sent, nor one message twice.</summary>
    public void AssertNothingForgedOrReplayedWasDelivered()
    {
        foreach (var client in Sim.Clients)
        {
            foreach (var (_, message) in client.Delivered)
            {
                Assert.Contains((message.SenderId, message.Text), _genuine);
            }

            var twice = client.Delivered.GroupBy(d => (d.Incarnation, d.Message.SenderId, d.Message.Text)).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
            Assert.True(twice.Count == 0, $"{client.ClientId} delivered twice: {string.Join(", ", twice)}");
        }
    }

    /// <summary>Every genuine message reached each of <paramref name="members"/> other than its sender.</summary>
    public void AssertEveryGenuineMessageArrived(params string[] members)
    {
        foreach (var (sender, text) in _genuine)
        {
            foreach (var member in members.Where(m => m != sender))
            {
                Assert.True(Sim[member].Delivered.Any(d => d.Message.SenderId == sender && d.Message.Text == text), $"{member} never got '{text}' from {sender}");
            }
        }
    }

    /// <summary>The members agree on epoch, transcript and epoch code (one branch).</summary>
    public void AssertOneBranch(params string[] members)
    {
        var codes = members.Select(m => (Session(m).Epoch, Session(m).EpochCode, Convert.ToHexString(Session(m).TranscriptHash))).Distinct().ToList();
        Assert.Single(codes);
    }

    public void Dispose() => Sim.Dispose();
}
