using System.Net;
using Microsoft.Extensions.DependencyInjection;
using SecureChat.Server.Diagnostics;
using SecureChat.Testing.Honest;
using SecureChat.Testing.Hosting;
using Xunit.Abstractions;

namespace SecureChat.Server.Tests.Diagnostics;

/// <summary>The health endpoints of the real host in process (<c>--metrics</c> on a free port).</summary>
public sealed class ReadinessTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_node_whose_journal_stops_answering_stays_alive_but_is_no_longer_ready()
    {
        using var data = new TempDirectory();
        await using var server = await TestServer.StartAsync(output, "--metrics=127.0.0.1:0", $"--data={data.Path}");
        var endpoint = server.Services.GetRequiredService<MetricsEndpoint>().Endpoint;
        Assert.NotNull(endpoint);
        using var http = new HttpClient { Timeout = Timeout };
        await UntilAsync(http, endpoint, HttpStatusCode.OK);

        Directory.Delete(data.Path, recursive: true); // the SQLite journal with it

        var body = await UntilAsync(http, endpoint, HttpStatusCode.ServiceUnavailable);
        Assert.StartsWith("not ready: the room journal does not answer: ", body, StringComparison.Ordinal);
        Assert.Equal((HttpStatusCode.OK, "alive\n"), await MetricsScrape.GetAsync(http, endpoint, "/healthz"));
    }

    [Fact]
    public async Task Without_metrics_nothing_listens_for_them()
    {
        await using var server = await TestServer.StartAsync(output);

        Assert.Null(server.Services.GetRequiredService<MetricsEndpoint>().Endpoint);
    }

    /// <summary>Asks <c>/readyz</c> until it answers <paramref name="status"/> (the journal's answer is kept for 2 s); its body.</summary>
    private static async Task<string> UntilAsync(HttpClient http, IPEndPoint endpoint, HttpStatusCode status)
    {
        var body = "";
        await Eventually.TrueAsync(async () =>
        {
            (var answered, body) = await MetricsScrape.GetAsync(http, endpoint, "/readyz");
            return answered == status;
        }, $"/readyz answers {(int)status}", Timeout);
        return body;
    }
}
