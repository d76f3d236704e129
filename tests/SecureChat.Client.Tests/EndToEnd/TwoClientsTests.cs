using SecureChat.Client.Session;
using SecureChat.Testing.EndToEnd;
using SecureChat.Testing.RealClients;

namespace SecureChat.Client.Tests.EndToEnd;

/// <summary>Real clients, real server, real TLS: two people in a room.</summary>
public sealed class TwoClientsTests() : EndToEndTest("e2e-two")
{
    [Fact]
    public async Task Alice_and_bob_join_a_room_exchange_messages_both_ways_and_see_each_others_fingerprints()
    {
        await using var alice = TestChatClient.Start(Server, System, "alice");
        await using var bob = TestChatClient.Start(Server, System, "bob");
        await alice.WaitForNextAsync<Connected>();
        await bob.WaitForNextAsync<Connected>();

        alice.Client.Join("lobby");
        await alice.WaitForNextAsync<KeyEstablished>();
        bob.Client.Join("lobby");
        var aliceSeesBob = await alice.WaitForNextAsync<MemberJoined>(m => m.ClientId == "bob");
        var bobKeys = await bob.WaitForNextAsync<KeyEstablished>();
        var aliceKeys = await alice.WaitForNextAsync<KeyEstablished>(k => k.Epoch == bobKeys.Epoch);

        Assert.Equal(bob.Client.Fingerprint, aliceSeesBob.Fingerprint);
        Assert.Equal(aliceKeys.EpochCode, bobKeys.EpochCode);
        var bobRoster = await bob.Client.GetRosterAsync("lobby");
        Assert.Equal(alice.Client.Fingerprint, bobRoster.Members.Single(m => m.ClientId == "alice").Fingerprint);

        alice.Client.Send("lobby", "hi bob");
        var atBob = await bob.WaitForNextAsync<MessageReceived>();
        Assert.Equal(("alice", "lobby", "hi bob"), (atBob.SenderId, atBob.RoomId, atBob.Text));
        bob.Client.Send("lobby", "hi alice");
        var atAlice = await alice.WaitForNextAsync<MessageReceived>();
        Assert.Equal(("bob", "hi alice"), (atAlice.SenderId, atAlice.Text));
    }
}
