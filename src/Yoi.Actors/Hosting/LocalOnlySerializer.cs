using System.Collections.Concurrent;
using Akka.Actor;

namespace Yoi.Actors.Hosting;

/// <summary>Only with <c>serialize-messages = on</c> (tests): Akka's own node-local persistence protocol
/// (journal and snapshot requests/replies, Akka.Persistence.Sql's internal write notices) is not marked
/// INoSerializationVerificationNeeded and never crosses the network, so it is passed by reference — the
/// exemption JVM Akka gives its "akka." classes. Our journal events inside it are still serialized for real
/// by the journal itself, and every Yoi message is verified.</summary>
public sealed class LocalOnlySerializer(ExtendedActorSystem system) : Akka.Serialization.Serializer(system)
{
    public const int Id = 4103;
    private static readonly ConcurrentDictionary<long, object> InFlight = new();
    private static long _next;

    public static readonly string[] BoundTypes =
    [
        "Akka.Persistence.IJournalMessage, Akka.Persistence",
        "Akka.Persistence.ISnapshotMessage, Akka.Persistence",
        "Akka.Persistence.Journal.AsyncWriteJournal+Desequenced, Akka.Persistence",
        "Akka.Persistence.Sql.Journal.Types.WriteFinished, Akka.Persistence.Sql",
        "Akka.Persistence.Sql.Journal.Types.WriteQueueEntry, Akka.Persistence.Sql",
        "Akka.Persistence.Sql.Journal.Types.WriteQueueSet, Akka.Persistence.Sql",
        "Akka.Persistence.Sql.Journal.Types.ReplayCompletion, Akka.Persistence.Sql",
    ];

    public override int Identifier => Id;
    public override bool IncludeManifest => false;

    public override byte[] ToBinary(object obj)
    {
        var key = Interlocked.Increment(ref _next);
        InFlight[key] = obj;
        return BitConverter.GetBytes(key);
    }

    public override object FromBinary(byte[] bytes, Type? type) =>
        InFlight.TryRemove(BitConverter.ToInt64(bytes), out var obj)
            ? obj
            : throw new System.Runtime.Serialization.SerializationException("local-only message was not serialized in this process");

    public static string Hocon => $$"""
        akka.actor {
          serializers.yoi-local-only = "{{typeof(LocalOnlySerializer).AssemblyQualifiedName}}"
          serialization-bindings {
        {{string.Join("\n", BoundTypes.Select(t => $"    \"{t}\" = yoi-local-only"))}}
          }
          serialization-identifiers { "{{typeof(LocalOnlySerializer).AssemblyQualifiedName}}" = {{Id}} }
        }
        """;
}
