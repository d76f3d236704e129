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
        foreach (var key in new[]
                 {
                     "sent", "expected", "delivered", "lost", "reported_failed", "not_delivered", "duplicates", "decryptFailures", "messagesPerSecond",
                     "disconnects", "reconnects", "resumes", "churned", "copiesDropped",
                 })
        {
            Assert.True(root.TryGetProperty(key, out _), key);
        }

        Assert.Equal(2, root.GetProperty("latencyMs").GetProperty("p99").GetDouble());
        Assert.Equal(4, root.GetProperty("joinMs").GetProperty("p50").GetDouble());
        Assert.False(root.GetProperty("passed").GetBoolean());
        Assert.True((report with { Lost = 0, Delivered = 20 }).Passed);
        Assert.False((report with { Lost = 0, Delivered = 19, NotDelivered = 1 }).Passed);
        Assert.False((report with { Lost = 0, Delivered = 19, ReportedFailed = 1 }).Passed);
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
        Assert.Contains("room epochs         load-0 3, load-1 5", ReportText.Format(report), StringComparison.Ordinal);
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
    [InlineData("--churn", "1.5")]
    [InlineData("--churn", "-0.1")]
    [InlineData("--churn-pause", "-1")]
    public void Simulate_refuses_options_out_of_bounds_with_a_reason(string option, string value)
    {
        var args = SimulateCommand.ReadArguments(SimulateCommand.Create().Parse([option, value]));

        Assert.Null(SimulateCommand.TryOptions(args, out var problem));
        Assert.NotEmpty(problem);
    }

    [Fact]
    public void The_summary_states_what_was_lost_reported_failed_duplicated_and_how_often_clients_reconnected()
    {
        var text = ReportText.Format(new SimulationReport
        {
            Expected = 10, Delivered = 7, Lost = 1, ReportedFailed = 2, NotDelivered = 1, Duplicates = 3,
            Disconnects = 4, Reconnects = 4, Resumes = 4, Churned = 2, CopiesDropped = 5,
            LatencyMs = new PercentilesMs(1, 2, 3),
            JoinMs = new PercentilesMs(4, 5, 6),
        });

        Assert.Contains("lost                1 (senders not told)", text, StringComparison.Ordinal);
        Assert.Contains("reported failed     2 deliveries of 1 messages (their senders were told)", text, StringComparison.Ordinal);
        Assert.Contains("duplicates          3", text, StringComparison.Ordinal);
        Assert.Contains("reconnects          4 after 4 lost connections (2 churned clients); 4 rooms resumed, 5 resent copies dropped", text,
            StringComparison.Ordinal);
        Assert.EndsWith("result              FAILED", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Simulate_reads_the_churn_fraction_and_pause_and_drops_that_fraction_of_the_clients_rounded()
    {
        var args = SimulateCommand.ReadArguments(SimulateCommand.Create().Parse(["--clients", "7", "--churn", "0.5", "--churn-pause", "2.5"]));
        var options = Assert.IsType<SimulationOptions>(SimulateCommand.TryOptions(args, out _));

        Assert.Equal((0.5, TimeSpan.FromSeconds(2.5), 4), (options.Churn, options.ChurnPause, options.ChurnedClients));
        Assert.Equal(0, SimulateCommand.TryOptions(SimulateCommand.ReadArguments(SimulateCommand.Create().Parse([])), out _)!.ChurnedClients);
    }

    [Fact]
    public void The_ledger_counts_each_message_once_per_receiver_as_delivered_reported_failed_or_lost_and_every_further_copy_as_a_duplicate()
    {
        // Clients 0, 1, 2 in room 0 and client 3 alone in room 1; two messages each.
        var ledger = new DeliveryLedger([0, 0, 0, 1], messagesPerClient: 2);
        Assert.Equal(12, ledger.Expected); // 3 senders × 2 messages × 2 receivers; client 3 has no one to send to

        Assert.True(ledger.Receive(1, ledger.MessageId(0, 0)));
        Assert.False(ledger.Receive(1, ledger.MessageId(0, 0))); // a copy shown again
        Assert.True(ledger.Receive(2, ledger.MessageId(0, 0)));
        Assert.True(ledger.Settled(ledger.MessageId(0, 0)));
        Assert.False(ledger.Settled(ledger.MessageId(0, 1)));
        ledger.ReportFailed(ledger.MessageId(0, 1)); // its sender was told
        Assert.True(ledger.Settled(ledger.MessageId(0, 1)));
        Assert.True(ledger.Receive(2, ledger.MessageId(0, 1))); // one receiver got it after all
        Assert.True(ledger.Receive(0, ledger.MessageId(1, 0)));

        var counts = ledger.Count();
        Assert.Equal((12L, 4L, 1L, 7L, 1L, 1L), (counts.Expected, counts.Delivered, counts.ReportedFailed, counts.Lost, counts.Duplicates, counts.NotDeliveredMessages));
        Assert.Equal(counts.Expected, counts.Delivered + counts.ReportedFailed + counts.Lost);
        Assert.Contains(new LostDelivery(Receiver: 2, Sender: 1, Sequence: 0), counts.LostExamples);
        Assert.Equal(5, ledger.Accounted); // 0/0 delivered to both, 0/1 reported (for both receivers), 1/0 to one
    }

    [Fact]
    public void The_ledger_refuses_a_message_its_receiver_should_not_get()
    {
        var ledger = new DeliveryLedger([0, 0, 1, 1], messagesPerClient: 2);

        Assert.False(ledger.Expects(0, ledger.MessageId(0, 1))); // its own
        Assert.False(ledger.Expects(0, ledger.MessageId(2, 0))); // another room's
        Assert.False(ledger.Expects(0, 8)); // not an id of this run
        Assert.True(ledger.Expects(0, ledger.MessageId(1, 1)));
        Assert.True(ledger.IsFrom(1, ledger.MessageId(1, 1)));
        Assert.Throws<ArgumentException>(() => ledger.Receive(0, ledger.MessageId(2, 0)));
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
