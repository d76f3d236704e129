using SecureChat.Protocol.Group;
using SecureChat.Testing.Simulation;

namespace SecureChat.Protocol.Tests;

public sealed class GroupSizeTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(10)]
    [InlineData(100)]
    public void Every_member_reads_every_other_members_message_exactly_once(int size)
    {
        using var sim = new GroupSimulation(seed: (ulong)size);
        var ids = Enumerable.Range(0, size).Select(i => $"user{i:D3}").ToArray();

        // The first joiner creates the room; the rest join together and are admitted by one commit.
        sim.JoinAll(ids[0]);
        foreach (var id in ids.Skip(1))
        {
            sim.Join(id);
        }

        sim.RunUntilQuiet();

        var members = ids.Select(id => sim[id]).ToList();
        Assert.All(members, m => Assert.Equal(GroupStatus.Active, m.Session!.Status));
        Assert.Single(members.Select(m => m.Session!.EpochCode).Distinct());
        Assert.Single(members.Select(m => Convert.ToHexString(m.Session!.TranscriptHash)).Distinct());
        Assert.All(members, m => Assert.Equal(ids, m.Session!.Roster.Select(r => r.ClientId)));
        Assert.InRange(members[0].Session!.Epoch, 1UL, (ulong)size);

        // Every member sends in small groups; in the group of 100 five senders keep the test fast (each
        // delivery is an Ed25519 verification) while every member still has to read every message.
        var senders = size <= 10 ? members : members.Where((_, i) => i % 20 == 7).ToList();
        foreach (var member in senders)
        {
            Assert.IsType<MessageSealed>(member.Send(sim.Relay, $"hello from {member.ClientId}"));
        }

        sim.RunUntilQuiet();

        var senderIds = senders.Select(s => s.ClientId).ToList();
        foreach (var member in members)
        {
            var expected = senderIds.Where(id => id != member.ClientId).Select(id => $"hello from {id}").Order(StringComparer.Ordinal);
            Assert.Equal(expected, member.Delivered.Select(d => d.Message.Text).Order(StringComparer.Ordinal));
            Assert.All(member.Delivered, d => Assert.Equal($"hello from {d.Message.SenderId}", d.Message.Text));
        }
    }
}
