using System.Buffers.Binary;
using System.Net.Sockets;
using Google.Protobuf;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Testing.Honest;
using SecureChat.Testing.Hosting;
using SecureChat.Testing.RawClients;
using Xunit.Abstractions;

namespace SecureChat.Adversarial.Tests.HostileClients;

/// <summary>
/// Hostile clients against the real server over real TLS. Throughout each attack three honest members
/// (the real protocol engine) keep chatting in "lobby"; each test asserts they lose nothing, that the
/// attacker gets the documented typed refusal, and that the process's managed heap stays bounded.
/// </summary>
public sealed class HostileClientTests(ITestOutputHelper output)
{
    private const long HeapGrowthBound = 256L * 1024 * 1024;

    [Fact]
    public async Task Connections_that_never_finish_the_TLS_handshake_are_dropped_at_the_deadline_while_members_chat()
    {
        // All 40 from one address: the per-address handshake limit (32 by default) would close some at accept, and this is about the deadline.
        await using var server = await TestServer.StartAsync(output, "HandshakeTimeout=00:00:02", "MaxHandshakesPerAddress=64");
        await using var room = await HonestRoom.FormAsync(server, "lobby", "stalled-handshake");
        var memory = MemorySampler.Start();

        // Half send nothing at all, half a truncated TLS record header: neither ever completes a handshake.
        var stalled = new List<TcpClient>();
        for (var i = 0; i < 40; i++)
        {
            var tcp = new TcpClient();
            await tcp.ConnectAsync("127.0.0.1", server.Port);
            if (i % 2 == 1)
            {
                await tcp.GetStream().WriteAsync(new byte[] { 0x16, 0x03, 0x01 });
            }

            stalled.Add(tcp);
        }

        for (var round = 0; round < 5; round++)
        {
            await room.Chat.RoundAsync();
        }

        await room.Chat.AssertNothingLostAsync();

        // The server hangs up on every one of them (HandshakeTimeout is 2 s here): a read ends with EOF or a reset.
        foreach (var tcp in stalled)
        {
            using (tcp)
            {
                using var deadline = new CancellationTokenSource(TestClient.Timeout);
                var ended = await ReadsToEndAsync(tcp.GetStream(), deadline.Token);
                Assert.True(ended, "a stalled handshake was never closed by the server");
            }
        }

        await room.Chat.RoundAsync();
        await room.Chat.AssertNothingLostAsync();
        await memory.StopAsync(output, "40 stalled TLS handshakes");
        Assert.InRange(memory.ManagedGrowth, long.MinValue, HeapGrowthBound);
    }

    [Fact]
    public async Task A_member_that_stops_reading_is_cut_off_as_a_slow_consumer_and_left_away_while_the_others_get_everything()
    {
        // 16 frames: a round gives each honest sender the others' lines and its own RELAYED and STORED, with room to spare on a
        // loaded machine; mallory, who reads nothing, still fills it within a few rounds.
        await using var server = await TestServer.StartAsync(output,
            "OutboundQueueLength=16", "FramesPerSecond=100000", "FrameBurst=100000", "BytesPerSecond=1000000000", "ByteBurst=1000000000");
        await using var room = await HonestRoom.FormAsync(server, "lobby", "slow-consumer");
        var memory = MemorySampler.Start();

        // Mallory joins with a genuine bundle (so alice admits her and the server fans out to her), then never reads again.
        using var malloryKeys = new TestMember("mallory");
        await using var mallory = await AdmitMalloryAsync(server, room, malloryKeys, receiveBufferBytes: 4096);

        var rounds = 0;
        while (server.Logs.Count("Slow consumer mallory") == 0)
        {
            Assert.True(rounds++ < 400, "mallory was never disconnected");
            await room.Chat.RoundAsync(padTo: 20_000);
            await room.Chat.AssertNothingLostAsync(); // in step with the honest readers, so only mallory falls behind
        }

        // Cut off, she stays a member, away (a disconnect is not a leave): no commit, and the others chat on.
        await Eventually.TrueAsync(() => server.RoomStateAsync("lobby").GetAwaiter().GetResult().Durable.Away.Any(a => a.ClientId == "mallory"),
            "the room counts mallory as away");
        await room.Chat.RoundAsync();
        await room.Chat.AssertNothingLostAsync();
        output.WriteLine($"mallory cut off after {rounds} rounds of 20 kB lines");
        await memory.StopAsync(output, "slow consumer");
        Assert.InRange(memory.ManagedGrowth, long.MinValue, HeapGrowthBound);
    }

