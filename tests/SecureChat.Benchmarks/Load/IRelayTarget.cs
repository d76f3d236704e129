namespace SecureChat.Benchmarks.Load;

/// <summary>
/// Something that relays a room's messages to the room's other members: our server, the bare TLS relay,
/// nats-server, mosquitto. The load generator drives every target through this interface alone, so the
/// same workload and the same measuring code apply to each.
/// </summary>
internal interface IRelayTarget : IAsyncDisposable
{
    /// <summary>Short name used in the tables and the JSON ("securechat", "bare", "nats", "mosquitto").</summary>
    string Name { get; }

    /// <summary>A line describing the target's version and settings, for the report.</summary>
    string Description { get; }

    /// <summary>The process doing the relaying, for its CPU time and memory; null when it runs inside this process.</summary>
    int? ServerProcessId { get; }

    /// <summary>Every process doing the relaying (the nodes of a cluster); their CPU time is added up.</summary>
    IReadOnlyList<int> ServerProcessIds => ServerProcessId is { } id ? [id] : [];

    /// <summary>The last lines the relay process printed (warnings and errors), for the notes when a run lost messages.</summary>
    string RecentLog { get; }

    /// <summary>Starts the relay (a child process, or a listener in this process) and waits until it accepts connections.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Connects the members of one room with their own client certificates and has them join it; returns
    /// one client per member, in the order given. Deliveries to member i go to <paramref name="sinks"/>[i].
    /// </summary>
    Task<IReadOnlyList<IRelayClient>> JoinRoomAsync(string roomId, IReadOnlyList<string> memberIds, int payloadBytes,
        IReadOnlyList<IDeliverySink> sinks, CancellationToken cancellationToken);

    /// <summary>
    /// Opens one authenticated connection that then stays idle: TLS with the client's certificate plus the
    /// target's own greeting (HELLO/WELCOME for ours, CONNECT for NATS and MQTT), keepalives answered.
    /// The caller disposes it; <paramref name="onLost"/> is called if the relay drops it.
    /// </summary>
    Task<IAsyncDisposable> ConnectIdleAsync(string clientId, Action<string> onLost, CancellationToken cancellationToken);
}

/// <summary>One connected member. Sends come from one task at a time; deliveries arrive on the client's own reader.</summary>
internal interface IRelayClient : IAsyncDisposable
{
    string ClientId { get; }

    /// <summary>Queues one message of the workload's payload size carrying <paramref name="stamp"/>; may write when its buffer is full.</summary>
    ValueTask SendAsync(Stamp stamp, CancellationToken cancellationToken);

    /// <summary>Writes whatever <see cref="SendAsync"/> has buffered.</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken);
}

/// <summary>Where a client reports each delivered message: the 16 stamp bytes at the start of its payload.</summary>
internal interface IDeliverySink
{
    void Delivered(ReadOnlySpan<byte> stamp);

    /// <summary>Something other than a message arrived that means a loss or a refusal (an ERROR frame, a disconnect).</summary>
    void Problem(string description);
}

/// <summary>A target whose clients do real crypto: how much of the load generator's time went into it.</summary>
internal interface IClientCryptoMeter
{
    /// <summary>Seconds spent in the engine's Encrypt and Decrypt so far, all clients together.</summary>
    double ClientCryptoSeconds { get; }
}
