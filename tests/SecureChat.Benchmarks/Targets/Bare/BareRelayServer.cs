using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading.Channels;
using SecureChat.Transport.Tls;

namespace SecureChat.Benchmarks.Targets.Bare;

/// <summary>
/// The transport's limit on this machine: TcpListener + SslStream with the same TLS 1.3 mutual-TLS settings
/// as our server, the same 4-byte length framing, and nothing else. A connection's first frame is the UTF-8
/// name of the room it joins (answered with an empty frame once joined); every later frame is copied, prefix and all, to the other members of that room.
/// No actors, no parsing beyond the length prefix. A member's outbox is bounded and applies back-pressure to
/// the sender's reader instead of dropping, so it loses nothing.
/// </summary>
internal sealed class BareRelayServer : IAsyncDisposable
{
    private const int OutboxFrames = 4096;
    private const int WriteBatchBytes = 64 * 1024;

    /// <summary>An empty frame: the answer to a join once the member is in the room.</summary>
    private static readonly byte[] JoinAcknowledgement = new byte[FrameSplitter.PrefixBytes];

    private readonly SslServerAuthenticationOptions _tlsOptions;
    private readonly int _maxFrameBytes;
    private readonly ConcurrentDictionary<string, Room> _rooms = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Member, Task> _connections = new();
    private readonly CancellationTokenSource _stop = new();
    private TcpListener? _listener;
    private Task _acceptLoop = Task.CompletedTask;

    public BareRelayServer(X509Certificate2 serverCertificate, X509Certificate2 caCertificate, int maxFrameBytes)
    {
        _tlsOptions = TlsSettings.ForServer(serverCertificate, caCertificate);
        _maxFrameBytes = maxFrameBytes;
    }

    public int ConnectionCount => _connections.Count;

    public IPEndPoint Start(int port)
    {
        _listener = new TcpListener(IPAddress.Loopback, port);
        _listener.Start(backlog: 4096);
        _acceptLoop = Task.Run(AcceptLoopAsync);
        return (IPEndPoint)_listener.LocalEndpoint;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener?.Stop();
        try
        {
            await _acceptLoop;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopping the listener ends the accept loop.
        }

        foreach (var member in _connections.Keys)
        {
            member.Close();
        }

        await Task.WhenAll(_connections.Values).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var socket = await _listener!.AcceptSocketAsync(_stop.Token);
            socket.NoDelay = true;
            var member = new Member(socket);
            _connections[member] = Task.Run(() => ServeAsync(member));
        }
    }

    private async Task ServeAsync(Member member)
    {
        Room? room = null;
        try
        {
            using var handshake = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            handshake.CancelAfter(TimeSpan.FromSeconds(30));
            await member.Tls.AuthenticateAsServerAsync(_tlsOptions, handshake.Token);
            var writer = Task.Run(() => WriteLoopAsync(member));
            var splitter = new FrameSplitter(_maxFrameBytes);
            await splitter.RunAsync(member.Tls, async frame =>
            {
                if (room is null)
                {
                    var name = Encoding.UTF8.GetString(frame.Span[FrameSplitter.PrefixBytes..]);
                    room = _rooms.GetOrAdd(name, _ => new Room());
                    room.Add(member);
                    await member.Outbox.Writer.WriteAsync(JoinAcknowledgement, _stop.Token);
                    return;
                }

                // One copy per frame, shared by every recipient: frames are never modified after this.
                var copy = frame.ToArray();
                foreach (var other in room.Members)
                {
                    if (!ReferenceEquals(other, member) && !other.Outbox.Writer.TryWrite(copy))
                    {
                        await other.Outbox.Writer.WriteAsync(copy, _stop.Token);
                    }
                }
            }, _stop.Token);
            member.Outbox.Writer.TryComplete();
            await writer;
        }
        catch (Exception ex) when (ex is IOException or SocketException or InvalidDataException or EndOfStreamException
                                       or OperationCanceledException or ObjectDisposedException or System.Security.Authentication.AuthenticationException
                                       or ChannelClosedException)
        {
            // A client that goes away or misbehaves only ends its own connection.
        }
        finally
        {
            room?.Remove(member);
            member.Outbox.Writer.TryComplete();
            member.Close();
            _connections.TryRemove(member, out _);
        }
    }

    /// <summary>Drains the outbox into one buffer per write, so a burst costs a few TLS records.</summary>
    private static async Task WriteLoopAsync(Member member)
    {
        var batch = new byte[WriteBatchBytes];
        var reader = member.Outbox.Reader;
        try
        {
            while (await reader.WaitToReadAsync())
            {
                var length = 0;
                while (reader.TryPeek(out var frame))
                {
                    if (length > 0 && length + frame.Length > batch.Length)
                    {
                        break;
                    }

                    reader.TryRead(out _);
                    if (frame.Length > batch.Length)
                    {
                        await member.Tls.WriteAsync(frame);
                        continue;
                    }

                    frame.CopyTo(batch, length);
                    length += frame.Length;
                }

                if (length > 0)
                {
                    await member.Tls.WriteAsync(batch.AsMemory(0, length));
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or SocketException)
        {
            member.Close();
        }
    }

    private sealed class Member
    {
        public Member(Socket socket)
        {
            Tls = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
        }

        public SslStream Tls { get; }

        public Channel<byte[]> Outbox { get; } = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(OutboxFrames)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });

        public void Close()
        {
            try
            {
                Tls.Dispose();
            }
            catch (IOException)
            {
                // Already broken.
            }
        }
    }

    /// <summary>Members as an immutable array swapped under a lock: fan-out reads it without locking.</summary>
    private sealed class Room
    {
        private readonly Lock _gate = new();
        private volatile Member[] _members = [];

        public Member[] Members => _members;

        public void Add(Member member)
        {
            lock (_gate)
            {
                _members = [.. _members, member];
            }
        }

        public void Remove(Member member)
        {
            lock (_gate)
            {
                _members = _members.Where(m => !ReferenceEquals(m, member)).ToArray();
            }
        }
    }
}
