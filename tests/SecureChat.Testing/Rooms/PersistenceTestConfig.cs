using SecureChat.Server.Serialization;

namespace SecureChat.Testing.Rooms;

/// <summary>
/// Akka settings for TestKits that run persistent room actors on their own: the Akka.Persistence.TestKit journal and
/// snapshot store (in memory, and told to fail or refuse writes by a test), the cluster serializer, and
/// <c>serialize-messages = on</c>, so every message a room sends or gets goes through the serializer as if it
/// crossed nodes (the journal's own internal reply excepted, <see cref="JournalInternalsSerializer"/>).
/// </summary>
public static class PersistenceTestConfig
{
    public static readonly string Hocon = """
        akka.loglevel = INFO
        akka.actor.serialize-messages = on
        akka.persistence.journal {
          plugin = "akka.persistence.journal.test"
          test {
            class = "Akka.Persistence.TestKit.TestJournal, Akka.Persistence.TestKit"
            plugin-dispatcher = "akka.actor.default-dispatcher"
          }
        }
        akka.persistence.snapshot-store {
          plugin = "akka.persistence.snapshot-store.test"
          test {
            class = "Akka.Persistence.TestKit.TestSnapshotStore, Akka.Persistence.TestKit"
            plugin-dispatcher = "akka.actor.default-dispatcher"
          }
        }
        """ + "\n" + ClusterMessageSerializer.Hocon + "\n" + JournalInternalsSerializer.Hocon;
}
