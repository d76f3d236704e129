using SecureChat.Core.Wire;
using SecureChat.Testing.Honest;
using SecureChat.Testing.Hosting;
using SecureChat.Testing.RawClients;
using Xunit.Abstractions;

namespace SecureChat.Server.Tests.Integration;

public sealed class EndToEndTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Members_form_a_room_and_ciphertext_reaches_the_others_unchanged_and_numbered_and_the_sender_hears_it_was_relayed_then_stored()
    {
        await using var server = await TestServer.StartAsync(output);
        using var aliceKeys = new TestMember("alice");
        using var bobKeys = new TestMember("bob");
        using var carolKeys = new TestMember("carol");
        await using var alice = await server.ConnectAndHelloAsync("alice");
        await using var bob = await server.ConnectAndHelloAsync("bob");
        await using var carol = await server.ConnectAndHelloAsync("carol");

        var (epoch, transcript) = await ChatRoom.FormAsync("lobby", [(alice, aliceKeys), (bob, bobKeys), (carol, carolKeys)]);
        Assert.Equal(3ul, epoch);

        var fromAlice = Frames.Application("alice", "lobby", epoch, 0);
        await alice.SendAsync(fromAlice);
        Assert.Equal(fromAlice.Numbered(1), await bob.ExpectAsync(MessageType.Application));
        Assert.Equal(fromAlice.Numbered(1), await carol.ExpectAsync(MessageType.Application));

        // Alice hears that hers was relayed, then that it is durable in the room's log; her next frame is bob's message:
        // her own never came back.
        var relayed = await alice.ExpectAsync(MessageType.Relayed);
        Assert.Equal(("lobby", epoch, 0ul, "", 1ul), (relayed.RoomId, relayed.Epoch, relayed.Sequence, relayed.SenderId, relayed.RoomSeq));
        var stored = await alice.ExpectAsync(MessageType.Stored);
        Assert.Equal(("lobby", epoch, 0ul, "", 1ul), (stored.RoomId, stored.Epoch, stored.Sequence, stored.SenderId, stored.RoomSeq));
        var fromBob = Frames.Application("bob", "lobby", epoch, 0);
        await bob.SendAsync(fromBob);
        Assert.Equal(fromBob.Numbered(2), await alice.ExpectAsync(MessageType.Application));
        Assert.Equal(fromBob.Numbered(2), await carol.ExpectAsync(MessageType.Application));

        // The server never logs ciphertext: no log line holds any of its bytes in base64.
        var ciphertext = Convert.ToBase64String(fromAlice.Ciphertext.Span[..24]);
        Assert.DoesNotContain(server.Logs.Lines, line => line.Contains(ciphertext, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Frames_larger_than_one_coalesced_write_and_small_ones_around_them_arrive_whole_and_in_order()
    {
        await using var server = await TestServer.StartAsync(output, "MaxFrameBytes=1048576");
        using var aliceKeys = new TestMember("alice");
        using var bobKeys = new TestMember("bob");
        await using var alice = await server.ConnectAndHelloAsync("alice");
        await using var bob = await server.ConnectAndHelloAsync("bob");
        var (epoch, transcript) = await ChatRoom.FormAsync("lobby", [(alice, aliceKeys), (bob, bobKeys)]);

        // Sizes around the 64 KiB write batch: below, exactly filling it with the prefix, just above, far above.
        int[] sizes = [100, 65_000, 100, 300_000, 65_400, 900_000, 100];
        var sent = sizes.Select((size, i) => Frames.Application("alice", "lobby", epoch, (ulong)i, ciphertextBytes: size)).ToList();
        foreach (var frame in sent)
        {
            await alice.SendAsync(frame);
        }

        foreach (var (frame, seq) in sent.Select((frame, i) => (frame, (ulong)i + 1)))
        {
            Assert.Equal(frame.Numbered(seq), await bob.ExpectAsync(MessageType.Application));
        }
    }

    [Fact]
    public async Task A_member_that_disconnects_stays_a_member_and_resumes_on_a_new_connection_with_the_commit_it_missed()
    {
        await using var server = await TestServer.StartAsync(output);
        using var aliceKeys = new TestMember("alice");
        using var bobKeys = new TestMember("bob");
        await using var alice = await server.ConnectAndHelloAsync("alice");
        var bob = await server.ConnectAndHelloAsync("bob");
        var (epoch, transcript) = await ChatRoom.FormAsync("lobby", [(alice, aliceKeys), (bob, bobKeys)]);

        await bob.DisposeAsync();
        await Eventually.TrueAsync(() => !server.RoomStateAsync("lobby").GetAwaiter().GetResult().Snapshot.Connected.Contains("bob"), "the room saw bob go");
        Assert.Equal(["alice", "bob"], (await server.RoomStateAsync("lobby")).Snapshot.Roster); // no remove is asked for
        var rekey = aliceKeys.Commit("lobby", epoch + 1, [aliceKeys.Bundle, bobKeys.Bundle], rekey: true, previous: transcript);
        await alice.SendAsync(Frames.Commit("alice", "lobby", epoch + 1, rekey));
        Assert.Equal(epoch + 1, (await alice.ExpectAsync(MessageType.Commit)).Epoch); // the first frame alice gets: no COMMIT_REQUEST came

        await using var bobAgain = await server.ConnectAndHelloAsync("bob");
        await bobAgain.SendAsync(Frames.Join("bob", "lobby", bobKeys.Bundle, knownEpoch: epoch));

        Assert.Equal(rekey, (await bobAgain.ExpectAsync(MessageType.Commit)).Commit);
        var joined = (await bobAgain.ExpectAsync(MessageType.Joined)).Joined;
        Assert.Equal((JoinMode.Resumed, epoch + 1), (joined.Mode, joined.CurrentEpoch));
        Assert.Equal(epoch + 1, (await server.RoomStateAsync("lobby")).Durable.Epoch); // the resume made no commit
    }
}
