using SecureChat.Client.Session;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Testing.EndToEnd;
using SecureChat.Testing.Honest;
using SecureChat.Testing.RealClients;

namespace SecureChat.Client.Tests.EndToEnd;

/// <summary>
/// Two clients with the same id (issue #14 item 5): the second takes over, the first is told it was signed in elsewhere and
/// stops; it makes no attempt of its own until asked, and whatever it sent was delivered or reported to it as not delivered.
/// </summary>
public sealed class SignedInElsewhereTests() : EndToEndTest("e2e-signed-in-elsewhere")
{
    [Fact]
    public async Task A_second_client_with_the_same_id_takes_over_the_first_stops_and_nothing_it_sent_is_lost_without_a_word()
    {
        // Two terminals of one person: the same identity key (the same home folder), two connections.
        using var alice = LocalIdentity.Generate("alice", SystemRandomSource.Instance);
        await using var bob = TestChatClient.Start(Server, System, "bob");
        await using var first = TestChatClient.Start(Alice(alice, "alice-first"), System);
        await bob.WaitForAsync<Connected>();
        await first.WaitForAsync<Connected>();
        bob.Client.Join("lobby");
        await bob.WaitForAsync<KeyEstablished>();
        first.Client.Join("lobby");
        await first.WaitForAsync<KeyEstablished>(k => k.MemberCount == 2);
        await bob.WaitForAsync<KeyEstablished>(k => k.MemberCount == 2);

        // Messages in flight while the second client signs in: each one is delivered, or reported to the first as not delivered.
        const int Sent = 20;
        for (var i = 0; i < Sent; i++)
        {
            first.Client.Send("lobby", $"first #{i}");
        }

        await first.WaitForAsync<MessageSent>(m => m.Text == "first #0");
        await using var second = TestChatClient.Start(Alice(alice, "alice-second"), System);

        var stopped = await first.WaitForAsync<ConnectionStopped>();
        Assert.Equal(StopCause.SignedInElsewhere, stopped.Cause);
        await second.WaitForAsync<Connected>();
        second.Client.Join("lobby");
        await second.WaitForAsync<KeyEstablished>(k => k.MemberCount == 2);
        second.Client.Send("lobby", "from the second");
        Assert.Equal("from the second", (await bob.WaitForAsync<MessageReceived>(m => m.Text == "from the second")).Text);
        bob.Client.Send("lobby", "to whoever alice is now");
        await second.WaitForAsync<MessageReceived>(m => m.Text == "to whoever alice is now");

        // Every message of the first: received by bob, reported not delivered to the first, or (typed after the stop) still queued.
        await Eventually.TrueAsync(() => Accounted(first, bob) == Sent, "every message of the first client accounted for");
        Assert.DoesNotContain(first.Events, e => e is Reconnected);
        Assert.DoesNotContain(first.Events.SkipWhile(e => e is not ConnectionStopped), e => e is Disconnected or Connected); // no retry of its own
        Assert.All(first.Events.OfType<MessageNotDelivered>(), m => Assert.Equal(NotDeliveredReason.SignedInElsewhere, m.Reason));
    }

    private ClientOptions Alice(LocalIdentity identity, string actorName) => Server.ChatClientOptions("alice") with
    {
        Identity = identity,
        OwnsIdentity = false,
        ActorName = actorName,
    };

    /// <summary>Messages of the first client that reached bob or were reported to it, or were never sent (queued when it stopped).</summary>
    private static int Accounted(TestChatClient first, TestChatClient bob)
    {
        var sent = first.Events.OfType<MessageSent>().Select(m => m.Text).ToHashSet();
        var received = bob.Received.Where(m => m.SenderId == "alice").Select(m => m.Text).ToHashSet();
        var reported = first.Events.OfType<MessageNotDelivered>().Select(m => m.Preview).ToHashSet();
        var notSent = Enumerable.Range(0, 20).Select(i => $"first #{i}").Count(t => !sent.Contains(t));
        return sent.Count(t => received.Contains(t) || reported.Contains(t)) + notSent;
    }
}
