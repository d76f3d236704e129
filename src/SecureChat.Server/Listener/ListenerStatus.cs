using System.Net;
using Microsoft.Extensions.Options;
using SecureChat.Server.Configuration;

namespace SecureChat.Server.Listener;

/// <summary>Where the listener is bound (tests read the port chosen for port 0), and who it admits (<see cref="ConnectionAdmission"/>).</summary>
public sealed class ListenerStatus
{
    private readonly TaskCompletionSource<IPEndPoint> _bound = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ListenerStatus(IOptions<ServerOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Admission = new ConnectionAdmission(options.Value.ToAdmissionLimits());
    }

    /// <summary>Completes with the bound endpoint once the listener accepts connections.</summary>
    public Task<IPEndPoint> Bound => _bound.Task;

    /// <summary>Connections admitted and open, and handshakes in progress, in all and per address.</summary>
    public ConnectionAdmission Admission { get; }

    /// <summary>Connections open right now, TLS handshakes in progress included.</summary>
    public int OpenConnections => Admission.OpenConnections;

    internal void SetBound(IPEndPoint endpoint) => _bound.TrySetResult(endpoint);

    internal void SetFailed(Exception error) => _bound.TrySetException(error);
}
