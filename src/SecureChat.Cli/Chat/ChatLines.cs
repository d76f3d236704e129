using System.Globalization;
using System.Text;
using SecureChat.Client.Session;

namespace SecureChat.Cli.Chat;

/// <summary>Where a message of ours is: typed, on the wire, confirmed by the relay, or not delivered (and why).</summary>
internal abstract record Delivery
{
    /// <summary>Waiting for the room's keys (or the connection) before it can be encrypted and sent.</summary>
    public sealed record Queued : Delivery;

    /// <summary>Encrypted and sent; the relay has not confirmed it yet.</summary>
    public sealed record Sent : Delivery;

    /// <summary>The relay confirmed handing it to the members connected then (RELAYED); with a message log, STORED follows.</summary>
    public sealed record Relayed : Delivery;

    /// <summary>The server confirmed it durable in the room's log (STORED): members who are away get it when they come back.</summary>
    public sealed record Stored : Delivery;

    /// <summary>It may not have reached anyone, for <paramref name="Why"/>.</summary>
    public sealed record Failed(string Why) : Delivery;
}

/// <summary>What the status row shows.</summary>
/// <param name="Connection">"connecting", "online", "offline: ..." — the connection's state in words.</param>
/// <param name="Unread">Messages arrived in rooms other than the current one since they were last current.</param>
internal sealed record StatusInfo(string ClientId, string Connection, string? Room, ulong Epoch, string? EpochCode,
    IReadOnlyDictionary<string, int> Unread);

/// <summary>
/// The chat's own lines, as pure functions (<see cref="EventText"/> has the words for the client library's events):
/// every printed line starts with the local time HH:MM:SS; a message of ours carries its delivery mark.
/// </summary>
internal static class ChatLines
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary><paramref name="line"/> after the time it is printed at.</summary>
    public static string Stamped(DateTimeOffset now, string line) => string.Create(Invariant, $"{now.ToLocalTime():HH:mm:ss} {line}");

    /// <summary>A message we typed, with its mark: "[dev] alice: hello  ✓".</summary>
    public static string Own(string roomId, string clientId, string text, Delivery delivery) =>
        $"[{roomId}] {clientId}: {text}  {Mark(delivery)}";

    public static string Mark(Delivery delivery) => delivery switch
    {
        Delivery.Queued => "… queued",
        Delivery.Sent => "→ sent",
        Delivery.Relayed => "→ relayed",
        Delivery.Stored => "✓ stored",
        Delivery.Failed failed => $"✗ not delivered: {failed.Why}",
        _ => string.Empty,
    };

    /// <summary>What /quit says when messages of ours are not confirmed stored yet: they are kept and go next time.</summary>
    public static string KeptOnQuit(int queued, int unconfirmed)
    {
        var parts = new List<string>();
        if (unconfirmed > 0)
        {
            parts.Add(string.Create(Invariant, $"{unconfirmed} sent message(s) not yet confirmed stored by the server"));
        }

        if (queued > 0)
        {
            parts.Add(string.Create(Invariant, $"{queued} message(s) not sent yet"));
        }

        return $"* {string.Join(" and ", parts)}: kept in the local store; they are sent when you start the chat again";
    }

    /// <summary>A stored line of history: "[dev] 14:02:15 bob: morning" (the time it was sent).</summary>
    public static string History(string roomId, HistoryEntry line) =>
        string.Create(Invariant, $"[{roomId}] {line.SentAt.ToLocalTime():HH:mm:ss} {line.SenderId}: {line.Text}");

    /// <summary>When the mark cannot be changed in place: a line that names the message.</summary>
    public static string FollowUp(string roomId, string text, Delivery delivery) =>
        $"[{roomId}] {Mark(delivery)}: your \"{Preview(text)}\"";

    /// <summary>The status row: "alice · online │ dev · epoch 3 · code 12345 67890 … │ unread: lobby 2".</summary>
    public static string Status(StatusInfo status)
    {
        var builder = new StringBuilder();
        builder.Append(status.ClientId).Append(" · ").Append(status.Connection);
        if (status.Room is { } room)
        {
            builder.Append(" │ ").Append(room);
            if (status.EpochCode is { } code)
            {
                builder.Append(Invariant, $" · epoch {status.Epoch} · code {code}");
            }
            else
            {
                builder.Append(" · no keys yet");
            }
        }
        else
        {
            builder.Append(" │ no room: /join ROOM");
        }

        var unread = status.Unread.Where(u => u.Value > 0 && u.Key != status.Room).OrderBy(u => u.Key, StringComparer.Ordinal).ToList();
        if (unread.Count > 0)
        {
            builder.Append(" │ unread: ").AppendJoin(", ", unread.Select(u => string.Create(Invariant, $"{u.Key} {u.Value}")));
        }

        return builder.ToString();
    }

    /// <summary>The connection's state for the status row after <paramref name="disconnected"/>.</summary>
    public static string Offline(Disconnected disconnected, int attempt) => disconnected.RetryIn is { } retry
        ? string.Create(Invariant, $"offline, retry #{attempt}{To(disconnected.NextServer)} in {retry.TotalSeconds:0.#} s ({EventText.Describe(disconnected)})")
        : $"stopped ({EventText.Describe(disconnected)})";

    /// <summary>The one line printed when the connection goes (later attempts only change the status row).</summary>
    public static string ConnectionLost(Disconnected disconnected, bool everConnected)
    {
        var what = everConnected ? "connection lost" : "could not connect";
        return disconnected.RetryIn is { } retry
            ? string.Create(Invariant, $"! {what} ({EventText.Describe(disconnected)}); reconnecting{To(disconnected.NextServer)} in {retry.TotalSeconds:0.#} s")
            : $"! {what} ({EventText.Describe(disconnected)})";
    }

    private static string To(string? server) => server is null ? string.Empty : " to " + server;

    private static string Preview(string text) =>
        text.Length <= MessageNotDelivered.MaxPreviewLength ? text : text[..(MessageNotDelivered.MaxPreviewLength - 3)] + "...";
}
