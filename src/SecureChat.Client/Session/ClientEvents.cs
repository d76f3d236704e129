namespace SecureChat.Client.Session;

/// <summary>Everything a session tells its owner. All immutable.</summary>
public abstract record ClientEvent;

/// <summary>The server accepted the connection and confirmed the id from the certificate.</summary>
public sealed record Connected(string ClientId, string Fingerprint) : ClientEvent;

/// <summary>The server accepted the join; keys follow with <see cref="KeyEstablished"/>.</summary>
public sealed record Joined(string RoomId, ulong CurrentEpoch, int MemberCount) : ClientEvent;

public sealed record Left(string RoomId) : ClientEvent;

/// <summary>A member entered the room; <paramref name="AlreadyPresent"/> when they were there before we were admitted.</summary>
public sealed record MemberJoined(string RoomId, string ClientId, string Fingerprint, bool AlreadyPresent = false) : ClientEvent;

public sealed record MemberLeft(string RoomId, string ClientId, string Fingerprint) : ClientEvent;

/// <summary>The room has keys for <paramref name="Epoch"/>; <paramref name="EpochCode"/> is what members compare.</summary>
public sealed record KeyEstablished(string RoomId, ulong Epoch, string EpochCode, int MemberCount) : ClientEvent;

public sealed record MessageReceived(string RoomId, string SenderId, string Text, DateTimeOffset SentAt, DateTimeOffset ReceivedAt)
    : ClientEvent;

/// <summary>Something the user should know that did not stop anything (queue full, key changed, dropped message).</summary>
public sealed record Warning(string? RoomId, string Text) : ClientEvent;

/// <summary>A failure: an error frame from the server or one found locally.</summary>
public sealed record ErrorReported(string? RoomId, string Code, string Text) : ClientEvent;

/// <summary>The connection is gone; <paramref name="RetryIn"/> says when the next attempt is, null when none will be made.</summary>
public sealed record Disconnected(string Reason, TimeSpan? RetryIn) : ClientEvent;

/// <summary>A new connection is up after a loss; rooms are being rejoined and rekeyed.</summary>
public sealed record Reconnected(int Attempt) : ClientEvent;
