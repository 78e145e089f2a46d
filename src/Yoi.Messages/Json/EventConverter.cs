using System.Text.Json;
using System.Text.Json.Serialization;

namespace Yoi.Messages.Json;

/// <summary>Adjacently tagged `{"event":"<snake_case>","data":{…}}` (reference-protocol §2, §7.2).
/// Unit events (`thinking_start`, `compact_start`, `shutdown`) have no `data`; newtype events
/// (`alert`, `memory_worker`) have the struct as `data`, which is the same shape as a struct variant.</summary>
public sealed class EventConverter : JsonConverter<Event>
{
    internal static readonly AdjacentTag<Event> Table = new AdjacentTag<Event>("event", "data", "event")
        // connection-scoped
        .Add<AlertEvent>("alert")
        .Add<SnapshotEvent>("snapshot")
        .Add<CompletionsEvent>("completions")
        // log lane
        .Add<InvokeStartEvent>("invoke_start")
        .Add<UserMessageEvent>("user_message")
        .Add<SystemItemEvent>("system_item")
        .Add<SegmentRotatedEvent>("segment_rotated")
        // event lane
        .Add<StatusEvent>("status")
        .Add<TurnStartEvent>("turn_start")
        .Add<TurnEndEvent>("turn_end")
        .Add<LlmCallStartEvent>("llm_call_start")
        .Add<LlmCallEndEvent>("llm_call_end")
        .Add<LlmRetryEvent>("llm_retry")
        .Add<LlmContinuationEvent>("llm_continuation")
        .Add<TextDeltaEvent>("text_delta")
        .Add<TextDoneEvent>("text_done")
        .Unit<ThinkingStartEvent>("thinking_start")
        .Add<ThinkingDeltaEvent>("thinking_delta")
        .Add<ThinkingDoneEvent>("thinking_done")
        .Add<ToolCallStartEvent>("tool_call_start")
        .Add<ToolCallArgsDeltaEvent>("tool_call_args_delta")
        .Add<ToolCallDoneEvent>("tool_call_done")
        .Add<ToolResultEvent>("tool_result")
        .Add<UsageEvent>("usage")
        .Add<RunEndEvent>("run_end")
        .Add<ErrorEvent>("error")
        .Add<RewindTargetsEvent>("rewind_targets")
        .Add<RewindAppliedEvent>("rewind_applied")
        .Add<WorkersListedEvent>("workers_listed")
        .Add<WorkerRestoredEvent>("worker_restored")
        .Add<PeerRegisteredEvent>("peer_registered")
        .Add<MemoryWorkerEvent>("memory_worker")
        .Unit<CompactStartEvent>("compact_start")
        .Add<CompactDoneEvent>("compact_done")
        .Add<CompactFailedEvent>("compact_failed")
        .Add<CommandEvent>("command")
        .Add<InternalWorkerEvent>("internal_worker")
        .Add<InternalWorkerRemovedEvent>("internal_worker_removed")
        .Unit<ShutdownEvent>("shutdown")
        // host-level replies (HostProtocol.cs)
        .Add<ClusterStateEvent>("cluster_state")
        .Add<ClusterCommandEvent>("cluster_command")
        .Add<ShardsEvent>("shards")
        .Add<WorkersEvent>("workers")
        .Add<WorkerInspectionEvent>("worker_inspection")
        .Add<RestoreResultEvent>("restore_result")
        .Add<HealthEvent>("health");

    public override Event Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Table.Read(ref reader, options);

    public override void Write(Utf8JsonWriter writer, Event value, JsonSerializerOptions options) =>
        Table.Write(writer, value, options);
}
