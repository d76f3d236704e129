using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Akka.Actor;
using SecureChat.Benchmarks.Reporting;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Protocol.Relay;
using SecureChat.Server.Configuration;
using SecureChat.Server.Messaging;
using SecureChat.Server.Storage;
using SecureChat.Testing.Hosting;
using SecureChat.Testing.RawClients;
using SecureChat.Testing.Rooms;
using Envelope = SecureChat.Core.Wire.Envelope;

namespace SecureChat.Benchmarks.Cli;

/// <summary>
/// Commits per second one room persists: the real room entity (sharded, event-sourced) on the real room storage,
/// in this process, one member committing rekeys one after the other; each commit is journaled before the room
/// echoes it, and the next is sent on the echo. SQLite in a temp folder (as a single server stores its rooms),
/// then PostgreSQL when a connection string is given.
/// </summary>
internal static class PersistBenchmark
{
    private const string Room = "persist-bench";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static async Task RunAsync(int commits, string? postgres, ResultsReport report, TextWriter progress, CancellationToken cancellationToken)
    {
        List<(string Name, ServerOptions Options)> storages = [("SQLite", new ServerOptions())];
        if (postgres is not null)
        {
            storages.Add(("PostgreSQL", new ServerOptions { PostgresConnectionString = postgres }));
        }

        foreach (var (name, options) in storages)
        {
            using var folder = new TempDirectory();
            options.DataPath = folder.Path;
            using var storage = RoomStorage.Open(options);
            var settings = new RoomSettings(10, TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(5), SystemClock.Instance) { RekeysPerMemberPerMinute = 1_000_000 };
            using var host = await RoomsHost.StartAsync(settings, storage: storage);
            var perSecond = await MeasureAsync(host, commits, cancellationToken);
            var line = string.Create(CultureInfo.InvariantCulture, $"persist: {name}: {commits} commits of one room, one after the other: {perSecond:0} commits/s");
            progress.WriteLine(line);
            report.Notes.Add(line + $" ({storage.Description})");
        }
    }

    private static async Task<double> MeasureAsync(RoomsHost host, int commits, CancellationToken cancellationToken)
    {
        using var alice = new TestMember("alice", room: Room);
        var frames = Channel.CreateUnbounded<Envelope>();
        var connection = host.System.ActorOf(Props.Create(() => new FrameSink(frames.Writer)));
        host.Rooms.Tell(new JoinRoom(Room, alice.Id, alice.Bundle.Content, alice.Bundle.Signature, CipherSuite.Unspecified, connection));
        await ExpectAsync(frames.Reader, MessageType.Joined, cancellationToken);
        await ExpectAsync(frames.Reader, MessageType.CommitRequest, cancellationToken);
        var commit = alice.CreateRoom(Room);
        await CommitAsync(host, alice, commit, connection, frames.Reader, cancellationToken);

        var clock = Stopwatch.StartNew();
        for (var epoch = 2ul; epoch < (ulong)commits + 2; epoch++)
        {
            commit = alice.Commit(Room, epoch, [alice.Bundle], rekey: true, previous: TestMember.TranscriptHashOf(commit));
            await CommitAsync(host, alice, commit, connection, frames.Reader, cancellationToken);
        }

        return commits / clock.Elapsed.TotalSeconds;
    }

    private static async Task CommitAsync(RoomsHost host, TestMember member, SignedCommit commit, IActorRef connection, ChannelReader<Envelope> frames,
        CancellationToken cancellationToken)
    {
        host.Rooms.Tell(new SubmitCommit(Room, member.Id, commit.Content, commit.Signature, commit.ConfirmationTag, connection));
        await ExpectAsync(frames, MessageType.Commit, cancellationToken);
    }

    private static async Task ExpectAsync(ChannelReader<Envelope> frames, MessageType type, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Timeout);
        var frame = await frames.ReadAsync(deadline.Token);
        if (frame.Type != type)
        {
            throw new InvalidOperationException($"expected {type}, the room sent {frame.Type}{(frame.Type == MessageType.Error ? $": {frame.Error.Reason}" : "")}");
        }
    }

    /// <summary>Stands in for the member's connection: every frame the room sends it goes to a channel.</summary>
    private sealed class FrameSink : ReceiveActor
    {
        public FrameSink(ChannelWriter<Envelope> frames)
        {
            Receive<RoomFrame>(frame => frames.TryWrite(Envelope.Parser.ParseFrom(frame.Envelope)));
            Receive<RoomError>(error => frames.TryWrite(new Envelope { Type = MessageType.Error, Error = new Error { Code = error.Code, Reason = error.Reason } }));
        }
    }
}
