using System.Text.Json;
using SecureChat.Cli;
using SecureChat.Cli.Simulate;
using SecureChat.Client.Simulation;

namespace SecureChat.Client.Tests.Simulation;

public sealed class SimulationPartsTests
{
    [Fact]
    public void A_message_text_carries_its_id_and_send_time_and_is_padded_to_the_size()
    {
        var text = SimulationMessage.Format(1234, 987654321, 100);

        Assert.Equal(100, text.Length);
        Assert.True(SimulationMessage.TryParse(text, out var id, out var sentAt));
        Assert.Equal((1234L, 987654321L), (id, sentAt));
        Assert.False(SimulationMessage.TryParse("hello", out _, out _));
    }

    [Fact]
    public void Percentiles_are_nearest_rank()
    {
        var recorder = new LatencyRecorder();
        for (var ms = 100; ms >= 1; ms--)
        {
            recorder.Record(TimeSpan.FromMilliseconds(ms));
        }

        Assert.Equal(50, recorder.Percentile(50));
        Assert.Equal(99, recorder.Percentile(99));
        Assert.Equal(100, recorder.Max());
        Assert.Equal(0, new LatencyRecorder().Percentile(50));
    }

    [Fact]
    public void The_json_report_has_the_documented_keys_and_fails_on_any_loss()
    {
        var report = new SimulationReport
        {
            Sent = 10,
            Expected = 20,
            Delivered = 19,
            Lost = 1,
            LatencyMs = new PercentilesMs(1, 2, 3),
            JoinMs = new PercentilesMs(4, 5, 6),
        };

        using var json = JsonDocument.Parse(report.ToJson());
        var root = json.RootElement;
        foreach (var key in new[] { "sent", "expected", "delivered", "lost", "not_delivered", "duplicates", "decryptFailures", "messagesPerSecond" })
        {
            Assert.True(root.TryGetProperty(key, out _), key);
        }

        Assert.Equal(2, root.GetProperty("latencyMs").GetProperty("p99").GetDouble());
        Assert.Equal(4, root.GetProperty("joinMs").GetProperty("p50").GetDouble());
        Assert.False(root.GetProperty("passed").GetBoolean());
        Assert.True((report with { Lost = 0, Delivered = 20 }).Passed);
        Assert.False((report with { Lost = 0, Delivered = 19, NotDelivered = 1 }).Passed);
        Assert.Equal(1, JsonDocument.Parse((report with { NotDelivered = 1 }).ToJson()).RootElement.GetProperty("not_delivered").GetInt64());
    }

    [Fact]
    public void The_json_report_names_each_room_with_the_epoch_it_ended_at()
    {
        var report = new SimulationReport
        {
            Rooms = [new RoomReport("load-0", 3), new RoomReport("load-1", 5)],
            LatencyMs = new PercentilesMs(1, 2, 3),
            JoinMs = new PercentilesMs(4, 5, 6),
        };

        using var json = JsonDocument.Parse(report.ToJson());
        var rooms = json.RootElement.GetProperty("rooms").EnumerateArray().Select(r => (r.GetProperty("name").GetString(), r.GetProperty("epoch").GetUInt64()));
        Assert.Equal([("load-0", 3UL), ("load-1", 5UL)], rooms);
        Assert.Contains("room epochs         load-0 3, load-1 5", report.ToText(), StringComparison.Ordinal);
    }

    [Fact]
    public void Simulate_reads_a_server_list_a_room_prefix_and_an_ack_timeout_from_its_command_line()
    {
        var args = SimulateCommand.ReadArguments(SimulateCommand.Create().Parse(
            ["--server", "a.example:1, b.example:2,[::1]:3", "--clients", "6", "--rooms", "3", "--room-prefix", "load", "--ack-timeout", "2.5"]));

        Assert.Equal(("a.example:1, b.example:2,[::1]:3", 6, 3, "load", 2.5), (args.Server, args.Clients, args.Rooms, args.RoomPrefix, args.AckTimeoutSeconds));
        var options = Assert.IsType<SimulationOptions>(SimulateCommand.TryOptions(args, out _));
        Assert.Equal(["load-0", "load-1", "load-2"], Enumerable.Range(0, options.Rooms).Select(options.RoomName));
        Assert.True(Endpoint.TryParseList(args.Server, out var servers, out _));
        Assert.Equal(["a.example:1", "b.example:2", "::1:3"], servers.Select(e => $"{e.Host}:{e.Port}"));

        var defaults = SimulateCommand.ReadArguments(SimulateCommand.Create().Parse([]));
        Assert.Equal((null, "sim-room", 10.0), (defaults.Server, defaults.RoomPrefix, defaults.AckTimeoutSeconds));
        Assert.Equal("sim-room-0", SimulateCommand.TryOptions(defaults, out _)!.RoomName(0));
    }

    [Theory]
    [InlineData("--room-prefix", "no spaces")]
    [InlineData("--room-prefix", "a/b")]
    [InlineData("--ack-timeout", "0")]
    [InlineData("--rooms", "11")]
    public void Simulate_refuses_options_out_of_bounds_with_a_reason(string option, string value)
    {
        var args = SimulateCommand.ReadArguments(SimulateCommand.Create().Parse([option, value]));

        Assert.Null(SimulateCommand.TryOptions(args, out var problem));
        Assert.NotEmpty(problem);
    }

    [Fact]
    public void A_room_prefix_is_refused_only_when_the_last_rooms_name_would_not_be_a_room_id()
    {
        var options = new SimulationOptions { Clients = 10, Rooms = 10, RoomPrefix = new string('p', 61) };
        options.Validate(); // "p…p-9" is 63 characters
        Assert.Throws<ArgumentOutOfRangeException>(() => (options with { RoomPrefix = new string('p', 63) }).Validate());
    }

    [Fact]
    public void Clients_are_spread_round_robin_over_the_servers_and_each_moves_along_the_rest_of_the_list()
    {
        string[] servers = ["a", "b", "c"];

        Assert.Equal(["a", "b", "c"], SimulationOptions.ServerOrderFor(servers, 0));
        Assert.Equal(["b", "c", "a"], SimulationOptions.ServerOrderFor(servers, 1));
        Assert.Equal(["c", "a", "b"], SimulationOptions.ServerOrderFor(servers, 5));
        Assert.Equal(["a", "b", "c"], SimulationOptions.ServerOrderFor(servers, 6));
        Assert.Equal(["only"], SimulationOptions.ServerOrderFor(["only"], 7));
    }

    [Theory]
    [InlineData("a:1,,b:2")]
    [InlineData("a:1,b")]
    [InlineData("")]
    public void A_server_list_with_a_bad_entry_is_refused(string text)
    {
        Assert.False(Endpoint.TryParseList(text, out var servers, out var problem));
        Assert.Empty(servers);
        Assert.NotEmpty(problem);
    }

    [Theory]
    [InlineData("127.0.0.1:4443", "127.0.0.1", 4443)]
    [InlineData("chat.example.org:1", "chat.example.org", 1)]
    [InlineData("[::1]:4443", "::1", 4443)]
    public void Server_addresses_parse(string text, string host, int port)
    {
        Assert.True(Endpoint.TryParse(text, out var endpoint, out _));
        Assert.Equal((host, port), (endpoint.Host, endpoint.Port));
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("localhost:")]
    [InlineData("localhost:70000")]
    [InlineData(":4443")]
    public void Bad_server_addresses_are_refused_with_a_reason(string text)
    {
        Assert.False(Endpoint.TryParse(text, out _, out var problem));
        Assert.NotEmpty(problem);
    }
}
