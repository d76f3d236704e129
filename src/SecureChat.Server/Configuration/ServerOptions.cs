using System.ComponentModel.DataAnnotations;
using SecureChat.Core.Framing;
using SecureChat.Core.Wire;
using SecureChat.Server.Cluster;
using SecureChat.Server.Connections;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Protocol.Relay;

namespace SecureChat.Server.Configuration;

/// <summary>
/// Server settings, bound from the <c>Server</c> configuration section (command line <c>--Server:Name=value</c>,
/// environment <c>Server__Name</c>, or the short switches <c>--host --port --certs --hocon</c>).
/// The defaults are documented in the README's "Server" section.
/// </summary>
public sealed class ServerOptions
{
    public const string Section = "Server";

    /// <summary>Address to listen on.</summary>
    [Required]
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free one (tests).</summary>
    [Range(0, 65535)]
    public int Port { get; set; } = 4443;

    /// <summary>Folder with ca.pem, server.pem and server.key; development ones are made there when missing.</summary>
    [Required]
    public string CertificatesPath { get; set; } = "certs";

    /// <summary>Akka settings file; by default hocon/server.hocon, else server.hocon next to the executable.</summary>
    public string? HoconPath { get; set; }

    /// <summary>Folder of the rooms' SQLite databases (made on first run); by default the per-user data folder (<c>RoomStorage.DefaultDataPath</c>).</summary>
    public string? DataPath { get; set; }

    /// <summary>A PostgreSQL connection string: the rooms are stored there instead of in SQLite (what a cluster's nodes share).</summary>
    public string? PostgresConnectionString { get; set; }

    /// <summary>Address the cluster transport (Akka.Remote) binds to; never an open network (it is not authenticated).</summary>
    [Required]
    public string ClusterHost { get; set; } = "127.0.0.1";

    /// <summary>Port of the cluster transport; 0 picks a free one (enough for a server that is a cluster of one).</summary>
    [Range(0, 65535)]
    public int ClusterPort { get; set; }

    /// <summary>
    /// The address other nodes reach this one at, when it differs from <see cref="ClusterHost"/> (a node bound to
    /// 0.0.0.0, or behind an address translation); every node must name the others the same way.
    /// </summary>
    public string? ClusterPublicHost { get; set; }

    /// <summary>
    /// The cluster's seed nodes as HOST:PORT of their cluster transport (<c>--seed</c>, repeatable). None: the server
    /// is a cluster of one and joins itself. A node that lists itself first may start the cluster alone.
    /// </summary>
    public string[] Seeds { get; set; } = [];

    /// <summary>A room saves a snapshot of its durable state every this many journaled events.</summary>
    [Range(1, 1_000_000)]
    public int RoomSnapshotEvery { get; set; } = 100;

    /// <summary>Whether to make a development CA and server certificate when the folder has none.</summary>
    public bool CreateDevelopmentCertificates { get; set; } = true;

    [Range(1024, 16 * 1024 * 1024)]
    public int MaxFrameBytes { get; set; } = WireLimits.DefaultMaxFrameBytes;

    /// <summary>
    /// Frames waiting to be written to one client; a client that lets it (or <see cref="OutboundQueueBytes"/>)
    /// fill is disconnected. Generous on purpose: a reader that keeps up on average still falls behind for a
    /// moment when many members of a busy room send at once, and cutting it off costs every member a rekey.
    /// </summary>
    [Range(1, 1_000_000)]
    public int OutboundQueueLength { get; set; } = 16 * 1024;

    /// <summary>Bytes (frames with their length prefixes) waiting to be written to one client; bounds what a client that stops reading can make the server hold.</summary>
    [Range(64 * 1024, 1024L * 1024 * 1024)]
    public long OutboundQueueBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Time allowed for the TLS handshake after accept.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Time allowed for a valid HELLO after the handshake.</summary>
    public TimeSpan HelloTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A client silent this long gets a PING; silent for another interval, it is disconnected. Zero disables.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long closing a connection waits for its last frames to be written.</summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Open connections, handshakes included; more are closed at accept.</summary>
    [Range(1, 1_000_000)]
    public int MaxConnections { get; set; } = 1000;

    [Range(1, 10_000)]
    public int MaxRoomsPerConnection { get; set; } = 32;

    [Range(1, 10_000)]
    public int MaxMembersPerRoom { get; set; } = 100;