    public static TheoryData<string, uint, ErrorCode> BadLengthPrefixes => new()
    {
        { "4 GiB", 0xFFFF_FFFF, ErrorCode.FrameTooLarge },
        { "the frame limit + 1", (uint)WireLimits.DefaultMaxFrameBytes + 1, ErrorCode.FrameTooLarge },
        { "zero", 0, ErrorCode.MalformedFrame },
    };

    [Theory]
    [MemberData(nameof(BadLengthPrefixes))]
    public async Task A_bad_length_prefix_is_refused_before_any_allocation_and_closes_only_that_connection(string name, uint length, ErrorCode expected)
    {
        await using var server = await TestServer.StartAsync(output);
        await using var room = await HonestRoom.FormAsync(server, "lobby", "prefix");
        var memory = MemorySampler.Start();
        await room.Chat.RoundAsync();

        foreach (var sayHello in new[] { false, true })
        {
            await using var mallory = sayHello ? await server.ConnectAndHelloAsync("mallory") : await server.ConnectAsync("mallory");
            var prefix = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(prefix, length);
            await mallory.SendRawAsync(prefix);

            var frames = await mallory.ReadUntilClosedAsync();
            var error = Assert.Single(frames).Error;
            Assert.Equal(expected, error.Code);
            Assert.True(error.Fatal, $"{name} prefix must be fatal");
            await room.Chat.RoundAsync();
        }

        await room.Chat.AssertNothingLostAsync();
        await memory.StopAsync(output, $"length prefix {name}");
        Assert.InRange(memory.ManagedGrowth, long.MinValue, HeapGrowthBound);
    }

