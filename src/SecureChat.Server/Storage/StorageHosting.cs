using Akka.Hosting;
using Akka.Persistence.Sql.Hosting;

namespace SecureChat.Server.Storage;

public static class StorageHosting
{
    /// <summary>
    /// The journal writes a room's message log as bound parameters also when a write holds several events (a log that fell
    /// behind, <see cref="Protocol.Relay.MessageLogBatches"/>): by default linq2db inlines each event's bytes into the SQL text
    /// as a hex literal, which the database then parses back — the largest cost of the log's writes in a profile of the relay.
    /// </summary>
    public const string JournalHocon = "akka.persistence.journal.sql.prefer-parameters-on-multirow-insert = on";

    /// <summary>
    /// Akka.Persistence.Sql on <paramref name="storage"/> as the default journal and snapshot store; the tables are
    /// created when missing, at start (not at the first room), so a database that cannot be reached shows at once.
    /// The rooms' events and snapshots are written by the cluster serializer (Protobuf).
    /// </summary>
    public static AkkaConfigurationBuilder AddRoomStorage(this AkkaConfigurationBuilder builder, RoomStorage storage)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(storage);
        return builder.AddHocon(JournalHocon, HoconAddMode.Prepend).WithSqlPersistence(
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
