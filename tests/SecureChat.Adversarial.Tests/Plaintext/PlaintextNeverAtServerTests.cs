using Google.Protobuf;
using SecureChat.Core.Wire;
using SecureChat.Testing.Honest;
using SecureChat.Testing.Hosting;
using Xunit.Abstractions;

namespace SecureChat.Adversarial.Tests.Plaintext;

/// <summary>
/// Runs a conversation with unique marker strings through the real server and searches everything the server
/// handled for them: every byte it decrypted from or encrypted to each client's TLS connection (recorded at the
/// TLS plaintext level, i.e. exactly the frames the server parsed and wrote) and every line it logged.
/// </summary>
public sealed class PlaintextNeverAtServerTests(ITestOutputHelper output)
{
    [Fact]
    public async Task No_message_plaintext_appears_in_any_frame_the_server_handled_or_in_its_log()
    {
        var capture = new ByteLog();
        var markers = new List<string>();
        LogCollector logs;
        await using (var server = await TestServer.StartAsync(output, "--Logging:LogLevel:Default=Debug"))
        {
            logs = server.Logs;
            await using var room = await HonestRoom.FormAsync(server, "market", "chat", capture, "alice", "bob", "carol");
            foreach (var member in room.Members)
            {
                for (var i = 0; i < 5; i++)
                {
                    var marker = $"MARKER {member.Id} {i} {Guid.NewGuid():N} — geheime Nachricht ✓";
                    markers.Add(marker);
                    await member.SendTextAsync(marker);
                }
            }

            // A member joins mid-conversation (a commit with wraps) and everyone talks again.
            await using var dave = await HonestMember.JoinAsync(server, "dave", "market", capture);
            // Everyone at dave's epoch first: a line sent in the epoch before his join is, by design, not his to read.
            await Eventually.TrueAsync(() => dave.Status == Protocol.Group.GroupStatus.Active && room.Members.All(m => m.Epoch == dave.Epoch), "dave joined");
            var afterJoin = $"MARKER after-join {Guid.NewGuid():N}";
            markers.Add(afterJoin);
            await room["bob"].SendTextAsync(afterJoin);

            await Eventually.TrueAsync(() => room["alice"].HasDelivered("bob", afterJoin) && dave.HasDelivered("bob", afterJoin)
                                             && markers.Take(15).All(m => room.Members.Count(x => x.HasDelivered(m.Split(' ')[1], m)) == 2),
                "every marker reached the other members");

        }

        // Searched after the server stopped, so its shutdown and dead-letter lines are included.
        var bytes = capture.ToArray();
        var lines = logs.Lines;
        output.WriteLine($"captured {bytes.Length} bytes of frames and {lines.Count} log lines");

        // The capture is real: it holds the room id in clear and plenty of traffic; the log names the room.
        Assert.True(bytes.Length > 10_000, "the capture is too small to mean anything");
        Assert.NotEmpty(MarkerForms.FoundIn(bytes, "market"));
        Assert.Contains(lines, l => l.Contains("Room market", StringComparison.Ordinal));

        foreach (var marker in markers)
        {
            Assert.Empty(MarkerForms.FoundIn(bytes, marker));
            Assert.Empty(MarkerForms.FoundIn(lines, marker));
            var randomPart = System.Text.RegularExpressions.Regex.Match(marker, "[0-9a-f]{32}").Value;
            Assert.Empty(MarkerForms.FoundIn(bytes, randomPart)); // not even the random part alone
            Assert.Empty(MarkerForms.FoundIn(lines, randomPart));
        }
    }

    [Fact]
    public async Task Sanity_the_search_finds_a_marker_that_a_client_does_send_in_clear()
    {
        var capture = new ByteLog();
        await using var server = await TestServer.StartAsync(output);
        var roomMarker = "room-" + Guid.NewGuid().ToString("N");
        await using var room = await HonestRoom.FormAsync(server, roomMarker, "chat", capture, "alice", "bob");

        // A broken client: an APPLICATION frame whose "ciphertext" is the plaintext itself.
        var clear = $"MARKER in clear {Guid.NewGuid():N} ✓";
        await room["alice"].SendAsync(new Envelope
        {
            Version = WireLimits.ProtocolVersion, Type = MessageType.Application, SenderId = "alice", RoomId = roomMarker, Epoch = room["alice"].Epoch,
            CipherSuite = room["alice"].Suite, Nonce = ByteString.CopyFrom(new byte[12]), HistoryTag = ByteString.CopyFrom(new byte[8]),
            Ciphertext = ByteString.CopyFrom(System.Text.Encoding.UTF8.GetBytes(clear)),
        });
        await Eventually.TrueAsync(() => room["bob"].RefusedMessages.Count == 1, "bob got (and refused) the clear frame");

        var bytes = capture.ToArray();
        Assert.Contains("utf-8", MarkerForms.FoundIn(bytes, clear));
        Assert.Contains("utf-8", MarkerForms.FoundIn(bytes, roomMarker));
        Assert.Contains("base64+1", MarkerForms.FoundIn(System.Text.Encoding.ASCII.GetBytes("xx" + Convert.ToBase64String([7, .. System.Text.Encoding.UTF8.GetBytes(clear)])), clear));
        Assert.NotEmpty(MarkerForms.FoundIn(server.Logs.Lines.Append($"a careless log line: {clear}"), clear));
    }
}
