using System.Text.Json;
using System.Text.Json.Serialization;

namespace SecureChat.Client.Simulation;

public sealed record PercentilesMs(
    [property: JsonPropertyName("p50")] double P50,
    [property: JsonPropertyName("p99")] double P99,
    [property: JsonPropertyName("max")] double Max);

/// <summary>A room of the run and the epoch it ended at.</summary>
public sealed record RoomReport(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("epoch")] ulong Epoch);

/// <summary>
/// What a simulation run measured. Each message counts once per receiver (every other member of its sender's room):
/// <see cref="Expected"/> = <see cref="Delivered"/> + <see cref="ReportedFailed"/> + <see cref="Lost"/>; further copies are
/// <see cref="Duplicates"/>. <see cref="Passed"/> is false if anything was lost (neither delivered nor reported to its
/// sender), reported failed, duplicated, undecryptable or reported withheld by a receiver.
/// </summary>
public sealed record SimulationReport
{
    [JsonPropertyName("clients")]
    public int Clients { get; init; }

    /// <summary>Each room by name, with the epoch it ended at as its clients saw it (the last epoch any of them had keys for).</summary>
    [JsonPropertyName("rooms")]
    public IReadOnlyList<RoomReport> Rooms { get; init; } = [];

    [JsonPropertyName("sent")]
    public long Sent { get; init; }

    [JsonPropertyName("expected")]
    public long Expected { get; init; }

    [JsonPropertyName("delivered")]
    public long Delivered { get; init; }

    /// <summary>Deliveries that did not happen and whose senders were not told: lost without a word.</summary>
    [JsonPropertyName("lost")]
    public long Lost { get; init; }

    /// <summary>Deliveries that did not happen to messages whose senders were told they may not have been delivered.</summary>
    [JsonPropertyName("reported_failed")]
    public long ReportedFailed { get; init; }

    /// <summary>Messages whose senders were told they may not have been delivered (their missing deliveries are <see cref="ReportedFailed"/>, not <see cref="Lost"/>).</summary>
    [JsonPropertyName("not_delivered")]
    public long NotDelivered { get; init; }

    /// <summary>Copies a receiver decrypted (and showed) again after the first.</summary>
    [JsonPropertyName("duplicates")]
    public long Duplicates { get; init; }

    /// <summary>Copies the receivers' engines dropped as replays (messages resent after a resume): not shown, not duplicates.</summary>
    [JsonPropertyName("copiesDropped")]
    public long CopiesDropped { get; init; }

    /// <summary>Connections lost during the run (server restarts, churn); the clients reconnect and resume.</summary>
    [JsonPropertyName("disconnects")]
    public long Disconnects { get; init; }

    [JsonPropertyName("reconnects")]
    public long Reconnects { get; init; }

    /// <summary>Rooms resumed after a reconnect (their missed messages replayed by a server that keeps a message log).</summary>
    [JsonPropertyName("resumes")]
    public long Resumes { get; init; }

    /// <summary>Clients the churn (<see cref="SimulationOptions.Churn"/>) dropped on purpose.</summary>
    [JsonPropertyName("churned")]
    public long Churned { get; init; }

    [JsonPropertyName("decryptFailures")]
    public long DecryptFailures { get; init; }

    /// <summary>Messages the clients reported as withheld by the server (drop detection, PROTOCOL.md §11.1).</summary>
    [JsonPropertyName("withheld")]
    public long Withheld { get; init; }

    [JsonPropertyName("errors")]
    public long Errors { get; init; }

    [JsonPropertyName("latencyMs")]
    public required PercentilesMs LatencyMs { get; init; }

    [JsonPropertyName("joinMs")]
    public required PercentilesMs JoinMs { get; init; }

    [JsonPropertyName("keyEstablishmentMs")]
    public double KeyEstablishmentMs { get; init; }

    [JsonPropertyName("messagesPerSecond")]
    public double MessagesPerSecond { get; init; }

    [JsonPropertyName("elapsedMs")]
    public double ElapsedMs { get; init; }

    [JsonPropertyName("passed")]
    public bool Passed => Lost == 0 && ReportedFailed == 0 && NotDelivered == 0 && Duplicates == 0 && DecryptFailures == 0 && Withheld == 0 && Sent > 0;

    [JsonPropertyName("problems")]
    public IReadOnlyList<string> Problems { get; init; } = [];

    public string ToJson() => JsonSerializer.Serialize(this);
}
