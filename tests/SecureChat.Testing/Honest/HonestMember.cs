using SecureChat.Client.Rooms;
using SecureChat.Core.Framing;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Testing.Hosting;
using SecureChat.Testing.RawClients;

namespace SecureChat.Testing.Honest;

/// <summary>
/// An honest chat member over real TLS to the real server: the real room loop (<see cref="ClientRoom"/>, as the
/// client actor runs it) with a raw TLS connection as its transport, which also answers PING. Every engine
/// outcome is recorded for the test. One room per member.
/// </summary>
public sealed class HonestMember : IRoomObserver, IAsyncDisposable
{
    private const int MaxFrame = WireLimits.DefaultMaxFrameBytes;
    private readonly TestClient _connection;
    private readonly Stream _stream;
    private readonly FrameReader _reader;
    private readonly ClientRoom _room;

    // One input at a time goes into the room, and its frames are written before the next one's: the order the loop chose.
    private readonly SemaphoreSlim _turn = new(1, 1);

    // Guards the room and the observations against the test thread's reads.
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<MessageDelivered> _delivered = [];
    private readonly List<DecryptOutcome> _refusedMessages = [];
    private readonly List<CommitOutcome> _commitOutcomes = [];
    private readonly List<ErrorCode> _errors = [];
    private SendOutcome? _lastSend;
    private Task _readLoop = Task.CompletedTask;

    private HonestMember(string id, TestClient connection, Stream stream, string roomId)
    {
        Id = id;
        RoomId = roomId;
        _connection = connection;
        _stream = stream;
        _reader = new FrameReader(stream, MaxFrame);
        Identity = LocalIdentity.Generate(id, SystemRandomSource.Instance);
        var trust = new TrustStore();
        _room = new ClientRoom(roomId, () => new GroupSession(Identity, roomId, trust), SystemClock.Instance, observer: this);
    }

    public string Id { get; }

    public string RoomId { get; }

    public LocalIdentity Identity { get; }

    /// <summary>True once the read loop ended (the server closed the connection or it broke).</summary>
    public bool Disconnected => _readLoop.IsCompleted;

    public IReadOnlyList<MessageDelivered> Delivered { get { lock (_gate) { return [.. _delivered]; } } }

    /// <summary>Every APPLICATION the engine refused (forged, replayed, ...), never delivered.</summary>
    public IReadOnlyList<DecryptOutcome> RefusedMessages { get { lock (_gate) { return [.. _refusedMessages]; } } }

    public IReadOnlyList<CommitOutcome> CommitOutcomes { get { lock (_gate) { return [.. _commitOutcomes]; } } }

    /// <summary>The codes of every ERROR the server sent.</summary>
    public IReadOnlyList<ErrorCode> Errors { get { lock (_gate) { return [.. _errors]; } } }

    public ulong Epoch { get { lock (_gate) { return _room.Epoch; } } }

    public GroupStatus Status { get { lock (_gate) { return _room.Session?.Status ?? GroupStatus.Joining; } } }

    public IReadOnlyList<RosterMember> Roster { get { lock (_gate) { return _room.Roster; } } }

    public CipherSuite Suite { get { lock (_gate) { return _room.Session?.Suite ?? CipherSuite.Unspecified; } } }

    /// <summary>The transcript hash of the member's current epoch (what a commit for the next epoch continues).</summary>
    public byte[] TranscriptHash { get { lock (_gate) { return _room.Session?.TranscriptHash ?? KeySchedule.InitialTranscriptHash; } } }

    /// <summary>Connects (TLS with a certificate for <paramref name="id"/>), says HELLO, starts reading, joins.</summary>
    public static async Task<HonestMember> JoinAsync(TestServer server, string id, string roomId, ByteLog? record = null)
    {
        var connection = await server.ConnectAsync(id);
        Stream stream = record is null ? connection.Stream : new RecordingStream(connection.Stream, record);
        var member = new HonestMember(id, connection, stream, roomId);
        await member.SendAsync(Frames.Hello(id));
        var welcome = await member._reader.ReadEnvelopeAsync();
        Assert.Equal(MessageType.Welcome, welcome?.Type);
        member._readLoop = Task.Run(member.ReadLoopAsync);
        await member.DriveAsync(room => room.LinkReady());
        return member;
    }

