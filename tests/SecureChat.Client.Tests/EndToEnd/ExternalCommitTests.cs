using SecureChat.Client.Session;
using SecureChat.Core.Wire;
using SecureChat.Testing.EndToEnd;
using SecureChat.Testing.RealClients;

namespace SecureChat.Client.Tests.EndToEnd;

/// <summary>
/// A joiner admitted while no member is online, by its own external commit (PROTOCOL.md §4.2, §8.9), with real clients over TLS
/// against the real server; the members who were away resume with that commit from the room's log.
/// </summary>
public sealed class ExternalCommitTests() : EndToEndTest("e2e-external")
{
    [Fact]
    public async Task Carol_admits_herself_while_alice_and_bob_are_away_and_bob_resumes_into_her_epoch()
    {
        const string room = "lobby";
        var (alice, aliceLink) = StartBreakable("alice");
        var (bob, bobLink) = StartBreakable("bob");
        await using (alice)
        await using (bob)
        {
            await alice.WaitForNextAsync<Connected>();
            await bob.WaitForNextAsync<Connected>();
            alice.Client.Join(room);
            await alice.WaitForNextAsync<KeyEstablished>();
            bob.Client.Join(room);
            var bobBefore = await bob.WaitForNextAsync<KeyEstablished>();

            aliceLink.BreakCurrentLink(stayOffline: true);
            bobLink.BreakCurrentLink(stayOffline: true);
            await alice.WaitForNextAsync<Disconnected>();
            await bob.WaitForNextAsync<Disconnected>();

            await using var carol = TestChatClient.Start(Server, System, "carol");
            await carol.WaitForNextAsync<Connected>();
            carol.Client.Join(room);
            var carolKeys = await carol.WaitForNextAsync<KeyEstablished>();
            Assert.Equal((bobBefore.Epoch + 1, 3), (carolKeys.Epoch, carolKeys.MemberCount)); // alice and bob are still members
            var stored = (await Server.RoomStateAsync(room)).Durable;
            Assert.Equal(["alice", "bob", "carol"], stored.Roster.Select(m => m.ClientId));
            Assert.Equal(CommitKind.External, CommitContent.Parser.ParseFrom(Envelope.Parser.ParseFrom(stored.CommitLog[^1].Envelope).Commit.Content).Kind);

            bobLink.Release();
            var caughtUp = await bob.WaitForNextAsync<KeyEstablished>();
            Assert.Equal((carolKeys.Epoch, carolKeys.EpochCode), (caughtUp.Epoch, caughtUp.EpochCode));
            await bob.WaitForNextAsync<Resumed>();
            carol.Client.Send(room, "in while you were away");
            Assert.Equal("in while you were away", (await bob.WaitForNextAsync<MessageReceived>()).Text);
        }
    }

    [Fact]
    public async Task In_an_invite_room_carol_is_refused_without_an_invite_and_admits_herself_with_the_one_alice_sent_before_going_offline()
    {
        const string room = "club";
        var (alice, aliceLink) = StartBreakable("alice");
        await using (alice)
        {
            await using var carol = TestChatClient.Start(Server, System, "carol");
            await carol.WaitForNextAsync<Connected>();
            await alice.WaitForNextAsync<Connected>();
            alice.Client.Join(room);
            await alice.WaitForNextAsync<KeyEstablished>();
            alice.Client.SetPolicy(room, Admission.Invite);
            await alice.WaitForNextAsync<MembershipCommitSent>(m => m.Admission == Admission.Invite);
            await alice.WaitForNextAsync<KeyEstablished>();

            carol.Client.Join(room);
            Assert.Equal(ErrorCode.BadInvite, (await carol.WaitForNextAsync<JoinRefused>()).WireCode);

            alice.Client.Invite(room, "carol");
            await alice.WaitForNextAsync<InviteSent>(i => i.InviteeId == "carol");
            aliceLink.BreakCurrentLink(stayOffline: true);
            await alice.WaitForNextAsync<Disconnected>();

            carol.Client.Join(room);
            var carolKeys = await carol.WaitForNextAsync<KeyEstablished>();
            Assert.Equal(2, carolKeys.MemberCount);

            aliceLink.Release();
            Assert.Equal(carolKeys.EpochCode, (await alice.WaitForNextAsync<KeyEstablished>()).EpochCode);
            await alice.WaitForNextAsync<Resumed>();
            carol.Client.Send(room, "thanks for the invite");
            Assert.Equal("thanks for the invite", (await alice.WaitForNextAsync<MessageReceived>()).Text);
        }
    }

    private (TestChatClient Client, BreakableConnector Link) StartBreakable(string clientId)
    {
        var link = new BreakableConnector(Server.ChatConnector(clientId));
        var client = TestChatClient.Start(
            Server.ChatClientOptions(clientId) with { Connector = link, Settings = new ClientSessionSettings { InitialBackoff = TimeSpan.FromMilliseconds(200) } },
            System);
        return (client, link);
    }
}
