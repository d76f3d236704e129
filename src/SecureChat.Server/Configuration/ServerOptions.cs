using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using SecureChat.Core.Framing;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Server.Cluster;
using SecureChat.Server.Connections;
using SecureChat.Server.Listener;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Protocol.Relay;

namespace SecureChat.Server.Configuration;

/// <summary>
/// Server settings, bound from the <c>Server</c> configuration section: the command line (each property's switch,
/// see <see cref="ServerOptionCatalog"/>, or <c>--Server:Name value</c>) or environment variables <c>Server__Name</c>.
/// Each property's <see cref="DescriptionAttribute"/> and default are what <c>--help</c> prints, and the README's
/// "Server" section shows that output.
/// </summary>
public sealed class ServerOptions
{
    public const string Section = "Server";

    /// <summary>The certificates folder used when none is named: the only one development certificates are made in unasked.</summary>
    public const string DefaultCertificatesPath = "certs";

    [Description("address to listen on")]
    [OptionSwitch(Value = "ADDRESS")]
    [Required]
    public string Host { get; set; } = "127.0.0.1";

    [Description("TCP port; 0 picks a free one")]
    [Range(0, 65535)]
    public int Port { get; set; } = 4443;

    [Description("folder with ca.pem, server.pem and server.key")]
    [OptionSwitch("--certs", Value = "DIR")]
    [Required]
    public string CertificatesPath { get; set; } = DefaultCertificatesPath;

    [Description("make a development CA and server certificate in the certificates folder when it has none; " +
                 "unset: only in the default folder (certs), false: never")]
    [OptionSwitch("--dev-certs")]
    public bool? CreateDevelopmentCertificates { get; set; }

    [Description("Akka settings file (HOCON); by default hocon/server.hocon, else server.hocon next to the executable")]
    [OptionSwitch("--hocon", Value = "FILE")]
    public string? HoconPath { get; set; }

    [Description("folder of the rooms' SQLite databases (made on first run); by default ~/.local/share/securechat/server")]
    [OptionSwitch("--data", Value = "DIR")]
    public string? DataPath { get; set; }

    [Description("store the rooms in PostgreSQL (Npgsql connection string) instead of SQLite: what a cluster's nodes share")]
    [OptionSwitch("--postgres", Value = "CONNECTION_STRING")]
    public string? PostgresConnectionString { get; set; }

    [Description("address the cluster transport (Akka.Remote, not authenticated: never an open network) binds to")]
    [OptionSwitch(Value = "ADDRESS")]
    [Required]
    public string ClusterHost { get; set; } = "127.0.0.1";

    [Description("port of the cluster transport; 0 picks a free one (enough for a cluster of one)")]
    [Range(0, 65535)]
    public int ClusterPort { get; set; }

    [Description("the address other nodes reach this one at, when it is not ClusterHost (needed when that is 0.0.0.0)")]
    [OptionSwitch(Value = "ADDRESS")]
    public string? ClusterPublicHost { get; set; }

    [Description("a seed node's cluster transport, repeatable or comma-separated; none: a cluster of one. " +
                 "A node that lists itself first may start the cluster alone")]
    [OptionSwitch("--seed", Value = "HOST:PORT")]
    public string[] Seeds { get; set; } = [];

    [Description("serve Prometheus metrics (/metrics) and health (/healthz, /readyz) over HTTP there; unset: off")]
    [OptionSwitch("--metrics", Value = "HOST:PORT")]
    public string? MetricsEndpoint { get; set; }

    [Description("console log format")]
    [OptionSwitch(Value = "text|json")]
    public ServerLogFormat LogFormat { get; set; } = ServerLogFormat.Text;

    [Description("log at Debug, and show the stack trace of a startup failure")]
    public bool Verbose { get; set; }

    [Description("a room saves a snapshot of its durable state every this many journaled events")]
    [Range(1, 1_000_000)]
    public int RoomSnapshotEvery { get; set; } = 100;

    [Description("keep a durable log of what each room relays: senders get STORED once a message is durable, members that come back get " +
                 "what they missed; false: messages reach only members connected at the time")]
    public bool MessageLog { get; set; } = true;

