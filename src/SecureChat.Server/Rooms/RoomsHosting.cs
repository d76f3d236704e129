using Akka;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Hosting;
using SecureChat.Protocol.Relay;

namespace SecureChat.Server.Rooms;

public static class RoomsHosting
{
    /// <summary>The shard region's type name: part of every room's address in the cluster.</summary>
    public const string RegionName = "room";

    /// <summary>How long shutdown waits for the rooms to stop before it closes the connections anyway.</summary>
    public static readonly TimeSpan HandOffTimeout = TimeSpan.FromSeconds(4);

    /// <summary>
    /// The rooms: a shard region of <see cref="RoomActor"/> entities, one per room id (<see cref="RoomMessageExtractor"/>),
    /// registered as <see cref="RoomActor"/> for the connections to send to. A room passivates itself when it has been
    /// empty for its grace period; sharding's own idle passivation is off, since a room whose members only listen gets
    /// no messages through the region and must not lose them. The coordinator keeps its state in distributed data, not
    /// in the journal. On shutdown the rooms stop (are handed off) before the connections close, so a server's own
    /// shutdown is not taken for every member leaving: the rooms keep their rosters for the next start.
    /// </summary>
    public static AkkaConfigurationBuilder AddRooms(this AkkaConfigurationBuilder builder, RoomSettings settings, int snapshotEvery)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder
            .WithShardRegion<RoomActor>(RegionName, roomId => RoomActor.Props(roomId, settings, snapshotEvery), new RoomMessageExtractor(), new ShardOptions
            {
                StateStoreMode = StateStoreMode.DData,
                RememberEntities = false,
                ShouldPassivateIdleEntities = false,
                HandOffStopMessage = StopRoom.Instance,
            })
            .AddStartup((system, registry) =>
            {
                var region = registry.Get<RoomActor>();
                CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseServiceUnbind, "securechat-stop-rooms", async () =>
                {
                    try
                    {
                        await region.GracefulStop(HandOffTimeout, GracefulShutdown.Instance).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is TaskCanceledException or AskTimeoutException)
                    {
                        system.Log.Warning("Rooms did not stop within {0}; closing the connections anyway", HandOffTimeout);
                    }

                    return Done.Instance;
                });
            });
    }
}
