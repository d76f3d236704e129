using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Testing.Simulation;

namespace SecureChat.Protocol.Tests;

/// <summary>
/// A room larger than the old 150-member cap forms under the default limits (PROTOCOL.md §13): the server's room (the same
/// RoomState, in memory), the reference client loop and the engine, all with their defaults.
/// </summary>
public sealed class LargeRoomTests
{
    [Fact]
    public void More_members_than_the_old_cap_of_150_form_a_room_with_the_default_limits_and_read_each_others_messages()
    {
        const int members = 160; // above the old cap of 150; the cost grows with the square of it
        using var sim = new GroupSimulation(seed: 200);
        var ids = Enumerable.Range(0, members).Select(i => $"member-{i:D3}").ToList();
        foreach (var id in ids)
        {
            sim.Join(id); // all at once: the room admits the joiners that wait together in one commit
        }

        sim.RunUntilQuiet();

        Assert.Equal(members, sim.Relay.RosterIds.Count);
        Assert.All(sim.Clients, c => Assert.Equal((GroupStatus.Active, sim.Relay.Epoch), (c.Session!.Status, c.Session.Epoch)));
        Assert.True(sim.Relay.Epoch < 10, $"{sim.Relay.Epoch} commits for {members} joiners: the joins were not batched");
        Assert.Equal(WireLimits.DefaultMaxMembersPerRoom, sim.Clients.First().Session!.MaxMembers);

        foreach (var sender in ids.Take(3))
        {
            Assert.IsType<MessageSealed>(sim[sender].Send(sim.Relay, $"hello from {sender}"));
        }

        sim.RunUntilQuiet();
        foreach (var client in sim.Clients)
        {
            Assert.Equal(ids.Take(3).Count(id => id != client.ClientId), client.Delivered.Count);
        }
    }
}
