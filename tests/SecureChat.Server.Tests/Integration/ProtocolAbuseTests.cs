using System.Buffers.Binary;
using SecureChat.Core.Wire;
using SecureChat.Testing.Honest;
using SecureChat.Testing.Hosting;
using SecureChat.Testing.RawClients;
using Xunit.Abstractions;

namespace SecureChat.Server.Tests.Integration;

/// <summary>Hostile or broken clients against the real host; each time the others keep being served.</summary>
public sealed class ProtocolAbuseTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_spoofed_sender_id_is_refused_closed_and_logged_once_with_id_and_address()
    {
        await using var server = await TestServer.StartAsync(output);
        await using var alice = await server.ConnectAsync("alice");

        await alice.SendAsync(Frames.Hello("bob"));
        var frames = await alice.ReadUntilClosedAsync();

        var error = Assert.Single(frames).Error;
        Assert.Equal(ErrorCode.SenderMismatch, error.Code);
        Assert.True(error.Fatal);
        var logged = await server.Logs.WaitForAsync("Protocol violation by alice at 127.0.0.1:");
        Assert.Contains("SenderMismatch", logged, StringComparison.Ordinal);
        Assert.Equal(1, server.Logs.Count("Protocol violation by alice"));
    }

    [Fact]
    public async Task A_spoofed_sender_id_after_hello_is_refused_too()
    {
        await using var server = await TestServer.StartAsync(output);
        await using var alice = await server.ConnectAndHelloAsync("alice");

        await alice.SendAsync(Frames.Ping("bob", 1));

        var error = Assert.Single(await alice.ReadUntilClosedAsync()).Error;
        Assert.Equal(ErrorCode.SenderMismatch, error.Code);
    }

    [Fact]
    public async Task An_oversize_frame_gets_an_error_and_a_close_while_other_clients_go_on()
    {
        await using var server = await TestServer.StartAsync(output);
        await using var bob = await server.ConnectAndHelloAsync("bob");
        await using var alice = await server.ConnectAndHelloAsync("alice");
        var prefix = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(prefix, 10 * 1024 * 1024);

        await alice.SendRawAsync(prefix);
        var frames = await alice.ReadUntilClosedAsync();

        var error = Assert.Single(frames).Error;
        Assert.Equal(ErrorCode.FrameTooLarge, error.Code);
        Assert.True(error.Fatal);
        await bob.SendAsync(Frames.Ping("bob", 7));
        Assert.Equal(7ul, (await bob.ExpectAsync(MessageType.Pong)).Sequence);
        Assert.Contains("FrameTooLarge", await server.Logs.WaitForAsync("Protocol violation by alice"), StringComparison.Ordinal);
        Assert.Equal(1, server.Logs.Count("Protocol violation by alice"));
    }

    [Fact]
    public async Task A_garbage_frame_gets_an_error_and_the_same_connection_still_works()
    {
        await using var server = await TestServer.StartAsync(output);
        await using var bob = await server.ConnectAndHelloAsync("bob");
        await using var alice = await server.ConnectAndHelloAsync("alice");
        var garbage = new byte[4 + 12];
        BinaryPrimitives.WriteUInt32BigEndian(garbage, 12);
        garbage.AsSpan(4).Fill(0xFF);

        await alice.SendRawAsync(garbage);
        var error = (await alice.ExpectAsync(MessageType.Error)).Error;
        await alice.SendAsync(Frames.Ping("alice", 1));
        await bob.SendAsync(Frames.Ping("bob", 2));

        Assert.Equal(ErrorCode.MalformedFrame, error.Code);
        Assert.False(error.Fatal);
        Assert.Equal(1ul, (await alice.ExpectAsync(MessageType.Pong)).Sequence);
        Assert.Equal(2ul, (await bob.ExpectAsync(MessageType.Pong)).Sequence);
    }

    [Fact]
    public async Task Ciphertext_for_a_room_not_joined_is_refused()
    {
        await using var server = await TestServer.StartAsync(output);
        await using var alice = await server.ConnectAndHelloAsync("alice");

        await alice.SendAsync(Frames.Application("alice", "lobby", 1, 0));

        var error = (await alice.ExpectAsync(MessageType.Error)).Error;
        Assert.Equal(ErrorCode.NotAMember, error.Code);
        Assert.False(error.Fatal);
    }

    [Theory]
    [InlineData("OutboundQueueLength=4")] // the frame bound fills first
    [InlineData("OutboundQueueBytes=131072")] // the byte bound fills first: two 60 kB frames
    public async Task A_slow_consumer_is_disconnected_while_the_others_keep_receiving(string queueBound)
    {
        // A queue of 128 KiB must hold one largest frame, and 64 KiB frames one largest commit: rooms of at most 100 here.
        await using var server = await TestServer.StartAsync(output,
            queueBound, "MaxFrameBytes=65536", "MaxMembersPerRoom=100", "FramesPerSecond=100000", "FrameBurst=100000", "BytesPerSecond=1000000000", "ByteBurst=1000000000");
        using var aliceKeys = new TestMember("alice");
        using var bobKeys = new TestMember("bob");
        using var carolKeys = new TestMember("carol");
        await using var alice = await server.ConnectAndHelloAsync("alice");
        await using var bob = await server.ConnectAndHelloAsync("bob", receiveBufferBytes: 4096);
        await using var carol = await server.ConnectAndHelloAsync("carol");
        var (epoch, transcript) = await ChatRoom.FormAsync("lobby", [(alice, aliceKeys), (bob, bobKeys), (carol, carolKeys)]);

        // Bob stops reading. Alice sends in step with carol's reading, so carol is never behind, and reads her own
        // acknowledgements (relayed, then stored in the room's log), so that she is not the one whose queue fills.
        var sent = 0UL;
        while (server.Logs.Count("Slow consumer bob") == 0)
        {
            Assert.True(sent < 5000, "bob was never disconnected");
            await alice.SendAsync(Frames.Application("alice", "lobby", epoch, sent, ciphertextBytes: 60_000));
            var received = await carol.ExpectAsync(MessageType.Application);
            Assert.Equal(sent++, received.Sequence);
            await alice.ExpectAsync(MessageType.Relayed);
            await alice.ExpectAsync(MessageType.Stored);
        }

        // Carol still gets everything; bob's connection ends after what was buffered, and he stays a member, away (a
        // disconnect is not a leave: he may resume, or be removed after the absence limit).
        await alice.SendAsync(Frames.Application("alice", "lobby", epoch, sent, ciphertextBytes: 100));
        Assert.Equal(sent, (await carol.ReadUntilAsync(MessageType.Application)).Sequence);
        await bob.ReadUntilClosedAsync();
        await Eventually.TrueAsync(() => !server.RoomStateAsync("lobby").GetAwaiter().GetResult().Snapshot.Connected.Contains("bob"), "the room saw bob go");
        Assert.Contains("bob", (await server.RoomStateAsync("lobby")).Durable.Away.Select(a => a.ClientId));
    }

    [Fact]
    public async Task A_flooding_client_is_throttled_then_disconnected_while_others_are_served()
    {
        await using var server = await TestServer.StartAsync(output, "FramesPerSecond=20", "FrameBurst=20", "RateLimitStrikes=50");
        await using var bob = await server.ConnectAndHelloAsync("bob");
        await using var alice = await server.ConnectAndHelloAsync("alice");

        const int Flood = 2000;
        for (var i = 0UL; i < Flood; i++)
        {
            try
            {
                await alice.SendAsync(Frames.Ping("alice", i));
            }
            catch (IOException)
            {
                break; // the server already hung up
            }
        }

        var frames = await alice.ReadUntilClosedAsync();
        var errors = frames.Where(f => f.Type == MessageType.Error).Select(f => f.Error).ToList();
        Assert.Equal(ErrorCode.RateLimited, errors[0].Code);
        Assert.False(errors[0].Fatal);
        Assert.Contains(errors, e => e.Code == ErrorCode.RateLimited && e.Fatal);
        Assert.InRange(frames.Count(f => f.Type == MessageType.Pong), 1, Flood / 10);
        await bob.SendAsync(Frames.Ping("bob", 5));
        Assert.Equal(5ul, (await bob.ExpectAsync(MessageType.Pong)).Sequence);
    }
}
