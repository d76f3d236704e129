using Akka.Actor;
using SecureChat.Client;
using SecureChat.Client.Session;
using SecureChat.Testing.Hosting;

namespace SecureChat.Testing.RealClients;

/// <summary>
/// A real <see cref="ChatClient"/> (ClientSessionActor and all), usually against a <see cref="TestServer"/>, whose events
/// are all kept: a test waits for one seen at any time (<see cref="WaitForAsync{T}"/>) or for the next one in
/// order (<see cref="WaitForNextAsync{T}"/>).
/// </summary>
public sealed class TestChatClient : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private readonly List<ClientEvent> _events = [];
    private readonly Lock _gate = new();
    private readonly Task _pump;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _ended;
    private int _next;

    private TestChatClient(ChatClient client)
    {
        Client = client;
        _pump = Task.Run(PumpAsync);
    }

    public ChatClient Client { get; }

    public string Id => Client.ClientId;

    public IReadOnlyList<ClientEvent> Events { get { lock (_gate) { return [.. _events]; } } }

    public IReadOnlyList<MessageReceived> Received => Events.OfType<MessageReceived>().ToList();

    /// <summary>Starts a client in <paramref name="system"/> straight to <paramref name="server"/>'s port.</summary>
    public static TestChatClient Start(TestServer server, ActorSystem system, string clientId) => Start(server.ChatClientOptions(clientId), system);

    public static TestChatClient Start(ClientOptions options, ActorSystem system) => new(ChatClient.Start(options, system));

    /// <summary>The first event of type <typeparamref name="T"/> (matching <paramref name="match"/>) this client has seen, waiting for it if need be.</summary>
    public Task<T> WaitForAsync<T>(Func<T, bool>? match = null, TimeSpan? timeout = null)
        where T : ClientEvent => FindAsync(match, timeout, next: false);

    /// <summary>Like <see cref="WaitForAsync{T}"/>, but only among the events after the one the previous call of this method returned.</summary>
    public Task<T> WaitForNextAsync<T>(Func<T, bool>? match = null, TimeSpan? timeout = null)
        where T : ClientEvent => FindAsync(match, timeout, next: true);

    private async Task<T> FindAsync<T>(Func<T, bool>? match, TimeSpan? timeout, bool next)
        where T : ClientEvent
    {
        using var deadline = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                for (var i = next ? _next : 0; i < _events.Count; i++)
                {
                    if (_events[i] is T found && (match?.Invoke(found) ?? true))
                    {
                        if (next)
                        {
                            _next = i + 1;
                        }

                        return found;
                    }
                }

                if (_ended)
                {
                    throw new InvalidOperationException($"{Id}: events ended before a {typeof(T).Name}; saw: {Recent()}");
                }

                changed = _changed.Task;
            }

            try
            {
                await changed.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                lock (_gate)
                {
                    throw new TimeoutException($"{Id}: no {typeof(T).Name} in time; saw: {Recent()}");
                }
            }
        }
    }

    private string Recent() => string.Join(" | ", _events.TakeLast(15));

    private async Task PumpAsync()
    {
        await foreach (var e in Client.Events.ReadAllAsync())
        {
            Signal(() => _events.Add(e));
        }

        Signal(() => _ended = true);
    }

    private void Signal(Action change)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            change();
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.SetResult();
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await _pump;
    }
}