    [Description("messages a room's log keeps at most (older ones go first; a member that missed them is told how many)")]
    [Range(1, 10_000_000)]
    public int MessageLogMaxMessages { get; set; } = MessageLogLimits.Default.MaxMessages;

    [Description("envelope bytes a room's log keeps at most")]
    [Range(64 * 1024, 64L * 1024 * 1024 * 1024)]
    public long MessageLogMaxBytes { get; set; } = MessageLogLimits.Default.MaxBytes;

    [Description("how long a room's log keeps a message")]
    public TimeSpan MessageLogMaxAge { get; set; } = MessageLogLimits.Default.MaxAge;

    [Description("largest frame accepted and sent (announced in WELCOME); a commit whose relayed envelope would exceed it is refused")]
    [Range(1024, WireLimits.MaxFrameBytesCeiling)]
    public int MaxFrameBytes { get; set; } = WireLimits.DefaultMaxFrameBytes;

    // Generous on purpose: a reader that keeps up on average still falls behind for a moment when many members of a
    // busy room send at once, and cutting it off costs every member a rekey.
    [Description("frames queued for one client; a client that lets it fill is disconnected (slow consumer)")]
    [Range(1, 1_000_000)]
    public int OutboundQueueLength { get; set; } = 16 * 1024;

    [Description("bytes queued for one client (at least one largest frame); a client that lets it fill is disconnected")]
    [Range(64 * 1024, 1024L * 1024 * 1024)]
    public long OutboundQueueBytes { get; set; } = 4 * 1024 * 1024;

    [Description("time allowed for the TLS handshake after accept")]
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    [Description("time allowed for a valid HELLO after the handshake")]
    public TimeSpan HelloTimeout { get; set; } = TimeSpan.FromSeconds(5);

    [Description("a client silent this long gets a PING; silent another interval, it is disconnected (IDLE_TIMEOUT); 0 disables")]
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(30);

    [Description("how long a closing connection may take to write its last frames")]
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(2);

    [Description("open connections, TLS handshakes included; more are closed at accept")]
    [Range(1, 1_000_000)]
    public int MaxConnections { get; set; } = 1000;

    [Description("open connections from one address (an IPv4 address, or an IPv6 /64), TLS handshakes included; more are closed at accept")]
    [Range(1, 1_000_000)]
    public int MaxConnectionsPerAddress { get; set; } = 500;

    [Description("TLS handshakes in progress from one address (an IPv4 address, or an IPv6 /64); more are closed at accept")]
    [Range(1, 1_000_000)]
    public int MaxHandshakesPerAddress { get; set; } = 32;

    [Description("TLS handshakes in progress from all addresses together; more are closed at accept, so that connections " +
                 "still in their handshake never hold every slot")]
    [Range(1, 1_000_000)]
    public int MaxHandshakes { get; set; } = 256;

    [Description("rooms one connection may join")]
    [Range(1, 10_000)]
    public int MaxRoomsPerConnection { get; set; } = 32;

    [Description("members plus waiting joiners of one room (announced in WELCOME); the commit admitting the last one must fit MaxFrameBytes")]
    [Range(1, WireLimits.MaxMembersPerRoomCeiling)]
    public int MaxMembersPerRoom { get; set; } = WireLimits.DefaultMaxMembersPerRoom;

    [Description("steady inbound frames per second per connection (token bucket)")]
    [Range(1, 1_000_000)]
    public int FramesPerSecond { get; set; } = 200;

    [Description("inbound frames per connection above the steady rate in a burst")]
    [Range(1, 1_000_000)]
    public int FrameBurst { get; set; } = 400;

    [Description("steady inbound bytes per second per connection")]
    [Range(1024, int.MaxValue)]
    public int BytesPerSecond { get; set; } = 1024 * 1024;

    [Description("inbound bytes per connection above the steady rate in a burst")]
    [Range(1024, int.MaxValue)]
    public int ByteBurst { get; set; } = 4 * 1024 * 1024;

