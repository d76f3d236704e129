using Akka.Actor;
using Akka.Event;
using Akka.TestKit.Xunit2;
using SecureChat.Server.Diagnostics;

namespace SecureChat.Server.Tests.Diagnostics;

/// <summary>Undeliverable messages: a few at Info while the server runs, every one at Debug while it shuts down.</summary>
public sealed class UndeliveredLoggerTests() : TestKit("akka.loglevel = DEBUG")
{
    [Fact]
    public void While_running_the_first_ones_are_info_and_the_rest_debug()
    {
        Assert.Equal(LogLevel.InfoLevel, UndeliveredLogger.LevelFor(shuttingDown: false, 1));
        Assert.Equal(LogLevel.InfoLevel, UndeliveredLogger.LevelFor(shuttingDown: false, UndeliveredLogger.InfoLines));
        Assert.Equal(LogLevel.DebugLevel, UndeliveredLogger.LevelFor(shuttingDown: false, UndeliveredLogger.InfoLines + 1));
        Assert.Equal(LogLevel.DebugLevel, UndeliveredLogger.LevelFor(shuttingDown: true, 1));
    }

    [Fact]
    public void During_shutdown_an_undelivered_frame_is_logged_at_debug_not_info()
    {
        var shuttingDown = false;
        var logger = Sys.ActorOf(UndeliveredLogger.Props(() => Volatile.Read(ref shuttingDown)));
        var gone = Sys.ActorOf(Props.Empty);
        Watch(gone);
        Sys.Stop(gone);
        ExpectTerminated(gone);
        AwaitAssert(() => EventFilter.Info(contains: "Undelivered String").ExpectOne(() => gone.Tell("frame")), TimeSpan.FromSeconds(5));

        Volatile.Write(ref shuttingDown, true);

        EventFilter.Info(contains: "Undelivered").Expect(0, TimeSpan.FromMilliseconds(500), () =>
            EventFilter.Debug(contains: "Undelivered String").ExpectOne(() => gone.Tell("frame")));
        Sys.Stop(logger);
    }
}
