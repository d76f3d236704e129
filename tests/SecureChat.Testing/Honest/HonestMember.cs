using SecureChat.Core.Framing;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;
using SecureChat.Testing.Hosting;
using SecureChat.Testing.RawClients;

namespace SecureChat.Testing.Honest;

/// <summary>
/// An honest chat member over real TLS to the real server, driven by the real protocol engine
/// (<see cref="GroupSession"/>) exactly as PROTOCOL.md §18 tells a client actor to: answers COMMIT_REQUEST,
/// applies COMMITs (its own only when echoed), decrypts APPLICATIONs, holds future-epoch ones and retries
/// them after each commit, abandons a refused commit, answers PING. One room per member.
/// </summary>
public sealed class HonestMember : IAsyncDisposable
{
    private const int MaxFrame = WireLimits.DefaultMaxFrameBytes;
    private readonly TestClient _connection;
    private readonly Stream _stream;
    private readonly FrameReader _reader;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Envelope> _held = [];
    private readonly List<MessageDelivered> _delivered = [];
    private readonly List<DecryptOutcome> _refusedMessages = [];
    private readonly List<CommitOutcome> _commitOutcomes = [];
    private readonly List<ErrorCode> _errors = [];
    private Task _readLoop = Task.CompletedTask;

    private HonestMember(string id, TestClient connection, Stream stream, string roomId)
    {
        Id = id;
        RoomId = roomId;
        _connection = connection;
        _stream = stream;
        _reader = new FrameReader(stream, MaxFrame);
        Identity = LocalIdentity.Generate(id, SecureChat.Protocol.Infrastructure.SystemRandomSource.Instance);
        Session = new GroupSession(Identity, roomId, new TrustStore());
    }

    public string Id { get; }

    public string RoomId { get; }

    public LocalIdentity Identity { get; }

    public GroupSession Session { get; }

    /// <summary>True once the read loop ended (the server closed the connection or it broke).</summary>
    public bool Disconnected => _readLoop.IsCompleted;

    public IReadOnlyList<MessageDelivered> Delivered { get { lock (_gate) { return [.. _delivered]; } } }

    /// <summary>Every APPLICATION the engine refused (forged, replayed, ...), never delivered.</summary>
    public IReadOnlyList<DecryptOutcome> RefusedMessages { get { lock (_gate) { return [.. _refusedMessages]; } } }

    public IReadOnlyList<CommitOutcome> CommitOutcomes { get { lock (_gate) { return [.. _commitOutcomes]; } } }

    public IReadOnlyList<ErrorCode> Errors { get { lock (_gate) { return [.. _errors]; } } }

    public ulong Epoch { get { lock (_gate) { return Session.Epoch; } } }

    public GroupStatus Status { get { lock (_gate) { return Session.Status; } } }

    /// <summary>Connects (TLS with a certificate for <paramref name="id"/>), says HELLO, starts reading, sends JOIN.</summary>
    public static async Task<HonestMember> JoinAsync(TestServer server, string id, string roomId, ByteLog? record = null)
    {
        var connection = await server.ConnectAsync(id);
        Stream stream = record is null ? connection.Stream : new RecordingStream(connection.Stream, record);
        var member = new HonestMember(id, connection, stream, roomId);
        await member.SendAsync(Frames.Hello(id));
        var welcome = await member._reader.ReadEnvelopeAsync();
        Assert.Equal(MessageType.Welcome, welcome?.Type);
        member._readLoop = Task.Run(member.ReadLoopAsync);
        await member.SendAsync(new Envelope
        {
            Version = WireLimits.ProtocolVersion, Type = MessageType.Join, SenderId = id, RoomId = roomId,
            Join = new Join { Bundle = member.Session.JoinBundle, PreferredSuite = Core.Crypto.CipherSuites.Preferred },
        });
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

    /// <summary>Encrypts <paramref name="text"/> with the current epoch and sends it.</summary>
    public async Task SendTextAsync(string text)
    {
        await _writeGate.WaitAsync();
        try
        {
            SendOutcome outcome;
            lock (_gate)
            {
                outcome = Session.Encrypt(text);
            }

            var sealedMessage = Assert.IsType<MessageSealed>(outcome);
            await FrameWriter.WriteEnvelopeAsync(_stream, sealedMessage.Envelope, MaxFrame);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public bool HasDelivered(string sender, string text) => Delivered.Any(d => d.SenderId == sender && d.Text == text);

    public async Task SendAsync(Envelope envelope)
    {
        await _writeGate.WaitAsync();
        try
        {
            await FrameWriter.WriteEnvelopeAsync(_stream, envelope, MaxFrame);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (await _reader.ReadEnvelopeAsync(_stop.Token) is { } envelope)
            {
                await HandleAsync(envelope);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or WireFormatException
                                       or System.Security.Authentication.AuthenticationException)
        {
            // the connection ended; Disconnected reports it
        }
    }

    private async Task HandleAsync(Envelope envelope)
    {
        Envelope? reply = null;
        lock (_gate)
        {
            switch (envelope.Type)
            {
                case MessageType.CommitRequest:
                    if (Session.CreateCommit(envelope.CommitRequest) is CommitCreated { Repeated: false } created)
                    {
                        reply = Session.CommitEnvelope(created.Commit);
                    }

                    break;
                case MessageType.Commit:
                    var outcome = Session.ProcessCommit(envelope.Commit);
                    _commitOutcomes.Add(outcome);
                    if (outcome is CommitAccepted)
                    {
                        var held = _held.ToList();
                        _held.Clear();
                        held.ForEach(Decrypt);
                    }

                    break;
                case MessageType.Application:
                    Decrypt(envelope);
                    break;
                case MessageType.Error:
                    _errors.Add(envelope.Error.Code);
                    if (envelope.Error.Code == ErrorCode.CommitRejected)
                    {
                        Session.AbandonPendingCommit(envelope.Epoch);
                    }

                    break;
                case MessageType.Ping:
                    reply = new Envelope { Version = WireLimits.ProtocolVersion, Type = MessageType.Pong, SenderId = Id, Sequence = envelope.Sequence };
                    break;
            }
        }

        if (reply is not null)
        {
            await SendAsync(reply);
        }
    }

    private void Decrypt(Envelope envelope)
    {
        switch (Session.Decrypt(envelope))
        {
            case MessageDelivered delivered:
                _delivered.Add(delivered);
                break;
            case MessageHeld:
                _held.Add(envelope);
                break;
            case var refused:
                _refusedMessages.Add(refused);
                break;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _connection.DisposeAsync();
        await _readLoop;
        lock (_gate)
        {
            Session.Dispose();
        }

        Identity.Dispose();
        _stop.Dispose();
        _writeGate.Dispose();
    }
}

/// <summary>Waits for a condition with a generous deadline (the AwaitAssert pattern for plain async code).</summary>
public static class Eventually
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan? deadline = null)
    {
        using var timeout = new CancellationTokenSource(deadline ?? Deadline);
        while (!condition())
        {
            if (timeout.IsCancellationRequested)
            {
                Assert.Fail($"timed out waiting until {what}");
            }

            await Task.Delay(10, CancellationToken.None);
        }
    }
}
