using System.Text.Json;
using Akka.Actor;
using Akka.Serialization;
using Yoi.Messages;
using Yoi.Messages.Json;

namespace Yoi.Actors.Hosting;

/// <summary>Journal events and snapshots as readable JSON (the reference's entry shapes), each row tagged
/// with a short stable manifest, so a session can be read, exported and evolved.</summary>
public sealed class JournalJsonSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int Id = 4102;
    private const string SnapshotManifest = "worker_snapshot";

    public override int Identifier => Id;

    public override string Manifest(object o) => o switch
    {
        IJournalEvent e => JournalManifest.Of(e),
        Worker.WorkerSnapshot => SnapshotManifest,
        _ => throw new ArgumentException($"{o.GetType()} is not journaled"),
    };

    public override byte[] ToBinary(object obj) => obj switch
    {
        LogEntry e => JsonSerializer.SerializeToUtf8Bytes(e, YoiJson.Options),
        _ => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), YoiJson.Options),
    };

    public override object FromBinary(byte[] bytes, string manifest)
    {
        var type = manifest == SnapshotManifest ? typeof(Worker.WorkerSnapshot) : JournalManifest.TypeOf(manifest);
        return JsonSerializer.Deserialize(bytes, type, YoiJson.Options)
               ?? throw new System.Runtime.Serialization.SerializationException($"null {manifest}");
    }
}
