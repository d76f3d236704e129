using Akka.Actor;
using SecureChat.Client;
using SecureChat.Client.Session;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Testing.Honest;
using SecureChat.Testing.Hosting;
using SecureChat.Testing.RawClients;
using SecureChat.Testing.RealClients;
using Xunit.Abstractions;
using Envelope = SecureChat.Core.Wire.Envelope;

namespace SecureChat.Server.Tests.Integration;

/// <summary>
/// One client id on two nodes of a cluster (issue #14 item 5, PROTOCOL.md §4.1.1): two real server hosts in this process,
/// joined over loopback remoting, their rooms in one PostgreSQL database. The sign-in table of an id is one sharded entity,
/// wherever it lives, so the connection that signed in last holds the id, whichever node it is on.
/// </summary>
public sealed class SignInAcrossNodesTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(30);

    [PostgresFact]
    public async Task A_second_connection_on_another_node_takes_over_the_first_stops_and_nothing_it_sent_is_lost_without_a_word()
    {
        await using var database = await PostgresTestDatabase.CreateAsync();
        await using var cluster = await TestCluster.StartAsync(2, database.ConnectionString, output);
        using var clients = ActorSystem.Create("sign-in-clients", ClientHocon.Quiet);
        var (node1, node2) = (cluster.Nodes[0], cluster.Nodes[1]);
        using var alice = LocalIdentity.Generate("alice", SystemRandomSource.Instance);
        await using var bob = TestChatClient.Start(node1.ChatClientOptions("bob"), clients);
        await using var first = TestChatClient.Start(Alice(alice, cluster, node1, "alice-first"), clients);
        await bob.WaitForAsync<Connected>(timeout: Step);
        await first.WaitForAsync<Connected>(timeout: Step);
        bob.Client.Join("lobby");
        await bob.WaitForAsync<KeyEstablished>(timeout: Step);
        first.Client.Join("lobby");
        await first.WaitForAsync<KeyEstablished>(k => k.MemberCount == 2, Step);
        await bob.WaitForAsync<KeyEstablished>(k => k.MemberCount == 2, Step);

        // In flight while the same id signs in on node 2: each one is delivered, or reported to the first as not delivered.
        const int Sent = 20;
        for (var i = 0; i < Sent; i++)
        {
            first.Client.Send("lobby", $"first #{i}");
        }

        await first.WaitForAsync<MessageSent>(m => m.Text == "first #0", Step);
        await using var second = TestChatClient.Start(Alice(alice, cluster, node2, "alice-second"), clients);

        var stopped = await first.WaitForAsync<ConnectionStopped>(timeout: Step);
        Assert.Equal(StopCause.SignedInElsewhere, stopped.Cause);
        await second.WaitForAsync<Connected>(timeout: Step);
        second.Client.Join("lobby");
        await second.WaitForAsync<KeyEstablished>(k => k.MemberCount == 2, Step);
        second.Client.Send("lobby", "from node 2");
        await bob.WaitForAsync<MessageReceived>(m => m.Text == "from node 2", Step);
        bob.Client.Send("lobby", "to whoever alice is now");
        await second.WaitForAsync<MessageReceived>(m => m.Text == "to whoever alice is now", Step);

        await Eventually.TrueAsync(() => Accounted(first, bob, Sent) == Sent, "every message of the first client accounted for");
        Assert.DoesNotContain(first.Events, e => e is Reconnected);
        Assert.DoesNotContain(first.Events.SkipWhile(e => e is not ConnectionStopped), e => e is Disconnected or Connected); // no retry of its own
        Assert.All(first.Events.OfType<MessageNotDelivered>(), m => Assert.Equal(NotDeliveredReason.SignedInElsewhere, m.Reason));
        Assert.DoesNotContain(second.Events, e => e is Disconnected or ConnectionStopped); // the newer one was never displaced
        output.WriteLine($"first: {first.Events.OfType<MessageNotDelivered>().Count()} of {Sent} reported not delivered, " +
                         $"{bob.Received.Count(m => m.SenderId == "alice" && m.Text.StartsWith("first #", StringComparison.Ordinal))} received by bob");
    }

    [PostgresFact]
    public async Task Two_connections_of_one_id_signing_in_at_once_on_two_nodes_end_with_exactly_one()
    {
        await using var database = await PostgresTestDatabase.CreateAsync();
        await using var cluster = await TestCluster.StartAsync(2, database.ConnectionString, output);
        var wins = new int[2];
        for (var round = 0; round < 6; round++)
        {
            var id = $"erin-{round}";
            await using var on1 = await TestClient.ConnectAsync(id, cluster.Nodes[0].Port, cluster.Certificates.TlsClientOptions(id));
            await using var on2 = await TestClient.ConnectAsync(id, cluster.Nodes[1].Port, cluster.Certificates.TlsClientOptions(id));
            TestClient[] both = [on1, on2];

            await Task.WhenAll(on1.HelloAsync(), on2.HelloAsync());

            const ulong Probe = 99;
            var reads = both.Select(c => ErrorOrPongAsync(c, Probe)).ToArray();
            var displaced = await Task.WhenAny(reads).WaitAsync(Step);
            var loser = Array.IndexOf(reads, displaced);
            var error = await displaced;
            Assert.NotNull(error); // not closed before it was told why
            Assert.Equal(MessageType.Error, error.Type);
            Assert.Equal((ErrorCode.SignedInElsewhere, true), (error.Error.Code, error.Error.Fatal));
            Assert.Null(await ErrorOrPongAsync(both[loser], Probe)); // closed after it

            // Both sign-ins had reached the table when it told the loser: the winner stays, and is served.
            var winner = 1 - loser;
            await both[winner].SendAsync(Frames.Ping(id, Probe));
            var pong = await reads[winner].WaitAsync(Step);
            Assert.True(pong is { Type: MessageType.Pong, Sequence: Probe }, $"round {round}: the winner got {pong?.Type.ToString() ?? "closed"} {pong?.Error?.Code}");
            wins[winner]++;
        }

        output.WriteLine($"winners: node 1 {wins[0]} times, node 2 {wins[1]} times");
    }

    /// <summary>Alice's client for <paramref name="node"/>, with the cluster's CA (every node's certificates are the first node's).</summary>
    private static ClientOptions Alice(LocalIdentity identity, TestCluster cluster, TestServer node, string actorName) =>
        cluster.Nodes[0].ChatClientOptions("alice", node.Port) with { Identity = identity, OwnsIdentity = false, ActorName = actorName };

    /// <summary>The next ERROR, or PONG <paramref name="sequence"/>; null when the server closed first.</summary>
    private static async Task<Envelope?> ErrorOrPongAsync(TestClient client, ulong sequence)
    {
        while (await client.ReadAsync() is { } envelope)
        {
            if (envelope.Type == MessageType.Error || (envelope.Type == MessageType.Pong && envelope.Sequence == sequence))
            {
                return envelope;
            }
        }

        return null;
    }

    /// <summary>Messages of the first client that reached bob or were reported to it, or were never sent (queued when it stopped).</summary>
    private static int Accounted(TestChatClient first, TestChatClient bob, int count)
    {
        var sent = first.Events.OfType<MessageSent>().Select(m => m.Text).ToHashSet();
        var received = bob.Received.Where(m => m.SenderId == "alice").Select(m => m.Text).ToHashSet();
        var reported = first.Events.OfType<MessageNotDelivered>().Select(m => m.Preview).ToHashSet();
        var notSent = Enumerable.Range(0, count).Select(i => $"first #{i}").Count(t => !sent.Contains(t));
        return sent.Count(t => received.Contains(t) || reported.Contains(t)) + notSent;
    }
}