    /// <summary>Steady inbound frames per second per connection, and the burst above it.</summary>
    [Range(1, 1_000_000)]
    public int FramesPerSecond { get; set; } = 200;

    [Range(1, 1_000_000)]
    public int FrameBurst { get; set; } = 400;

    /// <summary>Steady inbound bytes per second per connection, and the burst above it.</summary>
    [Range(1024, int.MaxValue)]
    public int BytesPerSecond { get; set; } = 1024 * 1024;

    [Range(1024, int.MaxValue)]
    public int ByteBurst { get; set; } = 4 * 1024 * 1024;

    /// <summary>Frames in a row over the budget (dropped) before the connection is closed.</summary>
    [Range(1, 1_000_000)]
    public int RateLimitStrikes { get; set; } = 100;

    /// <summary>Non-fatal protocol errors one connection may make before it is closed.</summary>
    [Range(1, 1_000_000)]
    public int MaxProtocolErrors { get; set; } = 20;

    /// <summary>Time the asked member has to commit before the next member is asked.</summary>
    public TimeSpan CommitTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long an empty room lives before it is stopped.</summary>
    public TimeSpan EmptyRoomGracePeriod { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Rekeys (unasked commits) one member may have accepted per room in any minute; more are refused (COMMIT_REJECTED).</summary>
    [Range(1, 10_000)]
    public int RekeysPerMemberPerMinute { get; set; } = 10;

    public ConnectionSettings ToConnectionSettings() =>
        new(MaxFrameBytes, MaxRoomsPerConnection, MaxMembersPerRoom, HelloTimeout, KeepAliveInterval, MaxProtocolErrors);

    public ConnectionIoSettings ToConnectionIoSettings() =>
        new(MaxFrameBytes, OutboundQueueLength, OutboundQueueBytes, FramesPerSecond, FrameBurst, BytesPerSecond, ByteBurst, RateLimitStrikes, CloseTimeout);

    /// <summary>
    /// The cluster transport: its largest message is a client frame with its routing, and a commit relayed to up to
    /// every member of a room on one node carries each member's actor path (under 256 bytes each).
    /// </summary>
    public ClusterNodeSettings ToClusterSettings() => new(ClusterHost, ClusterPort, ClusterPublicHost,
        [.. Seeds.Select(seed => ClusterSeed.TryParse(seed, out var parsed) ? parsed : throw new FormatException($"seed '{seed}' is not HOST:PORT"))],
        MaxFrameBytes + (256L * MaxMembersPerRoom) + (64 * 1024));

    public RoomSettings ToRoomSettings(TimeProvider clock) => new(MaxMembersPerRoom, CommitTimeout, EmptyRoomGracePeriod, new TimeProviderClock(clock))
    {
        MaxFrameBytes = MaxFrameBytes,
        RekeysPerMemberPerMinute = RekeysPerMemberPerMinute,
    };

    /// <summary>Checks what data annotations cannot express: the timeouts, and limits that depend on each other.</summary>
    public IEnumerable<string> ConsistencyErrors()
    {
        if (OutboundQueueBytes < MaxFrameBytes + FrameCodec.PrefixSize)
        {
            yield return "OutboundQueueBytes must hold at least one frame of MaxFrameBytes";
        }

        if (HandshakeTimeout <= TimeSpan.Zero)
        {
            yield return "HandshakeTimeout must be positive";
        }

        if (HelloTimeout <= TimeSpan.Zero)
        {
            yield return "HelloTimeout must be positive";
        }

        if (KeepAliveInterval < TimeSpan.Zero)
        {
            yield return "KeepAliveInterval must not be negative";
        }

        if (CloseTimeout <= TimeSpan.Zero)
        {
            yield return "CloseTimeout must be positive";
        }

        if (CommitTimeout <= TimeSpan.Zero)
        {
            yield return "CommitTimeout must be positive";
        }

        if (EmptyRoomGracePeriod < TimeSpan.Zero)
        {
            yield return "EmptyRoomGracePeriod must not be negative";
        }

        foreach (var seed in Seeds)
        {
            if (!ClusterSeed.TryParse(seed, out _))
            {
                yield return $"Seeds: '{seed}' is not HOST:PORT (a port from 1 to 65535)";
            }
        }

        if (string.IsNullOrWhiteSpace(ClusterPublicHost) && ClusterSeed.IsWildcard(ClusterHost))
        {
            yield return "ClusterPublicHost is needed when ClusterHost is a wildcard address: the others must be told where to reach this node";
        }
    }
}
