using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using SecureChat.Server.Listener;
using SecureChat.Server.Storage;

namespace SecureChat.Server.Diagnostics;

/// <summary>
/// Whether this node should be sent clients (<c>/readyz</c>): its client listener is bound, its node is Up in its
/// cluster, and the room journal answers a query. The journal's answer is kept for <see cref="JournalCheckInterval"/>,
/// so that a probe every second costs the database one query in a few seconds.
/// </summary>
public sealed class Readiness : IDisposable
{
    public static readonly TimeSpan JournalCheckInterval = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan JournalCheckTimeout = TimeSpan.FromSeconds(3);

    private readonly ListenerStatus _listener;
    private readonly IServiceProvider _services;
    private readonly TimeProvider _clock;
    private readonly SemaphoreSlim _journalCheck = new(1, 1);
    private (DateTimeOffset At, string? Problem)? _journal;
    private volatile ActorSystem? _system;

    public Readiness(ListenerStatus listener, IServiceProvider services, TimeProvider clock)
    {
        _listener = listener;
        _services = services;
        _clock = clock;
    }

    public void Dispose() => _journalCheck.Dispose();

    /// <summary>The actor system, once it has started.</summary>
    public ActorSystem? ActorSystem => _system;

    internal void ActorSystemStarted(ActorSystem system) => _system = system;

    /// <summary>Null when ready; else the first thing missing, in words.</summary>
    public async Task<string?> ProblemAsync(CancellationToken cancellationToken)
    {
        if (!_listener.Bound.IsCompletedSuccessfully)
        {
            return "the client listener is not bound yet";
        }

        if (_system is not { } system)
        {
            return "the actor system has not started";
        }

        var self = Akka.Cluster.Cluster.Get(system).SelfMember;
        if (self.Status != Akka.Cluster.MemberStatus.Up)
        {
            return $"this node is {self.Status} in its cluster, not Up";
        }

        return await JournalProblemAsync(cancellationToken).ConfigureAwait(false) is { } journal ? $"the room journal does not answer: {journal}" : null;
    }

    private async Task<string?> JournalProblemAsync(CancellationToken cancellationToken)
    {
        await _journalCheck.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _clock.GetUtcNow();
            if (_journal is { } known && now - known.At < JournalCheckInterval)
            {
                return known.Problem;
            }

            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(JournalCheckTimeout);
            var problem = await _services.GetRequiredService<RoomStorage>().ProbeAsync(deadline.Token).ConfigureAwait(false);
            _journal = (_clock.GetUtcNow(), problem);
            return problem;
        }
        finally
        {
            _journalCheck.Release();
        }
    }
}
