using SecureChat.Client.Session;
using SecureChat.Testing.EndToEnd;

namespace SecureChat.Client.Tests.EndToEnd;

/// <summary>Real clients, real server, real TLS: two people in a room.</summary>
public sealed class TwoClientsTests() : EndToEndTest("e2e-two")
{
    [Fact]
    public async Task Alice_and_bob_join_a_room_exchange_messages_both_ways_and_see_each_others_fingerprints()
    {
        await using var alice = TestClients.Start(Server, System, "alice");
        await using var bob = TestClients.Start(Server, System, "bob");
        await alice.WaitForAsync<Connected>();
        await bob.WaitForAsync<Connected>();

        alice.Join("lobby");
        await alice.WaitForAsync<KeyEstablished>();
        bob.Join("lobby");
        var aliceSeesBob = await alice.WaitForAsync<MemberJoined>(m => m.ClientId == "bob");
        var bobKeys = await bob.WaitForAsync<KeyEstablished>();
        var aliceKeys = await alice.WaitForAsync<KeyEstablished>(k => k.Epoch == bobKeys.Epoch);

        Assert.Equal(bob.Fingerprint, aliceSeesBob.Fingerprint);
        Assert.Equal(aliceKeys.EpochCode, bobKeys.EpochCode);
        var bobRoster = await bob.GetRosterAsync("lobby");
        Assert.Equal(alice.Fingerprint, bobRoster.Members.Single(m => m.ClientId == "alice").Fingerprint);

        alice.Send("lobby", "hi bob");
        var atBob = await bob.WaitForAsync<MessageReceived>();
        Assert.Equal(("alice", "lobby", "hi bob"), (atBob.SenderId, atBob.RoomId, atBob.Text));
        bob.Send("lobby", "hi alice");
        var atAlice = await alice.WaitForAsync<MessageReceived>();
        Assert.Equal(("bob", "hi alice"), (atAlice.SenderId, atAlice.Text));
    }
}
