namespace SecureChat.Testing.Honest;

/// <summary>
/// Sits between a client's frame reader/writer and its TLS stream and keeps a copy of every byte in both
/// directions: exactly the bytes the server decrypted from this client and the bytes it sent to it.
/// </summary>
public sealed class RecordingStream(Stream inner, ByteLog log) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count)
    {
        var read = inner.Read(buffer, offset, count);
        log.Append(buffer.AsSpan(offset, read));
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        log.Append(buffer.Span[..read]);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count)
    {
        log.Append(buffer.AsSpan(offset, count));
        inner.Write(buffer, offset, count);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        log.Append(buffer.Span);
        await inner.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}

/// <summary>A thread-safe append-only byte log shared by several recording streams.</summary>
public sealed class ByteLog
{
    private readonly List<byte> _bytes = [];
    private readonly Lock _gate = new();

    public int Length { get { lock (_gate) { return _bytes.Count; } } }

    public void Append(ReadOnlySpan<byte> bytes)
    {
        lock (_gate)
        {
            _bytes.AddRange(bytes);
        }
    }

    public byte[] ToArray()
    {
        lock (_gate)
        {
            return [.. _bytes];
        }
    }
}
