using System.Buffers.Binary;

namespace SecureChat.Benchmarks.Targets;

/// <summary>
/// Reads 4-byte big-endian length-prefixed frames from a stream with one large buffer, handing each
/// complete frame (prefix included) to a callback without copying; the callback must copy what it keeps.
/// </summary>
internal sealed class FrameSplitter
{
    public const int PrefixBytes = 4;
    private readonly int _maxFrameBytes;
    private byte[] _buffer;
    private int _start;
    private int _end;

    public FrameSplitter(int maxFrameBytes, int bufferBytes = 256 * 1024)
    {
        _maxFrameBytes = maxFrameBytes;
        _buffer = new byte[Math.Max(bufferBytes, maxFrameBytes + PrefixBytes)];
    }

    /// <summary>Reads until end of stream; a length above the maximum throws <see cref="InvalidDataException"/>.</summary>
    public async Task RunAsync(Stream stream, Func<ReadOnlyMemory<byte>, ValueTask> onFrame, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_end == _buffer.Length)
            {
                Compact();
            }

            var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            if (read == 0)
            {
                if (_end != _start)
                {
                    throw new EndOfStreamException("stream ended inside a frame");
                }

                return;
            }

            _end += read;
            while (_end - _start >= PrefixBytes)
            {
                var length = BinaryPrimitives.ReadUInt32BigEndian(_buffer.AsSpan(_start));
                if (length > (uint)_maxFrameBytes)
                {
                    throw new InvalidDataException($"frame of {length} bytes is over the limit of {_maxFrameBytes}");
                }

                var total = PrefixBytes + (int)length;
                if (_end - _start < total)
                {
                    break;
                }

                await onFrame(_buffer.AsMemory(_start, total));
                _start += total;
            }

            if (_start == _end)
            {
                _start = _end = 0;
            }
        }
    }

    private void Compact()
    {
        var pending = _end - _start;
        Buffer.BlockCopy(_buffer, _start, _buffer, 0, pending);
        _start = 0;
        _end = pending;
    }

    public static void WritePrefix(Span<byte> destination, int bodyLength) =>
        BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)bodyLength);
}
