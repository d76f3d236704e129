using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Google.Protobuf;
using SecureChat.Client.Rooms;
using SecureChat.Client.Session;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;

namespace SecureChat.Client.Store;

/// <summary>
/// A <see cref="ClientRoom"/> to and from its <see cref="RoomRecord"/>: the group state (only a member session: one still
/// joining cannot resume), the log position, the sent-but-not-STORED messages, the queued texts and the history lines.
/// Plain and synchronous; the room's actor calls it on its own thread.
/// </summary>
public static class RoomRecords
{
    /// <summary>The room as stored now. The record's group_state array is the caller's to zero (<see cref="Erase"/>) once replaced.</summary>
    public static RoomRecord Capture(ClientRoom room, IEnumerable<HistoryEntry> history)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentNullException.ThrowIfNull(history);
        var record = new RoomRecord { RoomId = room.RoomId, Position = room.Position };
        if (room.Session is { Status: GroupStatus.Active } session)
        {
            record.GroupState = UnsafeByteOperations.UnsafeWrap(session.ExportState());
        }

        if (room.KnownRoster is { } known)
        {
            record.HasKnownRoster = true;
            record.KnownRoster.AddRange(known.Order(StringComparer.Ordinal));
        }

        foreach (var message in room.Unstored)
        {
            record.Unstored.Add(new UnstoredRecord
            {
                Epoch = message.Epoch, Generation = message.Generation, Envelope = message.Envelope.ToByteString(), Text = message.Text,
            });
        }

        foreach (var (text, typedFor) in room.Queued)
        {
            var queued = new QueuedRecord { Text = text, HasTypedFor = typedFor is not null };
            queued.TypedFor.AddRange(typedFor is null ? [] : typedFor.Order(StringComparer.Ordinal));
            record.Queued.Add(queued);
        }

        record.History.AddRange(history.Select(h => new HistoryLine
        {
            SenderId = h.SenderId, Text = h.Text, SentAtMs = h.SentAt.ToUnixTimeMilliseconds(), Own = h.Own,
        }));
        return record;
    }

    /// <summary>
    /// Puts a stored room back into a new <paramref name="room"/>: its session (imported), position, unsent and queued messages.
    /// Returns null, or why the keys did not come back (the room then joins afresh, and reports what was unconfirmed as not delivered).
    /// </summary>
    public static string? Restore(ClientRoom room, RoomRecord record, Func<ReadOnlyMemory<byte>, GroupSession> importSession)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(importSession);
        string? problem = null;
        if (!record.GroupState.IsEmpty)
        {
            try
            {
                var known = record.HasKnownRoster ? record.KnownRoster.ToHashSet(StringComparer.Ordinal) : null;
                room.RestoreSession(importSession(record.GroupState.Memory), known);
            }
            catch (GroupStateException ex)
            {
                problem = ex.Message;
            }
        }

        room.RestorePosition(record.Position);
        var unstored = new List<UnstoredMessage>();
        foreach (var message in record.Unstored)
        {
            try
            {
                unstored.Add(new UnstoredMessage(message.Epoch, message.Generation, Envelope.Parser.ParseFrom(message.Envelope), message.Text));
            }
            catch (InvalidProtocolBufferException)
            {
                problem ??= "a stored unsent message does not parse";
            }
        }

        room.RestoreUnstored(unstored);
        room.RestoreQueued(record.Queued.Select(q => (q.Text, q.HasTypedFor ? (IReadOnlySet<string>?)q.TypedFor.ToHashSet(StringComparer.Ordinal) : null)));
        return problem;
    }

    /// <summary>The stored history lines, oldest first.</summary>
    public static List<HistoryEntry> History(RoomRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return [.. record.History.Select(h => new HistoryEntry(h.SenderId, h.Text, DateTimeOffset.FromUnixTimeMilliseconds(h.SentAtMs), h.Own))];
    }

    /// <summary>Zeroes a record's group state (it holds keys) once the record is no longer kept anywhere.</summary>
    public static void Erase(RoomRecord? record)
    {
        if (record is not null && MemoryMarshal.TryGetArray(record.GroupState.Memory, out var segment) && segment.Array is { } array)
        {
            CryptographicOperations.ZeroMemory(array);
        }
    }
}
