using Akka.Hosting;
using Akka.Persistence.Sql.Hosting;

namespace SecureChat.Server.Storage;

public static class StorageHosting
{
    /// <summary>
    /// Akka.Persistence.Sql on <paramref name="storage"/> as the default journal and snapshot store; the tables are
    /// created when missing, at start (not at the first room), so a database that cannot be reached shows at once.
    /// The rooms' events and snapshots are written by the cluster serializer (Protobuf).
    /// </summary>
    public static AkkaConfigurationBuilder AddRoomStorage(this AkkaConfigurationBuilder builder, RoomStorage storage)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(storage);
        return builder.WithSqlPersistence(
            new SqlJournalOptions(isDefaultPlugin: true)
            {
                ConnectionString = storage.JournalConnectionString,
                ProviderName = storage.ProviderName,
                AutoInitialize = true,
            },
            new SqlSnapshotOptions(isDefaultPlugin: true)
            {
                ConnectionString = storage.SnapshotConnectionString,
                ProviderName = storage.ProviderName,
                AutoInitialize = true,
            })
            .AddStartup((system, _) =>
            {
                var persistence = Akka.Persistence.Persistence.Instance.Apply(system);
                persistence.JournalFor(null);
                persistence.SnapshotStoreFor(null);
            });
    }
}