    /// <summary>Joins the members one by one, each waiting until everyone so far shares its epoch.</summary>
    public static async Task<List<HonestMember>> FormRoomAsync(TestServer server, string roomId, ByteLog? record, params string[] ids)
    {
        var members = new List<HonestMember>();
        foreach (var id in ids)
        {
            members.Add(await JoinAsync(server, id, roomId, record));
            await Eventually.TrueAsync(() => members.All(m => m.Status == GroupStatus.Active) && members.Select(m => m.Epoch).Distinct().Count() == 1,
                $"{id} joined {roomId} and everyone agrees on the epoch");
        }

        return members;
    }

    /// <summary>The user sends <paramref name="text"/>; it must go out at once, encrypted for the current epoch.</summary>
    public async Task SendTextAsync(string text)
    {
        SendOutcome? outcome = null;
        await DriveAsync(room =>
        {
            _lastSend = null;
            var effects = room.Send(text);
            outcome = _lastSend;
            return effects;
        });
        Assert.IsType<MessageSealed>(outcome);
    }

    public bool HasDelivered(string sender, string text) => Delivered.Any(d => d.SenderId == sender && d.Text == text);

    /// <summary>Writes a frame of the test's own making (a broken or hostile one), in turn with the room's.</summary>
    public async Task SendAsync(Envelope envelope)
    {
        await _turn.WaitAsync();
        try
        {
            await FrameWriter.WriteEnvelopeAsync(_stream, envelope, MaxFrame);
        }
        finally
        {
            _turn.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _connection.DisposeAsync();
        await _readLoop;
        lock (_gate)
        {
            _room.Dispose();
        }

        Identity.Dispose();
        _stop.Dispose();
        _turn.Dispose();
    }

    void IRoomObserver.Decrypted(DecryptOutcome outcome)
    {
        switch (outcome)
        {
            case MessageDelivered delivered:
                _delivered.Add(delivered);
                break;
            case MessageHeld or SummaryDelivered:
                // Held: retried after the next commit; a summary is a member's count (§10.4), not a line of chat.
                break;
            default:
                _refusedMessages.Add(outcome);
                break;
        }
    }

    void IRoomObserver.CommitProcessed(CommitOutcome outcome) => _commitOutcomes.Add(outcome);

    void IRoomObserver.CommitBuilt(CommitCreation creation)
    {
    }

    void IRoomObserver.Encrypted(SendOutcome outcome) => _lastSend = outcome;

    /// <summary>One input into the room (under the lock), then its frames to the server, in order.</summary>
    private async Task DriveAsync(Func<ClientRoom, RoomEffects> input)
    {
        await _turn.WaitAsync();
        try
        {
            Envelope[] frames;
            lock (_gate)
            {
                frames = [.. input(_room).Outbound];
            }

            foreach (var frame in frames)
            {
                await FrameWriter.WriteEnvelopeAsync(_stream, frame, MaxFrame);
            }
        }
        finally
        {
            _turn.Release();
        }
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (await _reader.ReadEnvelopeAsync(_stop.Token) is { } envelope)
            {
                switch (envelope.Type)
                {
                    case MessageType.Ping:
                        await SendAsync(new Envelope { Version = WireLimits.ProtocolVersion, Type = MessageType.Pong, SenderId = Id, Sequence = envelope.Sequence });
                        break;
                    case MessageType.Error:
                        lock (_gate)
                        {
                            _errors.Add(envelope.Error.Code);
                        }

                        await DriveAsync(room => room.Frame(envelope));
                        break;
                    default:
                        await DriveAsync(room => room.Frame(envelope));
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or WireFormatException
                                       or System.Security.Authentication.AuthenticationException)
        {
            // the connection ended; Disconnected reports it
        }
    }
}

/// <summary>Waits for a condition with a generous deadline (the AwaitAssert pattern for plain async code).</summary>
public static class Eventually
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    public static Task TrueAsync(Func<bool> condition, string what, TimeSpan? deadline = null) =>
        TrueAsync(() => Task.FromResult(condition()), what, deadline);

    /// <summary>For a condition that has to ask (an actor's answer, say).</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, string what, TimeSpan? deadline = null)
    {
        using var timeout = new CancellationTokenSource(deadline ?? Deadline);
        while (!await condition())
        {
            if (timeout.IsCancellationRequested)
            {
                Assert.Fail($"timed out waiting until {what}");
            }

            await Task.Delay(10, CancellationToken.None);
        }
    }
}