    [Fact]
    public async Task Random_bytes_get_typed_errors_until_the_error_budget_closes_the_connection()
    {
        await using var server = await TestServer.StartAsync(output, "MaxProtocolErrors=20");
        await using var room = await HonestRoom.FormAsync(server, "lobby", "random-bytes");
        var memory = MemorySampler.Start();
        await using var mallory = await server.ConnectAndHelloAsync("mallory");
        var random = new Random(20261125);

        // Frames with honest lengths and random bodies, then a raw random tail: all of it hostile.
        var reading = mallory.ReadUntilClosedAsync();
        try
        {
            for (var i = 0; i < 200; i++)
            {
                var body = new byte[random.Next(1, 2000)];
                random.NextBytes(body);
                var frame = new byte[4 + body.Length];
                BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)body.Length);
                body.CopyTo(frame, 4);
                await mallory.SendRawAsync(frame);
                if (i % 20 == 0)
                {
                    await room.Chat.RoundAsync();
                }
            }
        }
        catch (IOException)
        {
            // the server already hung up
        }

        var frames = await reading;
        Assert.NotEmpty(frames);
        Assert.All(frames, f => Assert.Equal(MessageType.Error, f.Type));
        Assert.True(frames[^1].Error.Fatal);
        Assert.InRange(frames.Count, 1, 21);
        output.WriteLine("errors: " + string.Join(", ", frames.Select(f => f.Error.Code)));
        await room.Chat.RoundAsync();
        await room.Chat.AssertNothingLostAsync();
        await memory.StopAsync(output, "random frames");
        Assert.InRange(memory.ManagedGrowth, long.MinValue, HeapGrowthBound);
    }

    [Fact]
    public async Task A_join_flood_to_thousands_of_rooms_creates_at_most_the_per_connection_limit()
    {
        await using var server = await TestServer.StartAsync(output);
        await using var room = await HonestRoom.FormAsync(server, "lobby", "join-flood");
        var memory = MemorySampler.Start();
        using var malloryKeys = new TestMember("mallory");
        await using var mallory = await server.ConnectAndHelloAsync("mallory");

        var reading = mallory.ReadUntilClosedAsync();
        var sent = 0;
        try
        {
            for (; sent < 5000; sent++)
            {
                await mallory.SendAsync(Frames.Join("mallory", $"flood-{sent}", malloryKeys.BundleFor($"flood-{sent}")));
                if (sent % 500 == 0)
                {
                    await room.Chat.RoundAsync();
                }
            }
        }
        catch (IOException)
        {
            // cut off
        }

        var frames = await reading;
        var codes = frames.Where(f => f.Type == MessageType.Error).Select(f => f.Error.Code).ToList();
        output.WriteLine($"sent {sent} joins; got {frames.Count} frames: {frames.Count(f => f.Type == MessageType.Joined)} JOINED, errors " +
                         string.Join(", ", codes.GroupBy(c => c).Select(g => $"{g.Key}×{g.Count()}")));
        Assert.Contains(ErrorCode.TooManyRooms, codes);
        Assert.True(frames[^1].Error.Fatal, "the flood ends with a fatal error");

        // JOINED replies may be lost with the closed connection; what counts is what the server holds.
        Assert.InRange(frames.Count(f => f.Type == MessageType.Joined), 0, 32);
        var rooms = await server.RoomCountAsync();
        output.WriteLine($"rooms held by the server after the flood: {rooms}");
        Assert.InRange(rooms, 1, 1 + 32);
        await room.Chat.RoundAsync();
        await room.Chat.AssertNothingLostAsync();
        await memory.StopAsync(output, "join flood");
        Assert.InRange(memory.ManagedGrowth, long.MinValue, HeapGrowthBound);
    }

    [Fact]
    public async Task A_client_reconnecting_in_a_loop_to_join_thousands_of_rooms_holds_them_only_for_the_grace_period()
    {
        await using var server = await TestServer.StartAsync(output, "EmptyRoomGracePeriod=00:00:02");
        await using var room = await HonestRoom.FormAsync(server, "lobby", "reconnect-flood");
        var memory = MemorySampler.Start();
        using var malloryKeys = new TestMember("mallory");
        const int Connections = 100;
        var peakRooms = 0;

        for (var c = 0; c < Connections; c++)
        {
            await using var mallory = await server.ConnectAndHelloAsync("mallory");
            for (var r = 0; r < 32; r++)
            {
                await mallory.SendAsync(Frames.Join("mallory", $"flood-{c}-{r}", malloryKeys.BundleFor($"flood-{c}-{r}")));
            }

            await mallory.SendAsync(Frames.Ping("mallory", (ulong)c));
            await mallory.ReadUntilAsync(MessageType.Pong); // the joins were handled
            if (c % 10 == 0)
            {
                peakRooms = Math.Max(peakRooms, await server.RoomCountAsync());
                await room.Chat.RoundAsync();
            }
        }

        peakRooms = Math.Max(peakRooms, await server.RoomCountAsync());
        output.WriteLine($"{Connections} connections × 32 joins: at most {peakRooms} rooms alive at once");
        Assert.InRange(peakRooms, 1, 1 + (Connections * 32));
        await room.Chat.AssertNothingLostAsync();
        await memory.StopAsync(output, "reconnect join flood");
        Assert.InRange(memory.ManagedGrowth, long.MinValue, HeapGrowthBound);

        // Nobody is left in them: every flood room stops after its grace period; only the lobby stays.
        await Eventually.TrueAsync(() => server.RoomCountAsync().GetAwaiter().GetResult() == 1, "the flood rooms were stopped", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_frame_flood_is_throttled_then_disconnected_while_members_chat()
    {
        await using var server = await TestServer.StartAsync(output, "FramesPerSecond=200", "FrameBurst=400", "RateLimitStrikes=100");
        await using var room = await HonestRoom.FormAsync(server, "lobby", "frame-flood");
        var memory = MemorySampler.Start();
        await using var mallory = await server.ConnectAndHelloAsync("mallory");

        var reading = mallory.ReadUntilClosedAsync();
        var sent = 0UL;
        try
        {
            for (; sent < 20_000; sent++)
            {
                await mallory.SendAsync(Frames.Ping("mallory", sent));
                if (sent % 2000 == 0)
                {
                    await room.Chat.RoundAsync();
                }
            }
        }
        catch (IOException)
        {
            // cut off
        }

        var frames = await reading;
        var errors = frames.Where(f => f.Type == MessageType.Error).Select(f => f.Error).ToList();
        output.WriteLine($"sent {sent} pings; got {frames.Count(f => f.Type == MessageType.Pong)} pongs and errors {string.Join(", ", errors.Select(e => $"{e.Code}{(e.Fatal ? "!" : "")}"))}");
        Assert.Equal(ErrorCode.RateLimited, errors[0].Code);
        Assert.Contains(errors, e => e.Code == ErrorCode.RateLimited && e.Fatal);
        Assert.InRange(frames.Count(f => f.Type == MessageType.Pong), 1, 2000);
        await room.Chat.RoundAsync();
        await room.Chat.AssertNothingLostAsync();
        await memory.StopAsync(output, "frame flood");
        Assert.InRange(memory.ManagedGrowth, long.MinValue, HeapGrowthBound);
    }

    [Fact]
    public async Task A_member_claiming_another_members_id_is_refused_and_its_copy_never_reaches_anyone()
    {
        await using var server = await TestServer.StartAsync(output);
        await using var room = await HonestRoom.FormAsync(server, "lobby", "spoof-chat");
        var memory = MemorySampler.Start();
        using var malloryKeys = new TestMember("mallory");
        await using var mallory = await AdmitMalloryAsync(server, room, malloryKeys);

        await room["alice"].SendTextAsync("spoof original from alice");
        var fromAlice = await mallory.ReadUntilAsync(MessageType.Application);
        Assert.Equal("alice", fromAlice.SenderId);

        // Mallory sends alice's genuine ciphertext back into the room under alice's id.
        await mallory.SendAsync(fromAlice);
        var rest = await mallory.ReadUntilClosedAsync();
        var error = rest.Last(f => f.Type == MessageType.Error).Error;
        Assert.Equal(ErrorCode.SenderMismatch, error.Code);
        Assert.True(error.Fatal);

        await room.Chat.RoundAsync();
        await room.Chat.AssertNothingLostAsync(); // also asserts nothing was refused: the copy never arrived
        Assert.Single(room["bob"].Delivered, d => d.Text == "spoof original from alice");
        Assert.Single(room["carol"].Delivered, d => d.Text == "spoof original from alice");
        Assert.Contains("SenderMismatch", await server.Logs.WaitForAsync("Protocol violation by mallory"), StringComparison.Ordinal);
        await memory.StopAsync(output, "spoofed sender");
        Assert.InRange(memory.ManagedGrowth, long.MinValue, HeapGrowthBound);
    }

    [Fact]
    public async Task A_member_rekeying_on_another_history_is_refused_nobody_rejoins_and_the_room_still_admits()
    {
        await using var attack = await MalloryInTheRoom.StartAsync(output, "other-history");
        var (room, epoch) = (attack.Room, attack.Room["alice"].Epoch);

        // A rekey signed with mallory's genuine identity key, on a history nobody else has. Relayed, it would make every
        // honest member see TranscriptMismatch and rejoin, leaving mallory the only member the room could ask to commit.
        var rekey = attack.Rekey(previous: ByteString.CopyFrom(Enumerable.Repeat((byte)0xA5, 32).ToArray()));
        await attack.Client.SendAsync(Frames.Commit("mallory", "lobby", epoch + 1, rekey));

        var answer = await ReadUntilCommitOrErrorAsync(attack.Client, after: epoch);
        Assert.True(answer.Type == MessageType.Error, $"the relay relayed mallory's commit for epoch {answer.Epoch}");
        Assert.Equal((ErrorCode.CommitRejected, epoch + 1, false), (answer.Error.Code, answer.Epoch, answer.Error.Fatal));
        Assert.Contains("transcript hash", answer.Error.Reason, StringComparison.Ordinal);

        await room.Chat.RoundAsync();
        await room.Chat.AssertNothingLostAsync();
        foreach (var member in room.Members)
        {
            Assert.Equal(epoch, member.Epoch);
            Assert.DoesNotContain(member.CommitOutcomes, o => o is CommitRejected);
        }

        // The room is not held by mallory: the longest-present honest member still admits a newcomer.
        await using var dave = await attack.NewcomerAdmittedAsync();
    }

    [Fact]
    public async Task A_commit_that_fits_a_frame_but_would_be_relayed_in_a_larger_one_is_refused_and_the_room_stays_in_step()
    {
        await using var attack = await MalloryInTheRoom.StartAsync(output, "oversize-commit");
        var (room, epoch) = (attack.Room, attack.Room["alice"].Epoch);

        // The relay adds the suite to the envelope it relays: a commit sent in a frame of the maximum size comes out larger.
        // Accepted, the room would move to the next epoch while every copy of the commit is dropped as too large to send.
        var rekey = attack.Rekey(previous: ByteString.CopyFrom(room["alice"].TranscriptHash));
        var oversize = attack.Keys.PaddedToRelayedSize(rekey, "lobby", WireLimits.DefaultMaxFrameBytes + 1);
        var sent = Frames.Commit("mallory", "lobby", epoch + 1, oversize);
        Assert.InRange(sent.CalculateSize(), 1, WireLimits.DefaultMaxFrameBytes);
        await attack.Client.SendAsync(sent);

        var answer = await ReadUntilCommitOrErrorAsync(attack.Client, after: epoch);
        Assert.True(answer.Type == MessageType.Error, $"the relay accepted mallory's commit for epoch {answer.Epoch}");
        Assert.Equal((ErrorCode.CommitRejected, epoch + 1), (answer.Error.Code, answer.Epoch));
        Assert.Contains("frame limit", answer.Error.Reason, StringComparison.Ordinal);

        // Still at the room's epoch, everyone chats on; the next commit (a newcomer's admission) reaches everyone.
        await room.Chat.RoundAsync();
        await room.Chat.AssertNothingLostAsync();
        await using var dave = await attack.NewcomerAdmittedAsync();
        Assert.Equal(epoch + 1, dave.Epoch);
        Assert.All(room.Members, m => Assert.DoesNotContain(m.CommitOutcomes, o => o is CommitRejected));
    }

    /// <summary>Mallory joins "lobby" with a genuine bundle of her own (so the honest members admit her and the server fans out to her).</summary>
    private static async Task<TestClient> AdmitMalloryAsync(TestServer server, HonestRoom room, TestMember keys, int? receiveBufferBytes = null)
    {
        var mallory = await server.ConnectAndHelloAsync("mallory", receiveBufferBytes);
        try
        {
            await mallory.SendAsync(Frames.Join("mallory", "lobby", keys.Bundle));
            await Eventually.TrueAsync(() => room.Members.All(m => m.Roster.Any(r => r.ClientId == "mallory")), "mallory was admitted");
            return mallory;
        }
        catch
        {
            await mallory.DisposeAsync();
            throw;
        }
    }

    /// <summary>The next ERROR, or the next COMMIT for an epoch after <paramref name="after"/> (earlier ones are what admitted the client).</summary>
    private static async Task<Envelope> ReadUntilCommitOrErrorAsync(TestClient client, ulong after)
    {
        while (true)
        {
            var envelope = await client.ReadAsync() ?? throw new InvalidOperationException($"{client.Id}: connection closed");
            if (envelope.Type == MessageType.Error || (envelope.Type == MessageType.Commit && envelope.Epoch > after))
            {
                return envelope;
            }
        }
    }

    private static async Task<bool> ReadsToEndAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        try
        {
            while (await stream.ReadAsync(buffer, cancellationToken) > 0)
            {
                // a TLS alert may come first; keep reading until the close
            }

            return true;
        }
        catch (IOException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>The real server, three honest members chatting in "lobby", and mallory admitted with a genuine bundle of her own.</summary>
    private sealed class MalloryInTheRoom : IAsyncDisposable
    {
        private MalloryInTheRoom(TestServer server, HonestRoom room, TestMember keys, TestClient client) =>
            (Server, Room, Keys, Client) = (server, room, keys, client);

        public TestServer Server { get; }

        public HonestRoom Room { get; }

        public TestMember Keys { get; }

        public TestClient Client { get; }

        /// <summary>A rekey by mallory for the epoch after the honest members', with their roster and suite, continuing <paramref name="previous"/>.</summary>
        public SignedCommit Rekey(ByteString previous)
        {
            var alice = Room["alice"];
            return Keys.Commit("lobby", alice.Epoch + 1, alice.Roster.Select(m => m.Bundle), rekey: true, suite: alice.Suite, previous: previous);
        }

        /// <summary>An honest newcomer joins; returns once every member shares its epoch (the room still admits).</summary>
        public async Task<HonestMember> NewcomerAdmittedAsync()
        {
            var dave = await HonestMember.JoinAsync(Server, "dave", "lobby");
            try
            {
                await Eventually.TrueAsync(() => dave.Status == GroupStatus.Active && Room.Members.All(m => m.Epoch == dave.Epoch), "dave was admitted");
                return dave;
            }
            catch
            {
                await dave.DisposeAsync();
                throw;
            }
        }

        public static async Task<MalloryInTheRoom> StartAsync(ITestOutputHelper output, string tag)
        {
            var server = await TestServer.StartAsync(output);
            HonestRoom? room = null;
            var keys = new TestMember("mallory");
            try
            {
                room = await HonestRoom.FormAsync(server, "lobby", tag);
                return new MalloryInTheRoom(server, room, keys, await AdmitMalloryAsync(server, room, keys));
            }
            catch
            {
                keys.Dispose();
                if (room is not null)
                {
                    await room.DisposeAsync();
                }

                await server.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            Keys.Dispose();
            await Room.DisposeAsync();
            await Server.DisposeAsync();
        }
    }
}
