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

public enum StopReason { EndTurn, MaxTokens, StopSequence, ToolUse }

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
