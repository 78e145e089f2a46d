namespace Yoi.Actors.Engine;

/// <summary>Provider-independent stream events (reference-engine §3.2). Every provider client and the
/// scripted model translate their wire format into these; the turn engine only sees these.</summary>
public abstract record StreamEvent;

public sealed record StreamPing : StreamEvent;

/// <summary>`InputTokens` is the whole prompt occupancy including cached tokens.</summary>
public sealed record StreamUsage(
    ulong? InputTokens = null,
    ulong? OutputTokens = null,
    ulong? TotalTokens = null,
    ulong? CacheReadInputTokens = null,
    ulong? CacheCreationInputTokens = null) : StreamEvent;

public enum StreamStatusKind { Started, Completed, Cancelled, Failed }

public sealed record StreamStatus(StreamStatusKind Status) : StreamEvent;

/// <summary>A provider error event inside the stream: fatal, never retried or continued.</summary>
public sealed record StreamError(string? Code, string Message) : StreamEvent;

public enum BlockType { Text, Thinking, ToolUse, ToolResult }

public enum DeltaKind { Text, Thinking, InputJson }

/// <summary>Why the model stopped. <c>ContentFilter</c> and <c>Refusal</c> are added for stops the reference folds
/// into <c>EndTurn</c> (OpenAI <c>content_filter</c>, Responses <c>incomplete_details.reason = content_filter</c>,
/// Anthropic <c>refusal</c>).</summary>
public enum StopReason { EndTurn, MaxTokens, StopSequence, ToolUse, ContentFilter, Refusal }

/// <summary>Reasoning round-trip data carried on a thinking block's stop.</summary>
public sealed record ReasoningData(
    string? Id = null,
    string? Text = null,
    IReadOnlyList<string>? Summary = null,
    string? EncryptedContent = null,
    string? Signature = null);

/// <summary>`ToolId`/`ToolName` are set for <see cref="BlockType.ToolUse"/> starts.</summary>
public sealed record BlockStart(int Index, BlockType Type, string? ToolId = null, string? ToolName = null) : StreamEvent;

public sealed record BlockDelta(int Index, DeltaKind Kind, string Text) : StreamEvent;

public sealed record BlockStop(int Index, BlockType Type, StopReason? StopReason = null, ReasoningData? Reasoning = null) : StreamEvent;

public sealed record BlockAbort(int Index, BlockType Type, string Reason) : StreamEvent;

/// <summary>The scheme's terminal signal arrived: the provider said the response is over (openai_chat a
/// <c>finish_reason</c> or <c>data: [DONE]</c>, anthropic <c>message_stop</c>, openai_responses
/// <c>response.completed</c> / <c>response.incomplete</c>, gemini a <c>finishReason</c>). Later events (a trailing
/// usage chunk) may still follow. <paramref name="ProviderStopReason"/> is the provider's own word
/// (<c>length</c>, <c>max_tokens</c>, <c>max_output_tokens</c>, …) for alerts.
/// <para>Deviation (spec README item 8): a stream is complete only once its client produced this event; an HTTP
/// client whose body ends without it reports the stream as interrupted (<see cref="StreamCompleteness"/>), and the
/// engine continues it (reference-engine §1.5) instead of completing the open blocks.</para></summary>
public sealed record StreamComplete(StopReason? StopReason = null, string? ProviderStopReason = null) : StreamEvent;
