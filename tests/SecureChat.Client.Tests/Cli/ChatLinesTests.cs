using SecureChat.Cli.Chat;
using SecureChat.Client.Session;

namespace SecureChat.Client.Tests.Cli;

/// <summary>The chat's own lines: time stamps, delivery marks, the status row, the words for a lost connection.</summary>
public sealed class ChatLinesTests
{
    [Fact]
    public void Every_line_starts_with_the_local_time_to_the_second()
    {
        var at = new DateTimeOffset(2026, 5, 1, 9, 4, 7, TimeSpan.Zero).ToLocalTime();
        Assert.Equal($"{at:HH:mm:ss} * connected as alice", ChatLines.Stamped(at, "* connected as alice"));
        Assert.Matches(@"^\d\d:\d\d:\d\d x$", ChatLines.Stamped(DateTimeOffset.Now, "x"));
    }

    [Fact]
    public void An_own_message_carries_its_delivery_mark()
    {
        Assert.Equal("[dev] alice: hi  … queued", ChatLines.Own("dev", "alice", "hi", new Delivery.Queued()));
        Assert.Equal("[dev] alice: hi  → sent", ChatLines.Own("dev", "alice", "hi", new Delivery.Sent()));
        Assert.Equal("[dev] alice: hi  → relayed", ChatLines.Own("dev", "alice", "hi", new Delivery.Relayed()));
        Assert.Equal("[dev] alice: hi  ✓ stored", ChatLines.Own("dev", "alice", "hi", new Delivery.Stored()));
        Assert.Equal("[dev] alice: hi  ✗ not delivered: the connection dropped", ChatLines.Own("dev", "alice", "hi", new Delivery.Failed("the connection dropped")));
    }

    [Fact]
    public void A_follow_up_names_the_message_and_cuts_a_long_one()
    {
        Assert.Equal("[dev] ✓ stored: your \"hi\"", ChatLines.FollowUp("dev", "hi", new Delivery.Stored()));
        var longText = new string('x', 200);
        Assert.Equal("[dev] → sent: your \"" + new string('x', MessageNotDelivered.MaxPreviewLength - 3) + "...\"",
            ChatLines.FollowUp("dev", longText, new Delivery.Sent()));
    }

    [Fact]
    public void The_status_row_shows_the_connection_the_current_room_with_its_code_and_unread_elsewhere()
    {
        var unread = new Dictionary<string, int> { ["lobby"] = 2, ["dev"] = 5, ["ops"] = 0, ["zoo"] = 1 };
        Assert.Equal("alice · online │ dev · epoch 3 · code 12345 67890 │ unread: lobby 2, zoo 1",
            ChatLines.Status(new StatusInfo("alice", "online", "dev", 3, "12345 67890", unread)));
        Assert.Equal("alice · connecting │ dev · no keys yet", ChatLines.Status(new StatusInfo("alice", "connecting", "dev", 0, null, new Dictionary<string, int>())));
        Assert.Equal("alice · online │ no room: /join ROOM", ChatLines.Status(new StatusInfo("alice", "online", null, 0, null, new Dictionary<string, int>())));
    }

    [Fact]
    public void A_client_that_never_connected_could_not_connect_and_later_attempts_are_for_the_status_row()
    {
        var down = new Disconnected(DisconnectCause.LinkFailed, "cannot reach 127.0.0.1:1: ConnectionRefused", TimeSpan.FromSeconds(2));
        Assert.Equal("! could not connect (cannot reach 127.0.0.1:1: ConnectionRefused); reconnecting in 2 s", ChatLines.ConnectionLost(down, everConnected: false));
        Assert.Equal("! connection lost (cannot reach 127.0.0.1:1: ConnectionRefused); reconnecting in 2 s", ChatLines.ConnectionLost(down, everConnected: true));
        Assert.Equal("offline, retry #3 in 2 s (cannot reach 127.0.0.1:1: ConnectionRefused)", ChatLines.Offline(down, 3));
        Assert.Equal("stopped (x)", ChatLines.Offline(down with { Detail = "x", RetryIn = null }, 1));
    }
}
