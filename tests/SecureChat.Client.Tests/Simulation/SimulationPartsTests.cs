using System.Text.Json;
using SecureChat.Cli;
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
