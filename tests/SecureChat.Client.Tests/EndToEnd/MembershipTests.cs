using SecureChat.Client.Session;
using SecureChat.Core.Wire;
using SecureChat.Testing.EndToEnd;
using SecureChat.Testing.RealClients;

namespace SecureChat.Client.Tests.EndToEnd;

/// <summary>Members decide who joins and who goes (PROTOCOL.md §4.5, §8.3), with real clients over TLS against the real server.</summary>
public sealed class MembershipTests() : EndToEndTest("e2e-membership")
{
    private const string Room = "club";

    [Fact]
    public async Task In_an_invite_room_carol_can_join_only_after_alices_invite_and_bob_can_remove_her()
    {
        await using var alice = TestChatClient.Start(Server, System, "alice");
        await using var bob = TestChatClient.Start(Server, System, "bob");
        await using var carol = TestChatClient.Start(Server, System, "carol");
        foreach (var client in new[] { alice, bob, carol })
        {
            await client.WaitForNextAsync<Connected>();
        }

        alice.Client.Join(Room);
        await alice.WaitForNextAsync<KeyEstablished>();
        bob.Client.Join(Room);
        await alice.WaitForNextAsync<KeyEstablished>(k => k.MemberCount == 2);
        await bob.WaitForNextAsync<KeyEstablished>(k => k.MemberCount == 2);

        alice.Client.SetPolicy(Room, Admission.Invite);
        await alice.WaitForNextAsync<MembershipCommitSent>(m => m.Admission == Admission.Invite);
        await bob.WaitForNextAsync<KeyEstablished>(k => k.MemberCount == 2);

        carol.Client.Join(Room);
        var refused = await carol.WaitForNextAsync<JoinRefused>();
        Assert.Equal(ErrorCode.BadInvite, refused.WireCode);

        alice.Client.Invite(Room, "carol");
        await alice.WaitForNextAsync<InviteSent>(i => i.InviteeId == "carol");
        carol.Client.Join(Room);
        await carol.WaitForNextAsync<KeyEstablished>(k => k.MemberCount == 3);
        await alice.WaitForNextAsync<KeyEstablished>(k => k.MemberCount == 3); // a text of the epoch before carol's is not hers to read
        alice.Client.Send(Room, "welcome, carol");
        Assert.Equal("welcome, carol", (await carol.WaitForNextAsync<MessageReceived>()).Text);

        bob.Client.Remove(Room, "carol");
        await alice.WaitForNextAsync<MemberLeft>(m => m.ClientId == "carol");
        await alice.WaitForNextAsync<KeyEstablished>(k => k.MemberCount == 2);
        await carol.WaitForNextAsync<Rejoining>(r => r.Reason == RejoinReason.RemovedFromRoom);
    }
}
