using System.Text.Json;
using System.Text.Json.Serialization;

namespace Yoi.Messages;

/// <summary>Worker → client event, adjacently tagged `{"event":…,"data":…}` (reference-protocol §2).
/// Unit events have no `data`; newtype events (`alert`, `memory_worker`) have the struct as `data`.</summary>
[JsonConverter(typeof(Json.EventConverter))]
public abstract record Event : IYoiMessage
{
    /// <summary>Decodes one JSON line; any failure is a <see cref="JsonException"/>.</summary>
    public static Event Decode(string line) => Json.Codec.Decode<Event>(line);

    /// <inheritdoc cref="Decode(string)"/>
    public static Event Decode(ReadOnlySpan<byte> utf8Line) => Json.Codec.Decode<Event>(utf8Line);

    /// <summary>Compact JSON (one line, no trailing newline).</summary>
    public string Encode() => Json.Codec.Encode<Event>(this);
}

// --- connection-scoped ---
public sealed record AlertEvent(AlertLevel Level, AlertSource Source, string Message, long TimestampMs) : Event;
public sealed record SnapshotEvent(
    IReadOnlyList<LogEntry> Entries,
    Greeting Greeting,
    WorkerStatus Status = WorkerStatus.Idle,
    [property: Json.JsonOmitEmpty] InFlightSnapshot? InFlight = null,
    [property: Json.JsonOmitEmpty] IReadOnlyList<JsonElement>? InternalWorkers = null) : Event;
public sealed record CompletionsEvent(CompletionKind Kind, IReadOnlyList<CompletionEntry> Entries) : Event;

// --- log lane ---
public sealed record InvokeStartEvent(InvokeKind Kind) : Event;
public sealed record UserMessageEvent(IReadOnlyList<Segment> Segments) : Event;
public sealed record SystemItemEvent(SystemItem Item) : Event;
public sealed record SegmentRotatedEvent(LogEntry Entry) : Event;

// --- event lane ---
public sealed record StatusEvent(WorkerStatus Status) : Event;
public sealed record TurnStartEvent(ulong Turn) : Event;
public sealed record TurnEndEvent(ulong Turn, TurnResult Result = TurnResult.Finished) : Event;
public sealed record LlmCallStartEvent(ulong LlmCall) : Event;
public sealed record LlmCallEndEvent(ulong LlmCall) : Event;
public sealed record LlmRetryEvent(
    ulong LlmCall, uint FailedAttempt, uint MaxAttempts, ulong WaitMs, ulong ElapsedMs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ushort? Status,
    string Error) : Event;
public sealed record LlmContinuationEvent(ulong LlmCall, uint Attempt, uint MaxAttempts, string Reason) : Event;
public sealed record TextDeltaEvent(string Text) : Event;
public sealed record TextDoneEvent(string Text) : Event;
public sealed record ThinkingStartEvent : Event;
public sealed record ThinkingDeltaEvent(string Text) : Event;
public sealed record ThinkingDoneEvent(string Text) : Event;
public sealed record ToolCallStartEvent(string Id, string Name) : Event;
public sealed record ToolCallArgsDeltaEvent(string Id, string Json) : Event;
public sealed record ToolCallDoneEvent(string Id, string Name, string Arguments) : Event;
public sealed record ToolResultEvent(
    string Id, string Summary,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Output = null,
    bool IsError = false) : Event;
public sealed record UsageEvent(
    ulong? InputTokens, ulong? OutputTokens,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ulong? CacheReadInputTokens = null) : Event;
public sealed record RunEndEvent(RunResult Result) : Event;
public sealed record ErrorEvent(ErrorCode Code, string Message) : Event;
public sealed record RewindTargetsEvent(int HeadEntries, IReadOnlyList<RewindTarget> Targets) : Event;
public sealed record RewindAppliedEvent(IReadOnlyList<LogEntry> Entries, IReadOnlyList<Segment> Input, RewindSummary Summary) : Event;
public sealed record WorkersListedEvent(JsonElement Workers) : Event;
public sealed record WorkerRestoredEvent(JsonElement Result) : Event;
public sealed record PeerRegisteredEvent(JsonElement Result) : Event;
public sealed record MemoryWorkerEvent(string Worker, string Status, string RunId, string Trigger, string Reason, string Message, long TimestampMs) : Event;
public sealed record CompactStartEvent : Event;
public sealed record CompactDoneEvent(Guid NewSegmentId) : Event;
public sealed record CompactFailedEvent(string Error) : Event;
public sealed record CommandEvent(JsonElement Event) : Event;
public sealed record InternalWorkerEvent(JsonElement Worker, ulong Revision, Event Event) : Event;
public sealed record InternalWorkerRemovedEvent(JsonElement Worker, ulong Revision) : Event;
public sealed record ShutdownEvent : Event;

// --- payloads ---
public sealed record CompletionEntry(string Value, bool IsDir = false);

public sealed record Greeting(
    string WorkerName, string Cwd, string Provider, string Model, string ScopeSummary,
    IReadOnlyList<string> Tools, ulong ContextWindow = 0, ulong ContextTokens = 0);

/// <summary>`blocks`/`commands` are omitted when empty; a snapshot omits the whole value when both are empty.</summary>
public sealed record InFlightSnapshot(
    [property: Json.JsonOmitEmpty] IReadOnlyList<InFlightBlock>? Blocks = null,
    [property: Json.JsonOmitEmpty] IReadOnlyList<JsonElement>? Commands = null) : Json.IOmittable
{
    [JsonIgnore] public bool IsEmpty => (Blocks is null || Blocks.Count == 0) && (Commands is null || Commands.Count == 0);
}

/// <summary>Presentation-only streaming state (reference-protocol §8.2), tag `kind`.
/// `finished` is omitted when false; a tool call's `state` is omitted when pending.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(InFlightText), "text")]
[JsonDerivedType(typeof(InFlightThinking), "thinking")]
[JsonDerivedType(typeof(InFlightToolCall), "tool_call")]
public abstract record InFlightBlock;
public sealed record InFlightText(string Text, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool Finished = false) : InFlightBlock;
public sealed record InFlightThinking(string Text, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool Finished = false) : InFlightBlock;
public sealed record InFlightToolCall(string Id, string Name, string Args,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] InFlightToolCallState State = InFlightToolCallState.Pending) : InFlightBlock;

public sealed record RewindTargetId(Guid SegmentId, int UserInputEntryIndex);

public sealed record RewindTarget(
    RewindTargetId Id, int ExpectedHeadEntries, int TruncateEntries, int TurnIndex, long? TimestampMs,
    string Preview, bool Eligible,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? DisabledReason = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Warning = null);

public sealed record RewindSummary(int TruncatedToEntries, int DiscardedEntries, bool ToolSideEffectWarning);
