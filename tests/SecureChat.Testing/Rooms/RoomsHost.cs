using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using Akka.Persistence.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SecureChat.Protocol.Relay;
using SecureChat.Server.Cluster;
using SecureChat.Server.Connections;
using SecureChat.Server.Relays;
using SecureChat.Server.Rooms;
using SecureChat.Server.Serialization;
using SecureChat.Server.Storage;

namespace SecureChat.Testing.Rooms;

/// <summary>
/// The server's rooms without its listener: a cluster of one on a loopback port chosen by the OS, with the real
/// <see cref="RoomsHosting.AddRooms"/> shard region (and the sign-in tables' one) on the in-memory journal and snapshot store, and
/// <c>serialize-messages = on</c>, so every message an actor sends goes through the cluster serializer as if it
/// crossed nodes. A TestKit runs on its <see cref="System"/>.
/// </summary>
public sealed class RoomsHost : IDisposable
{
    private readonly IHost _host;

    private RoomsHost(IHost host)
    {
        _host = host;
        System = host.Services.GetRequiredService<ActorSystem>();
        Rooms = host.Services.GetRequiredService<ActorRegistry>().Get<RoomActor>();
        Relays = host.Services.GetRequiredService<ActorRegistry>().Get<RoomRelaysActor>();
        SignIns = host.Services.GetRequiredService<ActorRegistry>().Get<SignInActor>();
    }

    public ActorSystem System { get; }

    /// <summary>The rooms' shard region.</summary>
    public IActorRef Rooms { get; }

    /// <summary>This node's room relays: where the server's connections send their room traffic.</summary>
    public IActorRef Relays { get; }

    /// <summary>The sign-in tables' shard region: where the server's connections tell their HELLO.</summary>
    public IActorRef SignIns { get; }

    /// <summary>Started and joined (blocking, so a TestKit constructor can take its system; it takes about a second).</summary>
    public static RoomsHost Start(RoomSettings settings, int snapshotEvery = 100, string extraHocon = "") =>
        Task.Run(() => StartAsync(settings, snapshotEvery, extraHocon)).GetAwaiter().GetResult();

    /// <param name="storage">The server's room storage (SQLite or PostgreSQL); null: the in-memory journal, every message serialized.</param>
    public static async Task<RoomsHost> StartAsync(RoomSettings settings, int snapshotEvery = 100, string extraHocon = "", RoomStorage? storage = null)
    {
        // serialize-messages breaks the SQL journal's own messages (cluster notes §5): only with the in-memory one.
        var serializeAll = storage is null ? "akka.actor.serialize-messages = on\n" : "";
        var host = new HostBuilder()
            .ConfigureServices(services => services.AddAkka("SecureChat", (akka, _) =>
            {
                akka.AddHocon($"akka.loglevel = WARNING\n{serializeAll}{JournalInternalsSerializer.Hocon}\n{extraHocon}", HoconAddMode.Prepend)
                    .AddClusterSerialization()
                    .AddCluster(ClusterNodeSettings.OneNode("127.0.0.1", 0));
                if (storage is null)
                {
                    akka.WithInMemoryJournal().WithInMemorySnapshotStore();
                }
                else
                {
                    akka.AddRoomStorage(storage);
                }

                akka.AddRooms(settings, snapshotEvery).AddRoomRelays().AddSignIns();
            }))
            .Build();
        await host.StartAsync().ConfigureAwait(false);
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Cluster.Get(host.Services.GetRequiredService<ActorSystem>()).RegisterOnMemberUp(up.SetResult);
        await up.Task.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        return new RoomsHost(host);
    }

    public void Dispose()
    {
        Task.Run(() => _host.StopAsync()).GetAwaiter().GetResult();
        _host.Dispose();
    }
}