    [Description("frames in a row over the budget (dropped, the first answered RATE_LIMITED) before the connection is closed")]
    [Range(1, 1_000_000)]
    public int RateLimitStrikes { get; set; } = 100;

    [Description("non-fatal protocol errors one connection may make before it is closed")]
    [Range(1, 1_000_000)]
    public int MaxProtocolErrors { get; set; } = 20;

    [Description("time the asked member has to commit before the next member is asked")]
    public TimeSpan CommitTimeout { get; set; } = TimeSpan.FromSeconds(10);

    [Description("how long an empty room lives before it is passivated (it comes back from storage on its next message)")]
    public TimeSpan EmptyRoomGracePeriod { get; set; } = TimeSpan.FromSeconds(30);

    [Description("rekeys (unasked commits) one member may have accepted per room in any minute; more are refused (COMMIT_REJECTED)")]
    [Range(1, 10_000)]
    public int RekeysPerMemberPerMinute { get; set; } = 10;

    /// <summary>Whether development certificates may be made in <paramref name="directory"/> (a full path) when it has none.</summary>
    public bool MayCreateDevelopmentCertificates(string directory) =>
        CreateDevelopmentCertificates ?? string.Equals(Path.GetFullPath(directory), Path.GetFullPath(DefaultCertificatesPath), StringComparison.Ordinal);

    public AdmissionLimits ToAdmissionLimits() => new(MaxConnections, MaxConnectionsPerAddress, MaxHandshakesPerAddress, MaxHandshakes);

    public ConnectionSettings ToConnectionSettings() =>
        new(MaxFrameBytes, MaxRoomsPerConnection, MaxMembersPerRoom, HelloTimeout, KeepAliveInterval, MaxProtocolErrors) { MessageLog = MessageLog };

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
        MessageLog = MessageLog
            ? MessageLogLimits.Default with { MaxMessages = MessageLogMaxMessages, MaxBytes = MessageLogMaxBytes, MaxAge = MessageLogMaxAge }
            : null,
    };

    /// <summary>Checks what data annotations cannot express: the timeouts, and limits that depend on each other.</summary>
    public IEnumerable<string> ConsistencyErrors()
    {
        if (OutboundQueueBytes < MaxFrameBytes + FrameCodec.PrefixSize)
        {
            yield return "OutboundQueueBytes must hold at least one frame of MaxFrameBytes";
        }

        if (CommitSizes.LargestCommitFrame(MaxMembersPerRoom) is var largest && largest > MaxFrameBytes)
        {
            // Members would be asked for commits that no frame can carry: the room would never reach its size.
            yield return string.Create(CultureInfo.InvariantCulture,
                $"MaxMembersPerRoom {MaxMembersPerRoom} needs frames of up to {largest} bytes (the commit that admits the last member, " +
                $"PROTOCOL.md §13), more than MaxFrameBytes {MaxFrameBytes}: raise MaxFrameBytes to at least {largest}, " +
                $"or lower MaxMembersPerRoom to at most {CommitSizes.MembersFitting(MaxFrameBytes)}");
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

        if (MessageLogMaxAge <= TimeSpan.Zero)
        {
            yield return "MessageLogMaxAge must be positive";
        }

        foreach (var seed in Seeds)
        {
            if (!ClusterSeed.TryParse(seed, out _))
            {
                yield return $"Seeds: '{seed}' is not HOST:PORT (a port from 1 to 65535)";
            }
        }

        if (!string.IsNullOrWhiteSpace(MetricsEndpoint) && !ClusterSeed.TryParse(MetricsEndpoint, out _, allowPortZero: true))
        {
            yield return $"MetricsEndpoint: '{MetricsEndpoint}' is not HOST:PORT (a port from 0 to 65535)";
        }

        if (string.IsNullOrWhiteSpace(ClusterPublicHost) && ClusterSeed.IsWildcard(ClusterHost))
        {
            yield return "ClusterPublicHost is needed when ClusterHost is a wildcard address: the others must be told where to reach this node";
        }
    }
}
