using System.Diagnostics;
using System.Security.Cryptography;
using System.Threading.Channels;
using Google.Protobuf;
using SecureChat.Benchmarks.Processes;
using SecureChat.Client.Rooms;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;

namespace SecureChat.Benchmarks.Targets.SecureChat;

/// <summary>A member's catch-up after <see cref="Missed"/> messages were sent while it was away.</summary>
/// <param name="MillisToCaughtUp">From sending the resume JOIN until the last JOINED RESUMED (everything received, the member live again).</param>
/// <param name="Received">APPLICATION frames the resumer got in the catch-up.</param>
/// <param name="Chunks">Catch-up chunks (each acknowledged before the next came).</param>
internal sealed record CatchUpResult(int Missed, double MillisToCaughtUp, int Received, int Chunks, long BytesReceived, double? ServerCpuSeconds,
    string? Failure = null);

/// <summary>
/// The message log's catch-up on our server (PROTOCOL.md §4.4.1): alice and bob form a room with the real client room loop;
/// bob's connection is closed; alice sends <c>missed</c> pre-built APPLICATION envelopes of the current epoch (random
/// ciphertext: the server does not decrypt) and waits for STORED of the last; then bob connects again and resumes with his
/// roster entry and position, acknowledging each chunk, and the clock runs until his last JOINED RESUMED.
/// </summary>
internal sealed class CatchUpMeasurement(Func<string, FrameBodyHandler, Action<string>, CancellationToken, Task<FramedTlsClient>> connect, int? serverProcessId)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(300);

    public async Task<CatchUpResult> MeasureAsync(string roomId, int missed, int payloadBytes, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Timeout);
        var token = deadline.Token;
        var run = Guid.NewGuid().ToString("N")[..6];
        using var aliceIdentity = new LocalIdentity($"alice{run}", IdentityKeyPair.Generate());
        using var bobIdentity = new LocalIdentity($"bob{run}", IdentityKeyPair.Generate());
        using var alice = Room(aliceIdentity, roomId);
        using var bob = Room(bobIdentity, roomId);
        var events = Channel.CreateUnbounded<(ClientRoom Room, Envelope Envelope)>();
        await using var aliceLink = await GreetedAsync(aliceIdentity.ClientId, alice, events.Writer, token);
        var bobLink = await GreetedAsync(bobIdentity.ClientId, bob, events.Writer, token);
        try
        {
            await aliceLink.SendEffectsAsync(alice.LinkReady(serverKeepsMessages: true), "alice", token);
            await PumpAsync(events.Reader, aliceLink, bobLink, () => alice.Phase == RoomPhase.Ready, token);
            await bobLink.SendEffectsAsync(bob.LinkReady(serverKeepsMessages: true), "bob", token);
            await PumpAsync(events.Reader, aliceLink, bobLink, () => bob.Phase == RoomPhase.Ready && alice.Roster.Count == 2, token);
        }
        finally
        {
            await bobLink.DisposeAsync(); // bob is away from here on: a disconnect is not a leave
        }

        var session = alice.Session!;
        var stored = 0;
        var allStored = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        aliceLink.SetHandler(body =>
        {
            var envelope = Envelope.Parser.ParseFrom(body);
            // One STORED acknowledges each of alice's messages of a journal write: the earlier ones it lists and the one it names.
            if (envelope.Type == MessageType.Stored
                && (stored += 1 + (envelope.PayloadCase == Envelope.PayloadOneofCase.Stored ? envelope.Stored.Earlier.Count : 0)) == missed)
            {
                allStored.TrySetResult();
            }
            else if (envelope.Type == MessageType.Error)
            {
                allStored.TrySetException(new InvalidOperationException($"alice: {envelope.Error.Code}: {envelope.Error.Reason}"));
            }
        });
        var historyTag = ByteString.CopyFrom(KeySchedule.HistoryTag(session.TranscriptHash));
        for (var i = 1; i <= missed; i++)
        {
            await aliceLink.AppendAsync(EnvelopeCodec.Encode(new Envelope
            {
                Version = WireLimits.ProtocolVersion, Type = MessageType.Application, SenderId = aliceIdentity.ClientId, RoomId = roomId, Epoch = session.Epoch,
                Sequence = (ulong)(1_000_000 + i), CipherSuite = session.Suite, Nonce = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(12)),
                HistoryTag = historyTag, Ciphertext = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(payloadBytes)),
            }), token);
        }

        await aliceLink.FlushAsync(token);
        await allStored.Task.WaitAsync(token);

        // Bob comes back: the measured catch-up.
        var received = 0;
        var chunks = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        FramedTlsClient? again = null;
        var welcomed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        again = await connect(bobIdentity.ClientId, body =>
        {
            var envelope = Envelope.Parser.ParseFrom(body);
            switch (envelope.Type)
            {
                case MessageType.Welcome:
                    welcomed.TrySetResult();
                    break;
                case MessageType.Application:
                    received++;
                    break;
                case MessageType.Joined when envelope.Joined.CatchingUp:
                    chunks++;
                    _ = again!.SendNowAsync(EnvelopeCodec.Encode(new Envelope
                    {
                        Version = WireLimits.ProtocolVersion, Type = MessageType.Ack, SenderId = bobIdentity.ClientId, RoomId = roomId,
                        RoomSeq = envelope.Joined.LastSeq,
                    }), CancellationToken.None).AsTask();
                    break;
                case MessageType.Joined:
                    chunks++;
                    done.TrySetResult();
                    break;
                case MessageType.Error:
                    done.TrySetException(new InvalidOperationException($"bob: {envelope.Error.Code}: {envelope.Error.Reason}"));
                    break;
            }
        }, problem => done.TrySetException(new IOException(problem)), token);
        await using (again)
        {
            await again.SendNowAsync(Hello(bobIdentity.ClientId), token);
            await welcomed.Task.WaitAsync(token);
            var cpuBefore = serverProcessId is { } pid ? ProcessStats.Read(pid) : null;
            var bytesBefore = again.ReceivedBytes;
            var started = Stopwatch.GetTimestamp();
            await again.SendNowAsync(EnvelopeCodec.Encode(new Envelope
            {
                Version = WireLimits.ProtocolVersion, Type = MessageType.Join, SenderId = bobIdentity.ClientId, RoomId = roomId,
                Join = new Join { Bundle = bob.Session!.CurrentBundle, KnownEpoch = bob.Epoch, LastSeq = bob.Position, SupportedSuites = { CipherSuites.Supported } },
            }), token);
            await done.Task.WaitAsync(token);
            var millis = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            var cpuAfter = serverProcessId is { } pid2 ? ProcessStats.Read(pid2) : null;
            return new CatchUpResult(missed, millis, received, chunks, again.ReceivedBytes - bytesBefore,
                cpuBefore is { } b && cpuAfter is { } a ? a.CpuSeconds - b.CpuSeconds : null,
                received == missed ? null : $"received {received} of {missed}");
        }
    }

    private static ClientRoom Room(LocalIdentity identity, string roomId) =>
        new(roomId, () => new GroupSession(identity, roomId, new TrustStore(), GroupOptions.Default), SystemClock.Instance);

    private static byte[] Hello(string clientId) => EnvelopeCodec.Encode(new Envelope
    {
        Version = WireLimits.ProtocolVersion, Type = MessageType.Hello, SenderId = clientId, Hello = new Hello { ClientSoftware = "securechat-bench" },
    });

    private async Task<FramedTlsClient> GreetedAsync(string clientId, ClientRoom room, ChannelWriter<(ClientRoom, Envelope)> events, CancellationToken token)
    {
        var welcomed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var link = await connect(clientId, body =>
        {
            var envelope = EnvelopeCodec.Decode(body);
            if (envelope.Type == MessageType.Welcome)
            {
                welcomed.TrySetResult();
            }
            else
            {
                events.TryWrite((room, envelope));
            }
        }, problem => welcomed.TrySetException(new IOException(problem)), token);
        await link.SendNowAsync(Hello(clientId), token);
        await welcomed.Task.WaitAsync(token);
        return link;
    }

    /// <summary>Hands each room its frames, sending what it answers, until <paramref name="ready"/>.</summary>
    private static async Task PumpAsync(ChannelReader<(ClientRoom Room, Envelope Envelope)> events, FramedTlsClient aliceLink, FramedTlsClient bobLink,
        Func<bool> ready, CancellationToken token)
    {
        while (!ready())
        {
            var (room, envelope) = await events.ReadAsync(token);
            if (envelope.Type == MessageType.Error)
            {
                throw new InvalidOperationException($"{room.RoomId}: {envelope.Error.Code}: {envelope.Error.Reason}");
            }

            var link = room.Session?.LocalClientId == aliceLink.ClientId ? aliceLink : bobLink;
            await link.SendEffectsAsync(room.Frame(envelope), link.ClientId, token);
        }
    }
}
