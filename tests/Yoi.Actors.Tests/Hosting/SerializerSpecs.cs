using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using Akka.Serialization;
using Yoi.Actors.Hosting;
using Yoi.Actors.Worker;
using Yoi.Messages;

namespace Yoi.Actors.Tests.Hosting;

/// <summary>Every message kind survives the serializer Akka picks for it: journal events as JSON with a stable
/// manifest, transient messages (with actor refs and JSON payloads) over Hyperion.</summary>
public sealed class SerializerSpecs : Akka.Hosting.TestKit.TestKit
{
    protected override void ConfigureAkka(AkkaConfigurationBuilder builder, IServiceProvider provider) => builder
        .WithCustomSerializer("yoi-hyperion", [typeof(IYoiMessage)], YoiHyperion.Create)
        .WithCustomSerializer("yoi-journal", [typeof(IJournalEvent), typeof(WorkerSnapshot)], sys => new JournalJsonSerializer(sys));

    private T RoundTrip<T>(T value, Type expectedSerializer)
    {
        var serialization = Sys.Serialization;
        var serializer = serialization.FindSerializerFor(value!);
        Assert.IsType(expectedSerializer, serializer);
        var bytes = serializer.ToBinary(value!);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, value!);
        return (T)serialization.Deserialize(bytes, serializer.Identifier, manifest);
    }

    [Fact]
    public void Journal_events_round_trip_as_json_with_stable_manifests()
    {
        var manifest = JsonSerializer.SerializeToElement(new { model = new { scheme = "scripted" } });
        var created = new WorkerCreated(1, "alice", Guid.CreateVersion7(), Guid.CreateVersion7(), manifest);
        var back = RoundTrip(created, typeof(JournalJsonSerializer));
        Assert.Equal(created.WorkerName, back.WorkerName);
        Assert.Equal(manifest.GetRawText(), back.Manifest.GetRawText());

        LogEntry entry = new AssistantItemEntry(new ToolCallItem("c1", "Read", "{\"file_path\":\"a\"}")) { Ts = 5 };
        var entryBack = RoundTrip(entry, typeof(JournalJsonSerializer));
        Assert.Equal(entry, entryBack);
        Assert.Equal("entry", ((SerializerWithStringManifest)Sys.Serialization.FindSerializerFor(entry)).Manifest(entry));
    }

    [Fact]
    public void Transient_messages_with_actor_refs_and_json_payloads_round_trip_over_hyperion()
    {
        var probe = CreateTestProbe();
        var attach = new WorkerEnvelope("alice", new AttachClient(probe.Ref, "[model]\nscheme = \"scripted\"", "/tmp"));
        var back = RoundTrip(attach, typeof(HyperionSerializer));
        Assert.Equal(attach, back);

        var listed = new WorkersListedEvent(JsonSerializer.SerializeToElement(new[] { new { worker_name = "alice" } }));
        var listedBack = RoundTrip<Event>(listed, typeof(HyperionSerializer));
        Assert.Equal(listed.Encode(), listedBack.Encode());

        Event snapshot = new SnapshotEvent([new InvokeEntry(InvokeKind.UserSend) { Ts = 3 }],
            new Greeting("alice", "/tmp", "scripted", "m", "", ["Read"], 1000), WorkerStatus.Running);
        Assert.Equal(snapshot.Encode(), RoundTrip(snapshot, typeof(HyperionSerializer)).Encode());
    }
}
