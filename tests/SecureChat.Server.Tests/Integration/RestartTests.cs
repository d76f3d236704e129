using SecureChat.Core.Wire;
using SecureChat.Protocol.Relay;
using SecureChat.Server.Rooms;
using SecureChat.Server.Storage;
using SecureChat.Testing.Hosting;
using SecureChat.Testing.RawClients;
using Xunit.Abstractions;

namespace SecureChat.Server.Tests.Integration;

/// <summary>
/// The real server, stopped with members in a room and started again on the same storage: the room comes back with
/// its epoch, roster and transcript hash exactly; each returning member is told in its JOINED that the room was
/// restored; the next commit is a new epoch. (In protocol v1 a member's session ends with its connection, so the
/// first to return creates the room afresh at the next epoch; members carrying on through a restart is protocol v2's.)
/// </summary>
public sealed class RestartTests(ITestOutputHelper output)
{
    private const string Room = "lobby";

    [Fact]
    public async Task A_room_survives_a_server_restart_on_the_same_sqlite_files()
    {
        using var data = new TempDirectory();

        // A snapshot every 2 events: the restarted room reads a snapshot and the event after it.
        await RoomSurvivesARestartAsync("--data=" + data.Path, "RoomSnapshotEvery=2");

        Assert.True(File.Exists(Path.Combine(data.Path, RoomStorage.JournalFileName)));
        Assert.True(File.Exists(Path.Combine(data.Path, RoomStorage.SnapshotFileName)));
    }

    [PostgresFact]
    public async Task A_room_survives_a_server_restart_on_the_same_postgresql_database()
    {
        await using var database = await PostgresTestDatabase.CreateAsync();

        await RoomSurvivesARestartAsync("--postgres=" + database.ConnectionString, "RoomSnapshotEvery=2");
    }

    private async Task RoomSurvivesARestartAsync(params string[] storage)
    {
        using var alice = new TestMember("alice");
        using var bob = new TestMember("bob");
        RoomStatus before;
        var first = await TestServer.StartAsync(output, storage);
        await using (var aliceClient = await first.ConnectAndHelloAsync("alice"))
        await using (var bobClient = await first.ConnectAndHelloAsync("bob"))
        {
            var (epoch, transcript) = await ChatRoom.FormAsync(Room, [(aliceClient, alice), (bobClient, bob)]);
            Assert.Equal(2ul, epoch);
            await aliceClient.SendAsync(Frames.Commit("alice", Room, 3, alice.Commit(Room, 3, [alice.Bundle, bob.Bundle], rekey: true, previous: transcript)));
            Assert.Equal(3ul, (await bobClient.ExpectAsync(MessageType.Commit)).Epoch);
            before = await first.RoomStateAsync(Room);
            Assert.Equal(["alice", "bob"], before.Snapshot.Connected);

            // Stopped with both still connected: the rooms stop before the connections close, so this is not
            // taken for both members leaving (which would reset the roster).
            await first.DisposeAsync();
            Assert.Equal(ErrorCode.ServerShutdown, (await aliceClient.ReadUntilAsync(MessageType.Error)).Error.Code);
        }

        await using (var server = await TestServer.StartAsync(output, storage))
        {
            var after = await server.RoomStateAsync(Room);
            Assert.Equal(3ul, after.Durable.Epoch);
            Assert.Equal((before.Durable.Epoch, before.Durable.Suite, before.Durable.TranscriptHash), (after.Durable.Epoch, after.Durable.Suite, after.Durable.TranscriptHash));
            Assert.Equal(before.Durable.Roster.Select(m => m.Bundle), after.Durable.Roster.Select(m => m.Bundle));
            Assert.Equal(["alice", "bob"], after.Snapshot.Roster);
            Assert.True(after.Snapshot.Recovered);

            using var bobAgain = new TestMember("bob");
            await using var aliceClient = await server.ConnectAndHelloAsync("alice");
            await using var bobClient = await server.ConnectAndHelloAsync("bob");

            // Alice's session is gone but not her identity: she returns with a new membership key and, as nobody is online,
            // admits herself by an external commit (REJOINED) from the commit the log kept across the restart.
            var returning = alice.RefreshedBundle();
            await aliceClient.SendAsync(Frames.Join("alice", Room, returning));
            var joined = (await aliceClient.ExpectAsync(MessageType.Joined)).Joined;
            Assert.Equal((3ul, 2u, true, JoinMode.External), (joined.CurrentEpoch, joined.MemberCount, joined.Recovered, joined.Mode));
            Assert.Equal(after.Durable.TranscriptHash, TestMember.TranscriptHashOf(joined.State.LastCommit));
            var external = alice.Commit(Room, 4, [returning, bob.Bundle], adds: [new Add { Bundle = returning }],
                removes: [new Remove { ClientId = "alice", Reason = RemoveReason.Rejoined }], previous: after.Durable.TranscriptHash, kind: CommitKind.External);
            await aliceClient.SendAsync(Frames.Commit("alice", Room, 4, external));
            Assert.Equal(4ul, (await aliceClient.ExpectAsync(MessageType.Commit)).Epoch); // never a used epoch number

            await bobClient.SendAsync(Frames.Join("bob", Room, bobAgain.Bundle));
            Assert.True((await bobClient.ExpectAsync(MessageType.Joined)).Joined.Recovered);
            Assert.Contains(server.Logs.Lines, line => line.Contains("Room lobby: restored from storage at epoch 3 with 2 members", StringComparison.Ordinal));
        }
    }
}
