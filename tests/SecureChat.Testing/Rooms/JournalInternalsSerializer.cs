using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Serialization;

namespace SecureChat.Testing.Rooms;

/// <summary>
/// Lets <c>serialize-messages = on</c> pass the journal's own internal messages, which never leave the journal's
/// node but are not marked as such in Akka.Persistence (<c>AsyncWriteJournal+Desequenced</c>, the journal's reply to
/// itself, holding the written events): the default JSON serializer cannot rebuild a room event, so the check would
/// drop the reply and hang the writer. This one hands the same object back instead of a copy; every message of ours
/// is still checked by the cluster serializer. Test configuration only.
/// </summary>
public sealed class JournalInternalsSerializer(ExtendedActorSystem system) : Serializer(system)
{
    /// <summary>The bindings, for a test's HOCON.</summary>
    public static readonly string Hocon = $$"""
        akka.actor {
          serializers.journal-internals = "{{typeof(JournalInternalsSerializer).AssemblyQualifiedName}}"
          serialization-bindings {
            "Akka.Persistence.Journal.AsyncWriteJournal+Desequenced, Akka.Persistence" = journal-internals
          }
        }
        """;

    private static readonly ConcurrentDictionary<long, object> InFlight = new();
    private static long _next;

    public override int Identifier => 5901;

    public override bool IncludeManifest => false;

    public override byte[] ToBinary(object obj)
    {
        var handle = Interlocked.Increment(ref _next);
        InFlight[handle] = obj;
        return BitConverter.GetBytes(handle);
    }

    public override object FromBinary(byte[] bytes, Type type) =>
        InFlight.TryRemove(BitConverter.ToInt64(bytes), out var obj) ? obj : throw new InvalidOperationException("not a handle of this process");
}
