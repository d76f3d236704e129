using Akka.Actor;
using SecureChat.Client.Connection;
using SecureChat.Core.Wire;
using Envelope = SecureChat.Core.Wire.Envelope;

namespace SecureChat.Testing.Fakes;

/// <summary>
/// Puts a probe in the server's place: every frame the session sends arrives at the probe as an
/// <see cref="Envelope"/>, and the test plays the server with <see cref="Deliver"/> and <see cref="Drop"/>.
/// </summary>
public sealed class ProbeConnector(IActorRef server, string address = "probe") : IServerConnector
{
    private IActorRef _session = ActorRefs.Nobody;
    private long _linkId;
    private int _connects;

    public int Connects => Volatile.Read(ref _connects);

    public string Address { get; } = address;

    public IServerLink Connect(IActorRef session, long linkId)
    {
        _session = session;
        Interlocked.Exchange(ref _linkId, linkId);
        Interlocked.Increment(ref _connects);
        session.Tell(new LinkEvents.LinkUp(linkId));
        return new ProbeLink(server, linkId);
    }

    /// <summary>The server sends a frame to the session.</summary>
    public void Deliver(Envelope envelope) => _session.Tell(new LinkEvents.FrameReceived(Interlocked.Read(ref _linkId), envelope));

    /// <summary>The connection breaks, the way <paramref name="kind"/> says.</summary>
    public void Drop(string reason = "test dropped the link", LinkFailure kind = LinkFailure.ConnectionLost) =>
        _session.Tell(new LinkEvents.LinkDown(Interlocked.Read(ref _linkId), reason) { Kind = kind });

    private sealed class ProbeLink(IActorRef server, long linkId) : IServerLink
    {
        private volatile bool _closed;

        public long LinkId { get; } = linkId;

        public bool TrySend(Envelope envelope)
        {
            if (_closed)
            {
                return false;
            }

            server.Tell(envelope);
            return true;
        }

        public void Dispose() => _closed = true;
    }
}

/// <summary>Frames the test server sends.</summary>
public static class ServerFrames
{
    public static Envelope Welcome(string clientId) => new()
    {
        Version = WireLimits.ProtocolVersion,
        Type = MessageType.Welcome,
        Welcome = new Welcome { ClientId = clientId, MaxFrameBytes = (uint)WireLimits.DefaultMaxFrameBytes, MaxMembersPerRoom = 150, MaxRoomsPerConnection = 64 },
    };

    public static Envelope Joined(string roomId, ulong currentEpoch, uint members, bool recovered = false, JoinMode mode = JoinMode.WaitForCommit) => new()
    {
        Version = WireLimits.ProtocolVersion,
        Type = MessageType.Joined,
        RoomId = roomId,
        Joined = new Joined { CurrentEpoch = currentEpoch, MemberCount = members, Recovered = recovered, Mode = mode },
    };

    /// <param name="removes">Each with its proof (an honest committer takes no REMOVED a relay asks for without a re-add).</param>
    public static Envelope CommitRequest(string roomId, ulong newEpoch, IEnumerable<SignedBundle> adds, IEnumerable<Remove>? removes = null) => new()
    {
        Version = WireLimits.ProtocolVersion,
        Type = MessageType.CommitRequest,
        RoomId = roomId,
        Epoch = newEpoch,
        CommitRequest = new CommitRequest
        {
            NewEpoch = newEpoch,
            Adds = { adds.Select(bundle => new Add { Bundle = bundle }) },
            Removes = { removes ?? [] },
            DeadlineMs = 5000,
            Suite = Core.Crypto.CipherSuites.Preferred,
        },
    };

    public static Envelope Error(string roomId, ErrorCode code, string reason, bool fatal = false) => new()
    {
        Version = WireLimits.ProtocolVersion,
        Type = MessageType.Error,
        RoomId = roomId,
        Error = new Error { Code = code, Reason = reason, Fatal = fatal },
    };

    public static Envelope Ping(ulong sequence) => new() { Version = WireLimits.ProtocolVersion, Type = MessageType.Ping, Sequence = sequence };

    /// <summary>RELAYED for the APPLICATION <paramref name="sent"/>: its room, epoch and sequence (PROTOCOL.md §4.4).</summary>
    public static Envelope Relayed(Envelope sent) => new()
    {
        Version = WireLimits.ProtocolVersion,
        Type = MessageType.Relayed,
        RoomId = sent.RoomId,
        Epoch = sent.Epoch,
        Sequence = sent.Sequence,
    };

    /// <summary>STORED for the APPLICATION <paramref name="sent"/>: durable in the room's log as <paramref name="roomSeq"/> (PROTOCOL.md §4.4.1).</summary>
    public static Envelope Stored(Envelope sent, ulong roomSeq)
    {
        var stored = Relayed(sent);
        stored.Type = MessageType.Stored;
        stored.RoomSeq = roomSeq;
        return stored;
    }

    /// <summary>An ERROR refusing the APPLICATION <paramref name="sent"/>, naming its epoch and sequence as the relay does.</summary>
    public static Envelope Refusal(Envelope sent, ErrorCode code, string reason)
    {
        var error = Error(sent.RoomId, code, reason);
        error.Epoch = sent.Epoch;
        error.Sequence = sent.Sequence;
        return error;
    }

    /// <summary>The relay forwards a commit envelope unchanged (sender = committer).</summary>
    public static Envelope Relay(Envelope commit) => commit.Clone();
}
