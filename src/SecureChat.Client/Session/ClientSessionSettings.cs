using SecureChat.Client.Connection;

namespace SecureChat.Client.Session;

/// <summary>Tunables of a session; the defaults suit an interactive client.</summary>
public sealed record ClientSessionSettings
{
    /// <summary>First reconnect delay step; doubled per failed attempt up to <see cref="MaxBackoff"/>, each wait spread by <see cref="BackoffJitter"/>.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How much of each backoff step may be cut at random (0 … 1): with 0.5 a wait lies in (step/2, step]. Clients that
    /// lost a restarting server together then come back spread out instead of in waves (<see cref="ReconnectBackoff"/>).
    /// </summary>
    public double BackoffJitter { get; init; } = 0.5;

    /// <summary>Where each wait's share of the jitter comes from: uniform in [0, 1); tests pin it.</summary>
    public Func<double> BackoffSample { get; init; } = Random.Shared.NextDouble;

    /// <summary>How long to wait for WELCOME after the TLS handshake.</summary>
    public TimeSpan WelcomeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Sends held per room while its keys are not ready; above it sends are refused with a warning.</summary>
    public int MaxQueuedSends { get; init; } = 1000;

    /// <summary>Messages held per room whose keys have not arrived yet; the oldest is dropped with a warning.</summary>
    public int MaxHeldMessages { get; init; } = 1000;

    /// <summary>
    /// After the relay refused one of our automatic rekeys (it limits rekeys per member per minute), how long the room
    /// waits before it rekeys by itself again; without it every send would commit another rekey to be refused.
    /// </summary>
    public TimeSpan RekeyRetryDelay { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How often each room ticks: old epochs' keys past their retention are erased, and a rekey due by time
    /// (<see cref="Protocol.Group.GroupOptions.RekeyAfterMs"/>) is committed even when nobody sends.
    /// </summary>
    public TimeSpan RoomTickInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A room with nothing but a pending join gives up after this long without admission.</summary>
    public TimeSpan AdmissionTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a sent message waits for the relay's RELAYED before it is reported as not delivered
    /// (<see cref="MessageNotDelivered"/>).
    /// </summary>
    public TimeSpan AckTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public string ClientSoftware { get; init; } = "securechat-client/1";

    public int MaxRooms { get; init; } = 64;

    /// <summary>
    /// Frames per second this client sends at most (0: no pacing). The relay drops frames above its own budget
    /// (200/s with a burst of 400 by default), so the client stays below it and queues the excess instead.
    /// </summary>
    public double MaxFramesPerSecond { get; init; } = 150;

    /// <summary>Frames that may go out at once before pacing starts.</summary>
    public int FrameBurst { get; init; } = 300;

    /// <summary>Frames waiting for the pacer; above it a frame is dropped with a warning.</summary>
    public int MaxPacedFrames { get; init; } = 10_000;
}
