using SecureChat.Core.Wire;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Protocol.Relay;
using SecureChat.Testing.RawClients;
using Xunit.Abstractions;

namespace SecureChat.Protocol.Tests.Relay;

/// <summary>
/// Random command sequences against a <see cref="RoomState{TConnection}"/>: joins, leaves, disconnects, reconnects,
/// honest and stale commits, rekeys and key refreshes, publishes, deadlines, passivation checks. Replaying the events
/// of each run into a fresh room, or restoring a snapshot taken at a random step and replaying the events after it, must
/// rebuild the same epoch, suite, roster and transcript hash, and nothing else.
/// </summary>
public sealed class RoomStateReplayTests(ITestOutputHelper output)
{
    private const string Room = "lobby";
    private const int Seeds = 60;
    private static readonly string[] Names = ["alice", "bob", "carol", "dave"];
    private static readonly RoomSettings Settings = new(3, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30), SystemClock.Instance)
    {
        MessageLog = MessageLogLimits.Default with { MaxMessages = 5 }, // small, so that runs truncate it
    };

    [Fact]
    public void Replaying_the_events_of_any_run_rebuilds_the_same_durable_state()
    {
        var (accepted, externals, leaves) = (0, 0, 0);
        for (var seed = 1; seed <= Seeds; seed++)
        {
            using var run = new Run(seed);
            run.Play(steps: 80);

            var replayed = new RoomState<string>(Room, 0, Settings);
            foreach (var change in run.Events)
            {
                replayed.Apply(change);
            }

            // As a persistent host recovers: the snapshot taken at some point, then the events after it.
            var fromSnapshot = new RoomState<string>(Room, 0, Settings);
            fromSnapshot.Restore(run.SnapshotTaken.State);
            foreach (var change in run.Events.Skip(run.SnapshotTaken.AfterEvents))
            {
                fromSnapshot.Apply(change);
            }

            var context = $"seed {seed}";
            foreach (var room in new[] { replayed, fromSnapshot })
            {
                Assert.True(run.Room.Epoch == room.Epoch, context);
                Assert.True(run.Room.Suite == room.Suite, context);
                Assert.True(run.Room.TranscriptHash.Equals(room.TranscriptHash), context);
                Assert.True(run.Room.Roster.Select(m => m.Bundle).SequenceEqual(room.Roster.Select(m => m.Bundle)), context);
                Assert.True(run.Room.CommitLog.SequenceEqual(room.CommitLog), context);
                Assert.True(run.Room.Durable().Away.SequenceEqual(room.Durable().Away), context);
                Assert.True(run.Room.Leaves.OrderBy(p => p.Key, StringComparer.Ordinal).SequenceEqual(room.Leaves.OrderBy(p => p.Key, StringComparer.Ordinal)), context);
                Assert.True(run.Room.Messages.SequenceEqual(room.Messages), context);
                Assert.True(run.Room.LastSeq == room.LastSeq, context);
                Assert.True(run.Room.Positions.OrderBy(p => p.Key, StringComparer.Ordinal).SequenceEqual(room.Positions.OrderBy(p => p.Key, StringComparer.Ordinal)), context);
                var volatileState = room.Snapshot();
                Assert.True(volatileState.Connected.Count == 0 && volatileState.PendingAdds.Count == 0 && volatileState.PendingRemoves.Count == 0
                    && volatileState.AskedCommitter is null, context);
            }

            accepted += run.Events.OfType<EpochAccepted>().Count();
            externals += run.ExternalsAccepted;
            leaves += run.Events.OfType<LeaveKept>().Count();
        }

        output.WriteLine($"{Seeds} runs: {accepted} epochs accepted, {externals} external commits, {leaves} leaves kept");
        Assert.True(leaves > Seeds / 4, "too few signed leaves kept");
        Assert.True(accepted > Seeds * 5, "too few accepted commits to mean anything");
        Assert.True(externals > Seeds / 4, "too few external commits");
    }

    /// <summary>One random history. Each join is a fresh session (a new TestMember) on a fresh connection.</summary>
    private sealed class Run(int seed) : IDisposable
    {
        private readonly Random _random = new(seed);
        private readonly List<TestMember> _sessions = [];
        private readonly Dictionary<string, (TestMember Session, string Connection)> _online = new(StringComparer.Ordinal);
        private (string Connection, CommitRequest Request)? _request;
        private (string Connection, PublicRoomState State)? _external;
        private CommitDeadlineDue? _deadline;
        private bool _retryArmed;
        private int _connections;

        public RoomState<string> Room { get; } = new(RoomStateReplayTests.Room, 0, Settings);

        public List<RoomEvent> Events { get; } = [];

        public int ExternalsAccepted { get; private set; }

        /// <summary>The durable state at a random step of the run, and how many events there were by then.</summary>
        public (RoomDurableState State, int AfterEvents) SnapshotTaken { get; private set; }

        public void Play(int steps)
        {
            var snapshotAt = _random.Next(steps);
            for (var i = 0; i < steps; i++)
            {
                if (i == snapshotAt)
                {
                    SnapshotTaken = (Room.Durable(), Events.Count);
                }

                var name = Names[_random.Next(Names.Length)];
                var online = _online.TryGetValue(name, out var client);
                switch (_random.Next(10))
                {
                    case 0 or 1:
                        if (online && _random.Next(2) == 0)
                        {
                            Join(name); // a reconnect the room has not noticed yet
                        }
                        else if (!online && !TryResume(name))
                        {
                            Join(name);
                        }

                        break;
                    case 2 when online:
                        _online.Remove(name);
                        Carry(_random.Next(2) == 0 ? Room.Leave(name, client.Connection, SignedLeaveOrNot(name, client.Session)) : Room.Disconnect(client.Connection));
                        break;
                    case 3 or 4:
                        AnswerRequest();
                        break;
                    case 5:
                        CommitExternally();
                        break;
                    case 6 when online && Room.Roster.Any(m => m.ClientId == name):
                        Rekey(name, client, refresh: _random.Next(2) == 0);
                        break;
                    case 7 when online:
                        Carry(Room.Publish(name, Room.Epoch - (ulong)_random.Next(0, 3), 0, Frames.Application(name, RoomStateReplayTests.Room, Room.Epoch, 0).Bytes(),
                            client.Connection));
                        if (_random.Next(3) == 0)
                        {
                            Carry(Room.Acknowledge(name, Room.LastSeq - (ulong)_random.Next(0, 2), client.Connection));
                        }

                        break;
                    case 8 when _deadline is { } due:
                        Carry(Room.CommitDeadline(due));
                        break;
                    case 8 when _retryArmed:
                        _retryArmed = false;
                        Carry(Room.CommitRetryDue());
                        break;
                    case 9:
                        Carry(Room.PassivationDue());
                        break;
                }
            }
        }

        public void Dispose()
        {
            foreach (var session in _sessions)
            {
                session.Dispose();
            }
        }

        /// <summary>A member away comes back with its roster entry, from a random epoch it may have applied (half the time).</summary>
        private bool TryResume(string name)
        {
            var entry = Room.Roster.FirstOrDefault(m => m.ClientId == name)?.Bundle;
            if (entry is null || _random.Next(2) == 0 || _sessions.LastOrDefault(s => s.Id == name && s.Bundle.Equals(entry)) is not { } session)
            {
                return false;
            }

            var connection = $"{name}-{++_connections}";
            _online[name] = (session, connection);
            Carry(Room.Join(name, entry, CipherSuite.Aes256GcmX25519Ed25519Sha256, connection, knownEpoch: (ulong)_random.Next(0, (int)Room.Epoch + 2)));
            return true;
        }

        private void Join(string name)
        {
            var session = new TestMember(name);
            _sessions.Add(session);
            var connection = $"{name}-{++_connections}";
            _online[name] = (session, connection);
            Carry(Room.Join(name, session.Bundle, CipherSuite.Aes256GcmX25519Ed25519Sha256, connection));
        }

        /// <summary>Most leaves are signed (for the member's current entry); some carry none, as a client that sends none.</summary>
        private SignedLeave? SignedLeaveOrNot(string name, TestMember session) =>
            _random.Next(4) > 0 && Room.Roster.FirstOrDefault(m => m.ClientId == name) is { } entry ? session.Leave(RoomStateReplayTests.Room, Room.Epoch, entry.Bundle) : null;

        /// <summary>The asked committer answers its request as an honest member would (or, at times, a stale one).</summary>
        private void AnswerRequest()
        {
            if (_request is not { } open || _online.Values.FirstOrDefault(c => c.Connection == open.Connection) is not { Session: { } committer })
            {
                return;
            }

            var request = open.Request;
            if (_random.Next(8) == 0)
            {
                Carry(Room.DeclineCommit(committer.Id, request.NewEpoch, open.Connection)); // it cannot make this one
                return;
            }

            var epoch = _random.Next(5) == 0 ? request.NewEpoch - 1 : request.NewEpoch;
            var commit = Room.Roster.Count == 0
                ? committer.CreateRoom(RoomStateReplayTests.Room, epoch)
                : committer.Commit(RoomStateReplayTests.Room, epoch,
                    Room.Roster.Select(m => m.Bundle).Where(b => request.Removes.All(r => r.ClientId != TestMember.ClientIdOf(b))).Concat(request.Adds.Select(a => a.Bundle)),
                    added: request.Adds.Select(a => a.Bundle), removes: request.Removes, previous: Room.TranscriptHash);
            Carry(Room.SubmitCommit(committer.Id, commit, open.Connection));
        }

        /// <summary>The joiner asked for an external commit makes one from the state it was given (or, at times, a stale one).</summary>
        private void CommitExternally()
        {
            if (_external is not { } open || _online.Values.FirstOrDefault(c => c.Connection == open.Connection) is not { Session: { } joiner })
            {
                return;
            }

            var removes = open.State.Leaves.Select(Leaves.Parse).OfType<LeaveContent>().Select(l => l.ClientId)
                .Zip(open.State.Leaves, (id, leave) => new Remove { ClientId = id, Reason = RemoveReason.Left, Leave = leave }).ToList();
            var epoch = _random.Next(5) == 0 ? Room.Epoch : Room.Epoch + 1;
            var commit = joiner.Commit(RoomStateReplayTests.Room, epoch,
                Room.Roster.Select(m => m.Bundle).Where(b => removes.All(r => r.ClientId != TestMember.ClientIdOf(b))).Append(joiner.Bundle),
                adds: [new Add { Bundle = joiner.Bundle, Invite = open.State.Invite }], removes: removes, previous: Room.TranscriptHash,
                policy: Room.Policy, kind: CommitKind.External);
            var decision = Room.SubmitCommit(joiner.Id, commit, open.Connection);
            ExternalsAccepted += decision.Events.OfType<EpochAccepted>().Count();
            Carry(decision);
        }

        private void Rekey(string name, (TestMember Session, string Connection) client, bool refresh)
        {
            var roster = Room.Roster.Select(m => m.Bundle).ToList();
            if (refresh)
            {
                var own = Room.Roster.Single(m => m.ClientId == name);
                roster[roster.FindIndex(b => TestMember.ClientIdOf(b) == name)] = client.Session.RefreshedBundle(own.KeyId + 1);
            }

            Carry(Room.SubmitCommit(name, client.Session.Commit(RoomStateReplayTests.Room, Room.Epoch + 1, roster, rekey: true, previous: Room.TranscriptHash), client.Connection));
        }

        private void Carry(RoomDecision<string> decision)
        {
            Events.AddRange(decision.Events);
            Events.AddRange(decision.Logged); // journaled after the decision's own events, as a persistent room writes them
            foreach (var effect in decision.Effects)
            {
                switch (effect)
                {
                    case SendFrame<string> send when Envelope.Parser.ParseFrom(send.Frame) is { Type: MessageType.CommitRequest } frame:
                        _request = (send.To, frame.CommitRequest);
                        break;
                    case SendFrame<string> send when Envelope.Parser.ParseFrom(send.Frame) is { Type: MessageType.Joined, Joined.Mode: JoinMode.External } frame:
                        _external = (send.To, frame.Joined.State);
                        break;
                    case StartCommitDeadline start:
                        _deadline = start.Due;
                        break;
                    case CancelCommitDeadline:
                        _deadline = null;
                        break;
                    case StartCommitRetry:
                        _retryArmed = true;
                        break;
                    case CancelCommitRetry:
                        _retryArmed = false;
                        break;
                }
            }
        }
    }
}
