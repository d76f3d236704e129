namespace SecureChat.Cli.Simulate;

/// <summary>A relay server started inside this process on a free loopback port (from the server branch's host builder).</summary>
internal sealed class InProcessServer : IAsyncDisposable
{
    private InProcessServer(Endpoint endpoint) => Endpoint = endpoint;

    public Endpoint Endpoint { get; }

    public static Task<InProcessServer> StartAsync(string certsDirectory, CancellationToken cancellationToken)
    {
        _ = certsDirectory;
        _ = cancellationToken;
        throw new InvalidOperationException("the in-process server is not available in this build yet; pass --server HOST:PORT of a running server");
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
