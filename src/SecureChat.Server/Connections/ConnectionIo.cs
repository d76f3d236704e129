using System.Buffers;
using System.Net.Security;
using System.Net.Sockets;
using System.Threading.Channels;
using Akka.Actor;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using SecureChat.Core.Framing;
using SecureChat.Core.Wire;

namespace SecureChat.Server.Connections;

/// <summary>The I/O limits of one connection (bound from <c>ServerOptions</c>).</summary>
public sealed record ConnectionIoSettings(
    int MaxFrameBytes,
    int OutboundQueueLength,
    long OutboundQueueBytes,
    int FramesPerSecond,
    int FrameBurst,
    int BytesPerSecond,
    int ByteBurst,
    int RateLimitStrikes,
    TimeSpan CloseTimeout);

/// <summary>
/// Owns the TLS stream of one authenticated connection. The read loop splits frames (refusing oversize
/// ones before allocating), spends the frame/byte budget and Tells the actor; the write loop drains a
/// bounded queue. Neither runs on an actor thread, and the stream never leaves this object.
/// </summary>
public sealed partial class ConnectionIo : IConnectionIo, IDisposable
{
    /// <summary>Upper bound of one coalesced TLS write (a single larger frame is written alone).</summary>
    private const int CoalescedWriteBytes = 64 * 1024;

    private readonly TcpClient _socket;
    private readonly SslStream _stream;
    private readonly ConnectionIoSettings _settings;
    private readonly ILogger _logger;
    private readonly Action _onClosed;
    private readonly Channel<ByteString> _outbound;
    private readonly CancellationTokenSource _readCancel = new();
    private readonly CancellationTokenSource _writeCancel = new();
    private readonly FrameBudget _budget;
    private Task _readLoop = Task.CompletedTask;
    private Task _writeLoop = Task.CompletedTask;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _closing;
    private long _queuedBytes;

