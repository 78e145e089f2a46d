using System.Text.Json;
using System.Text.Json.Serialization;

namespace Yoi.Messages.Json;

/// <summary>Adjacently tagged `{"method":"<snake_case>","params":{…}}` (reference-protocol §1, §7.2).
/// Unit methods have no `params`; `worker_event`'s params is the internally tagged WorkerEvent itself;
/// `notify.auto_run` defaults to true and is omitted when true; `RunTracked` never crosses the wire.</summary>
public sealed class MethodConverter : JsonConverter<Method>
{
    internal static readonly AdjacentTag<Method> Table = new AdjacentTag<Method>("method", "params", "method")
        .Add<RunMethod>("run")
        .Add<NotifyMethod>("notify")
        .Add<WorkerEventMethod>("worker_event")
        .Unit<ResumeMethod>("resume")
        .Unit<CancelMethod>("cancel")
        .Unit<PauseMethod>("pause")
        .Unit<CompactMethod>("compact")
        .Unit<ListRewindTargetsMethod>("list_rewind_targets")
        .Add<RewindToMethod>("rewind_to")
        .Unit<ShutdownMethod>("shutdown")
        .Add<ListCompletionsMethod>("list_completions")
        .Unit<ListWorkersMethod>("list_workers")
        .Add<RestoreWorkerMethod>("restore_worker")
        .Add<RegisterPeerMethod>("register_peer")
        // host-level (spec README "Host, endpoint and wire protocol")
        .Add<AttachMethod>("attach")
        .Add<HelloMethod>("hello")
        // host-level inspection (HostProtocol.cs)
        .Unit<ClusterShowMethod>("cluster_show")
        .Add<ClusterLeaveMethod>("cluster_leave")
        .Add<ClusterDownMethod>("cluster_down")
        .Unit<ShardsMethod>("shards")
        .Unit<WorkersMethod>("workers")
        .Add<InspectMethod>("inspect")
        .Add<RestoreMethod>("restore")
        .Unit<HealthMethod>("health");

    public override Method Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Table.Read(ref reader, options, ReadSpecial, Rejected);

    public override void Write(Utf8JsonWriter writer, Method value, JsonSerializerOptions options)
    {
        if (value is RunTrackedMethod)
            throw new JsonException("the method RunTracked is runtime-internal and cannot be serialized");
        Table.Write(writer, value, options, (w, m) => WriteSpecial(w, m, options));
    }

    private static string? Rejected(string name) => name == "run_tracked"
        ? "unknown method `run_tracked` (RunTracked is runtime-internal and cannot be deserialized)"
        : null;

    private static Method? ReadSpecial(string name, JsonElement content) => name switch
    {
        "worker_event" => new WorkerEventMethod(content.Deserialize<WorkerEvent>(YoiJson.Options)
            ?? throw new JsonException("null worker event")),
        _ => null,
    };

    private static bool WriteSpecial(Utf8JsonWriter writer, Method value, JsonSerializerOptions options)
    {
        switch (value)
        {
            case WorkerEventMethod we:
                JsonSerializer.Serialize(writer, we.Event, typeof(WorkerEvent), options);
                return true;
            case NotifyMethod n:
                writer.WriteStartObject();
                writer.WriteString("message", n.Message);
                if (!n.AutoRun) writer.WriteBoolean("auto_run", false);
                writer.WriteEndObject();
                return true;
            default:
                return false;
        }
    }
}
