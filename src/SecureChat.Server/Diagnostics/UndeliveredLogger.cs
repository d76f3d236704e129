using Akka.Actor;
using Akka.Event;
using Akka.Hosting;

namespace SecureChat.Server.Diagnostics;

/// <summary>
/// Logs messages Akka could not deliver (a frame for a connection that has just closed, mostly), in place of Akka's own
/// dead-letter log (off in server.hocon). While the server shuts down every one is expected and goes to Debug; while it
/// runs the first <see cref="InfoLines"/> go to Info, enough to notice a pattern, and the rest to Debug.
/// </summary>
public sealed class UndeliveredLogger : ReceiveActor
{
    public const int InfoLines = 10;

    private readonly Func<bool> _shuttingDown;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private long _whileRunning;

    public UndeliveredLogger(Func<bool> shuttingDown)
    {
        _shuttingDown = shuttingDown;
        Receive<AllDeadLetters>(OnUndelivered);
    }

    public static Props Props(Func<bool> shuttingDown) => Akka.Actor.Props.Create(() => new UndeliveredLogger(shuttingDown));

    /// <summary>The level of the <paramref name="seen"/>th undelivered message (1-based) of a running server, or of one shutting down.</summary>
    public static LogLevel LevelFor(bool shuttingDown, long seen) => shuttingDown || seen > InfoLines ? LogLevel.DebugLevel : LogLevel.InfoLevel;

    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(AllDeadLetters));

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    private void OnUndelivered(AllDeadLetters undelivered)
    {
        var shuttingDown = _shuttingDown();
        var level = LevelFor(shuttingDown, shuttingDown ? 0 : ++_whileRunning);
        if (!_log.IsEnabled(level))
        {
            return;
        }

        // The message's type only: a frame's bytes are the clients' business.
        var note = shuttingDown ? " (shutting down)" : _whileRunning == InfoLines ? "; further ones are logged at Debug" : "";
        _log.Log(level, null, $"Undelivered {undelivered.Message.GetType().Name} to {undelivered.Recipient}{note}");
    }
}

public static class UndeliveredLoggerHosting
{
    /// <summary>Starts the <see cref="UndeliveredLogger"/>, which knows shutdown from CoordinatedShutdown having begun.</summary>
    public static AkkaConfigurationBuilder AddUndeliveredLogger(this AkkaConfigurationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithActors((system, _) =>
        {
            var shutdown = CoordinatedShutdown.Get(system);
            system.ActorOf(UndeliveredLogger.Props(() => shutdown.ShutdownReason is not null), "undelivered");
        });
    }
}