    public ConnectionIo(TcpClient socket, SslStream stream, ConnectionIoSettings settings, ILogger logger, Action onClosed)
    {
        _socket = socket;
        _stream = stream;
        _settings = settings;
        _logger = logger;
        _onClosed = onClosed;
        _outbound = Channel.CreateBounded<ByteString>(new BoundedChannelOptions(settings.OutboundQueueLength)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite then fails instead of dropping anything
        });
        _budget = new FrameBudget(settings.FramesPerSecond, settings.FrameBurst, settings.BytesPerSecond, settings.ByteBurst);
    }

    /// <summary>Completes when the socket has been closed.</summary>
    public Task Closed => _closed.Task;

    private bool IsClosing => Volatile.Read(ref _closing) != 0;

    /// <summary>Frames waiting in the outbound queue.</summary>
    public int QueuedFrames => _outbound.Reader.Count;

    public void Start(IActorRef owner)
    {
        _readLoop = Task.Run(() => ReadLoopAsync(owner));
        _writeLoop = Task.Run(() => WriteLoopAsync(owner));
    }

    public bool TrySend(ByteString envelope)
    {
        if (!FrameCodec.IsValidLength(envelope.Length, _settings.MaxFrameBytes))
        {
            LogOversizeOutbound(_logger, envelope.Length);
            return true; // not the reader's fault; the frame is dropped, the connection stays
        }

        // The envelope is shared by every member of a fan-out: it is queued as it is and framed only
        // when copied into the write batch, so a delivery costs no allocation of its own.
        var frameBytes = (long)FrameCodec.PrefixSize + envelope.Length;
        if (Interlocked.Add(ref _queuedBytes, frameBytes) > _settings.OutboundQueueBytes || !_outbound.Writer.TryWrite(envelope))
        {
            Interlocked.Add(ref _queuedBytes, -frameBytes);
            return false;
        }

        return true;
    }

    /// <summary>Drops the connection without flushing (the normal way out is <see cref="Close"/>).</summary>
    public void Dispose() => Close(flush: false);

    public void Close(bool flush)
    {
        if (Interlocked.Exchange(ref _closing, 1) == 0)
        {
            _ = CloseAsync(flush);
        }
    }

    private async Task ReadLoopAsync(IActorRef owner)
    {
        var reader = new FrameReader(_stream, _settings.MaxFrameBytes);
        var strikes = 0;
        try
        {
            while (true)
            {
                // A zero-byte read waits for the socket without a buffer: SslStream rents its 16 KiB record
                // buffer only once bytes arrive and returns it when drained, so an idle connection holds none.
                await _stream.ReadAsync(Memory<byte>.Empty, _readCancel.Token).ConfigureAwait(false);
                var body = await reader.ReadFrameAsync(_readCancel.Token).ConfigureAwait(false);
                if (body is null)
                {
                    Report(owner, new IoClosed("peer closed the connection"));
                    return;
                }

                if (IsClosing || strikes > _settings.RateLimitStrikes)
                {
                    continue; // draining what the peer still sends, so that our close is not a reset
                }

                if (_budget.TryTake(body.Length + FrameCodec.PrefixSize))
                {
                    strikes = 0;
                    owner.Tell(new FrameReceived(UnsafeByteOperations.UnsafeWrap(body)));
                    continue;
                }

                // Over budget: the frame is dropped. The first one of a run is answered, a long run ends the connection.
                strikes++;
                if (strikes == 1)
                {
                    owner.Tell(new FrameRefused(ErrorCode.RateLimited, "over the frames or bytes per second budget; frame dropped", Fatal: false));
                }
                else if (strikes > _settings.RateLimitStrikes)
                {
                    owner.Tell(new FrameRefused(ErrorCode.RateLimited, "kept sending over the budget", Fatal: true));
                }
            }
        }
        catch (WireFormatException ex)
        {
            // After a bad length prefix the stream is out of step: nothing after it can be trusted.
            Report(owner, new FrameRefused(ex.ToErrorCode(), ex.Message, Fatal: true));
            await DrainAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (IsConnectionEnd(ex))
        {
            Report(owner, new IoClosed(ex is OperationCanceledException ? "closed" : "connection lost: " + ex.GetType().Name));
        }
    }

    /// <summary>Reads and discards until the peer closes or the close deadline cancels the read.</summary>
    private async Task DrainAsync()
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (await _stream.ReadAsync(buffer, _readCancel.Token).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (Exception ex) when (IsConnectionEnd(ex))
        {
            // the peer is gone
        }
    }

    private static bool IsConnectionEnd(Exception ex) =>
        ex is IOException or ObjectDisposedException or OperationCanceledException or System.Security.Authentication.AuthenticationException or InvalidOperationException;

    private async Task WriteLoopAsync(IActorRef owner)
    {
        try
        {
            var reader = _outbound.Reader;
            while (await reader.WaitToReadAsync(_writeCancel.Token).ConfigureAwait(false))
            {
                await WriteQueuedAsync(reader).ConfigureAwait(false);
                await _stream.FlushAsync(_writeCancel.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or NotSupportedException or InvalidOperationException)
        {
            Report(owner, new IoClosed("write failed: " + ex.GetType().Name));
        }
    }

    /// <summary>
    /// Frames queued together go out as one TLS write: one record and one syscall for many frames instead
    /// of one each, which is what lets a reader that keeps up drain a fan-out burst. The batch buffer is
    /// rented only while there is something to write, so an idle connection holds none.
    /// </summary>
    private async Task WriteQueuedAsync(ChannelReader<ByteString> reader)
    {
        var batch = ArrayPool<byte>.Shared.Rent(CoalescedWriteBytes);
        try
        {
            var used = 0;
            while (reader.TryRead(out var envelope))
            {
                var frameBytes = FrameCodec.PrefixSize + envelope.Length;
                if (used > 0 && used + frameBytes > batch.Length)
                {
                    await _stream.WriteAsync(batch.AsMemory(0, used), _writeCancel.Token).ConfigureAwait(false);
                    used = 0;
                }

                if (frameBytes > batch.Length)
                {
                    await WriteLargeFrameAsync(envelope, frameBytes).ConfigureAwait(false);
                }
                else
                {
                    used += FrameCodec.Write(batch.AsSpan(used), envelope.Span, _settings.MaxFrameBytes);
                }

                Interlocked.Add(ref _queuedBytes, -frameBytes);
            }

            if (used > 0)
            {
                await _stream.WriteAsync(batch.AsMemory(0, used), _writeCancel.Token).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(batch);
        }
    }

    private async Task WriteLargeFrameAsync(ByteString envelope, int frameBytes)
    {
        var frame = ArrayPool<byte>.Shared.Rent(frameBytes);
        try
        {
            FrameCodec.Write(frame, envelope.Span, _settings.MaxFrameBytes);
            await _stream.WriteAsync(frame.AsMemory(0, frameBytes), _writeCancel.Token).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    private void Report(IActorRef owner, object message)
    {
        if (!IsClosing)
        {
            owner.Tell(message);
        }
    }

    private async Task CloseAsync(bool flush)
    {
        _outbound.Writer.TryComplete();
        try
        {
            if (flush)
            {
                // The final frames (an ERROR, usually) are worth a short wait; a reader that does not read is not.
                await _writeLoop.WaitAsync(_settings.CloseTimeout).ConfigureAwait(false);
                await _stream.ShutdownAsync().WaitAsync(_settings.CloseTimeout).ConfigureAwait(false);
            }

            await _writeCancel.CancelAsync().ConfigureAwait(false);
            _socket.Client.Shutdown(SocketShutdown.Send);

            // Let the read loop drain what the peer still sends until it closes too: closing a socket with
            // unread input sends a reset, which can destroy the ERROR frame before the peer reads it.
            if (!_readLoop.IsCompleted)
            {
                await _readLoop.WaitAsync(_settings.CloseTimeout).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or TimeoutException or SocketException or InvalidOperationException or NotSupportedException)
        {
            // The peer is gone or too slow; the socket is dropped below either way.
        }
        finally
        {
            await _readCancel.CancelAsync().ConfigureAwait(false);
            await _writeCancel.CancelAsync().ConfigureAwait(false);
            await _stream.DisposeAsync().ConfigureAwait(false);
            _socket.Dispose();
            _readCancel.Dispose();
            _writeCancel.Dispose();
            _onClosed();
            _closed.TrySetResult();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped an outbound envelope of {Bytes} bytes: above the maximum frame size")]
    private static partial void LogOversizeOutbound(ILogger logger, int bytes);
}
