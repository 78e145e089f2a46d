using System.Text.Json;
using System.Text.Json.Serialization;

namespace Yoi.Messages;

public enum InvokeKind { UserSend, Notify, WorkerEvent, SystemReminder, Wakeup }

/// <summary>Engine outcome recorded by `run_completed` (reference-engine §1.3).</summary>
public enum EngineResult { Finished, Paused, LimitReached, Yielded }

/// <summary>Per-request configuration; every field is written (nulls included) inside `segment_start.config`.
/// `stop_sequences` is always a list (null reads as empty); `reasoning` is an effort label string or an
/// integer thinking budget.</summary>
public sealed record RequestConfig(
    uint? MaxTokens = null,
    double? Temperature = null,
    double? TopP = null,
    uint? TopK = null,
    IReadOnlyList<string>? StopSequences = null,
    JsonElement? Reasoning = null)
{
    public static RequestConfig Default { get; } = new(StopSequences: []);

    [JsonPropertyOrder(1)]
    public IReadOnlyList<string> StopSequences { get; init; } = StopSequences ?? [];

    [JsonPropertyOrder(2)]
    public JsonElement? Reasoning { get; init; } = Reasoning is { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined } ? null : Reasoning;
}

public sealed record SegmentOrigin(Guid SegmentId, ulong AtTurnIndex);

public sealed record SessionExtension(string Domain, JsonElement Payload);

/// <summary>One session-log entry (reference-engine §4.3), tag `kind`, `ts` in ms since the epoch.
/// Each entry is one persisted journal event.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(SegmentStartEntry), "segment_start")]
[JsonDerivedType(typeof(InvokeEntry), "invoke")]
[JsonDerivedType(typeof(UserInputEntry), "user_input")]
[JsonDerivedType(typeof(AssistantItemEntry), "assistant_item")]
[JsonDerivedType(typeof(ToolResultEntry), "tool_result")]
[JsonDerivedType(typeof(SystemItemEntry), "system_item")]
[JsonDerivedType(typeof(TurnEndEntry), "turn_end")]
[JsonDerivedType(typeof(RunCompletedEntry), "run_completed")]
[JsonDerivedType(typeof(RunErroredEntry), "run_errored")]
[JsonDerivedType(typeof(PausedTurnAbandonedEntry), "paused_turn_abandoned")]
[JsonDerivedType(typeof(ConfigChangedEntry), "config_changed")]
[JsonDerivedType(typeof(LlmUsageEntry), "llm_usage")]
[JsonDerivedType(typeof(ExtensionEntry), "extension")]
public abstract record LogEntry : IJournalEvent
{
    [JsonPropertyOrder(-10)] public long Ts { get; init; }
}

public sealed record SegmentStartEntry(
    Guid SessionId,
    string? SystemPrompt,
    RequestConfig Config,
    IReadOnlyList<HistoryItem> History,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] SegmentOrigin? ForkedFrom = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] SegmentOrigin? CompactedFrom = null) : LogEntry;

public sealed record InvokeEntry(InvokeKind Trigger) : LogEntry
{
    /// <summary>Ours (optional, absent unless the run was traced): the W3C traceparent of the run's span, so a run
    /// resumed from the journal after a restart or failover links to the run it continues.</summary>
    [JsonPropertyName("traceparent"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? TraceParent { get; init; }
}

public sealed record UserInputEntry(
    IReadOnlyList<Segment> Segments,
    [property: Json.JsonOmitEmpty] IReadOnlyList<SessionExtension>? Extensions = null) : LogEntry;

/// <summary>An assistant-side item: a message, a tool call or reasoning.</summary>
public sealed record AssistantItemEntry(HistoryItem Item) : LogEntry;

/// <summary>`item` is the logged `tool_result` item, written with its `kind` tag.</summary>
public sealed record ToolResultEntry(
    [property: JsonConverter(typeof(Json.TaggedAsBaseConverter<HistoryItem, ToolResultItem>))] ToolResultItem Item) : LogEntry;

public sealed record SystemItemEntry(SystemItem Item) : LogEntry;

public sealed record TurnEndEntry(ulong TurnCount) : LogEntry;

public sealed record RunCompletedEntry(bool Interrupted, EngineResult Result) : LogEntry;

public sealed record RunErroredEntry(bool Interrupted, string Message) : LogEntry;

public sealed record PausedTurnAbandonedEntry : LogEntry;

public sealed record ConfigChangedEntry(RequestConfig Config) : LogEntry;

public sealed record LlmUsageEntry(ulong HistoryLen, ulong InputTotalTokens, ulong CacheReadTokens, ulong CacheWriteTokens, ulong OutputTokens) : LogEntry;

public sealed record ExtensionEntry(string Domain, JsonElement Payload) : LogEntry;
