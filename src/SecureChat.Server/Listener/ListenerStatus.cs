using System.Net;

namespace SecureChat.Server.Listener;

/// <summary>Where the listener is bound (tests read the port chosen for port 0) and how many connections are open.</summary>
public sealed class ListenerStatus
{
    private readonly TaskCompletionSource<IPEndPoint> _bound = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _openConnections;

    /// <summary>Completes with the bound endpoint once the listener accepts connections.</summary>
    public Task<IPEndPoint> Bound => _bound.Task;

    /// <summary>Connections open right now, TLS handshakes in progress included.</summary>
    public int OpenConnections => Volatile.Read(ref _openConnections);

    internal void SetBound(IPEndPoint endpoint) => _bound.TrySetResult(endpoint);

    internal void SetFailed(Exception error) => _bound.TrySetException(error);

    internal bool TryOpen(int max)
    {
        while (true)
        {
            var current = Volatile.Read(ref _openConnections);
            if (current >= max)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _openConnections, current + 1, current) == current)
            {
                return true;
            }
        }
    }

    internal void Closed() => Interlocked.Decrement(ref _openConnections);
}
