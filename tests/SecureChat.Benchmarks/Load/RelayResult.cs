namespace SecureChat.Benchmarks.Load;

/// <summary>One measured run of one workload against one target; what the tables and the JSON show.</summary>
internal sealed record RelayResult
{
    public required string Target { get; init; }

    public required string Shape { get; init; }

    public required string Mode { get; init; }

    public int MessagesPerMember { get; init; }

    public required bool Pinned { get; init; }

    /// <summary>CPUs the relay's threads were allowed on during the run (from /proc), to show the pinning took.</summary>
    public string? ServerCpus { get; init; }

    /// <summary>CPUs the load generator's threads were allowed on during the run.</summary>
    public string? GeneratorCpus { get; init; }

    public required long Expected { get; init; }

    public required long Delivered { get; init; }

    public double DeliveredRatio => Expected == 0 ? 0 : (double)Delivered / Expected;

    /// <summary>Messages sent per second by all senders together (what the open-loop rate is expressed in).</summary>
    public required double SentPerSecond { get; init; }

    /// <summary>Deliveries per second: each message counts once per receiver.</summary>
    public required double DeliveredPerSecond { get; init; }

    public required double Seconds { get; init; }

    public required double P50Micros { get; init; }

    public required double P99Micros { get; init; }

    public required double P999Micros { get; init; }

    public required double MaxMicros { get; init; }

    /// <summary>Latency from when the generator actually queued the message (without the pacer's lateness).</summary>
    public double FromSendP50Micros { get; init; }

    public double FromSendP99Micros { get; init; }

    /// <summary>CPU seconds the relay process used during the measured part; null when it shares our process.</summary>
    public double? ServerCpuSeconds { get; init; }

    /// <summary>Peak resident memory of the relay process since it started (VmHWM).</summary>
    public long? ServerPeakBytes { get; init; }

    /// <summary>Load generator CPU seconds during the measured part (its own share of the machine).</summary>
    public double? GeneratorCpuSeconds { get; init; }

    /// <summary>End-to-end targets: seconds of the generator's CPU spent in the clients' encrypt + sign and verify + decrypt.</summary>
    public double? ClientCryptoSeconds { get; init; }

    /// <summary>Deliveries per second of load-generator CPU: with end-to-end clients, what one core of clients sustains.</summary>
    public double? DeliveriesPerGeneratorCpuSecond => GeneratorCpuSeconds is > 0 ? Delivered / GeneratorCpuSeconds : null;

    /// <summary>Losses and refusals by cause (ERROR frames, disconnects, send stalls).</summary>
    public IReadOnlyDictionary<string, int> Problems { get; init; } = new Dictionary<string, int>();

    public bool Complete => Delivered == Expected;
}
