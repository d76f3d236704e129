using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Infrastructure;

namespace SecureChat.Testing.Simulation;

/// <summary>
/// A relay plus clients with a seeded scheduler: each <see cref="Step"/> either lets the relay read one client
/// frame or lets one client handle one inbox frame. With <see cref="ReorderProbability"/> an application
/// message may overtake anything in the inbox (commits keep their own order: the relay controls ordering and
/// could only stall us by reordering commits); with <see cref="DuplicateProbability"/> it is delivered twice.
/// </summary>
public sealed class GroupSimulation : IDisposable
{
    private readonly Dictionary<string, SimulatedClient> _clients = new(StringComparer.Ordinal);

    public GroupSimulation(ulong seed, string roomId = "room-1", GroupOptions? options = null, CipherSuite suite = CipherSuite.Unspecified)
    {
        Seed = seed;
        Clock = new ManualClock();
        Random = new SeededRandomSource(seed);
        Scheduler = new Random(unchecked((int)seed) ^ 0x5EC0);
        Options = options ?? GroupOptions.Default;
        Relay = new InMemoryRelay(roomId, Clock, suite: suite);
    }

    public ulong Seed { get; }

    public ManualClock Clock { get; }

    public SeededRandomSource Random { get; }

    public Random Scheduler { get; }

    public GroupOptions Options { get; }

    public InMemoryRelay Relay { get; }

    public double ReorderProbability { get; set; }

    public double DuplicateProbability { get; set; }

    public IReadOnlyCollection<SimulatedClient> Clients => _clients.Values;

    public SimulatedClient this[string clientId] => _clients[clientId];

    public SimulatedClient Client(string clientId)
    {
        if (!_clients.TryGetValue(clientId, out var client))
        {
            client = new SimulatedClient(clientId, Clock, Random, Options);
            _clients[clientId] = client;
        }

        return client;
    }

    public SimulatedClient Join(string clientId)
    {
        var client = Client(clientId);
        client.Join(Relay);
        return client;
    }

    /// <summary>Joins the clients one after the other, letting each join finish.</summary>
    public void JoinAll(params string[] clientIds)
    {
        foreach (var id in clientIds)
        {
            Join(id);
            RunUntilQuiet();
        }
    }

    /// <summary>One scheduling step; false when nothing is left to do.</summary>
    public bool Step()
    {
        var ingress = Relay.ClientsWithIngress;
        var inboxes = _clients.Values.Where(c => c.Inbox.Count > 0).ToList();
        var choices = ingress.Count + inboxes.Count;
        if (choices == 0)
        {
            return false;
        }

        var pick = Scheduler.Next(choices);
        if (pick < ingress.Count)
        {
            Relay.ProcessNext(ingress[pick]);
            return true;
        }

        var client = inboxes[pick - ingress.Count];
        var index = 0;
        if (ReorderProbability > 0 && Scheduler.NextDouble() < ReorderProbability)
        {
            var applications = Enumerable.Range(0, client.Inbox.Count).Where(i => client.Inbox[i].Type == MessageType.Application).ToList();
            if (applications.Count > 0)
            {
                index = applications[Scheduler.Next(applications.Count)];
            }
        }

        var envelope = client.Inbox[index];
        if (envelope.Type == MessageType.Application && DuplicateProbability > 0 && Scheduler.NextDouble() < DuplicateProbability)
        {
            client.Inbox.Insert(Scheduler.Next(client.Inbox.Count + 1), envelope.Clone());
        }

        client.HandleAt(client.Inbox.IndexOf(envelope), Relay);
        return true;
    }

    public int RunUntilQuiet(int maxSteps = 1_000_000)
    {
        var steps = 0;
        while (steps < maxSteps && Step())
        {
            steps++;
        }

        if (steps >= maxSteps)
        {
            throw new InvalidOperationException($"simulation did not settle within {maxSteps} steps (seed {Seed})");
        }

        return steps;
    }

    public void Dispose()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }
    }
}
