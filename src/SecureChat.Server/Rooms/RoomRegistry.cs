using Akka.Actor;
using Akka.Event;
using SecureChat.Protocol.Relay;
using SecureChat.Server.Messaging;

namespace SecureChat.Server.Rooms;

/// <summary>
/// Finds rooms: a child-per-entity parent that routes every <see cref="IWithRoomId"/> message through the
/// <see cref="IMessageExtractor"/>, creating the room on its first message and stopping it when the room
/// asks to be passivated. Messages that arrive while a room is stopping wait and go to its successor.
/// With clustering this actor is replaced by a shard region fed the same extractor.
/// </summary>
public sealed class RoomRegistry : ReceiveActor
{
    /// <summary>Bounds the messages held for one room while it stops (only a few ever arrive in that window).</summary>
    public const int MaxBufferedPerRoom = 1000;

    /// <summary>Bounds the epoch memory of stopped rooms; the oldest entries go first.</summary>
    public const int MaxRememberedRooms = 100_000;

    private readonly IMessageExtractor _extractor;
    private readonly Func<string, ulong, Props> _roomProps;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    // The last epoch of rooms that were stopped, so a re-created room never reuses an epoch number.
    // (In a cluster this becomes the room's persisted state.)
    private readonly Dictionary<string, ulong> _lastEpochs = new(StringComparer.Ordinal);
    private readonly Queue<string> _rememberedOrder = new();
    private readonly Dictionary<string, List<(object Message, IActorRef Sender)>> _stopping = new(StringComparer.Ordinal);

    public RoomRegistry(IMessageExtractor extractor, Func<string, ulong, Props> roomProps)
    {
        _extractor = extractor;
        _roomProps = roomProps;

        Receive<Passivate>(OnPassivate);
        Receive<Terminated>(OnTerminated);
        Receive<GetRoomCount>(_ => Sender.Tell(new RoomCount(Context.GetChildren().Count())));
        ReceiveAny(Route);
    }

    public static Props Props(RoomSettings settings, IMessageExtractor? extractor = null) =>
        Akka.Actor.Props.Create(() => new RoomRegistry(extractor ?? new RoomMessageExtractor(RoomMessageExtractor.DefaultMaxNumberOfShards),
            (roomId, startEpoch) => RoomActor.Props(roomId, startEpoch, settings)));

    private void Route(object message)
    {
        var roomId = _extractor.EntityId(message);
        var payload = _extractor.EntityMessage(message);
        if (roomId is null || payload is null)
        {
            Unhandled(message);
            return;
        }

        if (_stopping.TryGetValue(roomId, out var buffer))
        {
            if (buffer.Count < MaxBufferedPerRoom)
            {
                buffer.Add((payload, Sender));
            }

            return;
        }

        var room = Context.Child(ChildName(roomId)).GetOrElse(() => StartRoom(roomId));
        room.Forward(payload);
    }

    private IActorRef StartRoom(string roomId)
    {
        var startEpoch = _lastEpochs.GetValueOrDefault(roomId);
        var room = Context.ActorOf(_roomProps(roomId, startEpoch), ChildName(roomId));
        Context.Watch(room);
        return room;
    }

    private void OnPassivate(Passivate passivate)
    {
        var room = Context.Child(ChildName(passivate.RoomId));
        if (room.IsNobody() || !room.Equals(Sender) || _stopping.ContainsKey(passivate.RoomId))
        {
            return;
        }

        Remember(passivate.RoomId, passivate.LastEpoch);
        _stopping[passivate.RoomId] = [];
        Context.Stop(room);
    }

    private void Remember(string roomId, ulong lastEpoch)
    {
        if (_lastEpochs.TryAdd(roomId, lastEpoch))
        {
            _rememberedOrder.Enqueue(roomId);
        }
        else
        {
            _lastEpochs[roomId] = lastEpoch;
        }

        while (_lastEpochs.Count > MaxRememberedRooms && _rememberedOrder.TryDequeue(out var oldest))
        {
            _lastEpochs.Remove(oldest);
        }
    }

    private void OnTerminated(Terminated terminated)
    {
        var roomId = terminated.ActorRef.Path.Name[ChildPrefix.Length..];
        if (!_stopping.Remove(roomId, out var buffer))
        {
            _log.Warning("Room {0} stopped without being passivated", roomId);
            return;
        }

        if (buffer.Count == 0)
        {
            return;
        }

        var room = StartRoom(roomId);
        foreach (var (message, sender) in buffer)
        {
            room.Tell(message, sender);
        }
    }

    // Room ids may be "." or "..", which are not actor names by themselves.
    private const string ChildPrefix = "room-";

    private static string ChildName(string roomId) => ChildPrefix + roomId;
}
