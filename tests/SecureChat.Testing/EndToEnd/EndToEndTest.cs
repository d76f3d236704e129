using Akka.Actor;
using SecureChat.Client;
using SecureChat.Testing.Hosting;

namespace SecureChat.Testing.EndToEnd;

/// <summary>
/// A real server on a loopback port and an actor system for the clients, started before each test and
/// stopped after it: the common ground of the end-to-end tests.
/// </summary>
public abstract class EndToEndTest(string systemName) : IAsyncLifetime
{
    protected ActorSystem System { get; } = ActorSystem.Create(systemName, ClientHocon.Quiet);

    protected TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await TestServer.StartAsync();

    public async Task DisposeAsync()
    {
        await System.Terminate();
        await Server.DisposeAsync();
    }
}
