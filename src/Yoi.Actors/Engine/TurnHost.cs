using Yoi.Messages;

namespace Yoi.Actors.Engine;

/// <summary>What the turn engine needs from its owner (the Worker actor, or a test). The engine knows
/// nothing of actors: the Worker implements this by sending itself messages and awaiting the replies.</summary>
public interface ITurnHost
{
    /// <summary>History append for items the engine produces (assistant items, tool results): the owner takes the
    /// item into its journal in order and the item joins history. It need not be durable yet: the owner makes it
    /// durable by the next <see cref="DurableAsync"/> or <see cref="DrainPendingAsync"/> (before each LLM call),
    /// before any later entry of its own, and before the run's end is reported. A throw fails the run with
    /// <c>HistoryAppend</c> and the item is not added to history.</summary>
    Task CommitAsync(HistoryItem item, CancellationToken ct);

    /// <summary>Durability barrier: completes once every item committed so far is durable. The engine awaits it
    /// before running a tool with side effects, so a tool never acts on a call the journal could lose.</summary>
    Task DurableAsync(CancellationToken ct);

    /// <summary>Before each LLM call (after <c>turn_start</c>): everything committed so far becomes durable; the owner
    /// drains its notify buffer, commits each entry as a system item and returns the system messages to append
    /// to history, in order.</summary>
    Task<IReadOnlyList<HistoryItem>> DrainPendingAsync(CancellationToken ct);

    /// <summary>Engine callbacks republished as protocol events, in order, from the engine's task.</summary>
    void Publish(Event e);

    /// <summary>A non-fatal engine warning (e.g. tool output truncated) for an <c>alert{warn, engine}</c>.</summary>
    void Warn(string message);
}

public sealed record RetryPolicy(TimeSpan Base, TimeSpan Cap, int MaxAttempts, TimeSpan TotalTimeout)
{
    public static RetryPolicy Default { get; } = new(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10), 4, TimeSpan.FromSeconds(40));
}

public sealed record ToolOutputLimits(int DefaultMaxBytes = 64 * 1024, IReadOnlyDictionary<string, int>? PerTool = null)
{
    public int For(string tool) => PerTool is not null && PerTool.TryGetValue(tool, out var n) ? n : DefaultMaxBytes;
}

/// <summary>Per-Worker engine settings. <c>MaxTurns</c> is per run (a fixed reference quirk).</summary>
public sealed record EngineSettings(
    string? SystemPrompt,
    RequestConfig Config,
    int? MaxTurns = null,
    ToolOutputLimits? ToolOutput = null,
    RetryPolicy? Retry = null,
    TimeSpan? OpenTimeout = null,
    TimeSpan? FirstEventTimeout = null,
    string? CacheKey = null)
{
    public ToolOutputLimits Limits => ToolOutput ?? new ToolOutputLimits();
    public RetryPolicy RetryOrDefault => Retry ?? RetryPolicy.Default;
    public TimeSpan Open => OpenTimeout ?? TimeSpan.FromSeconds(20);
    public TimeSpan FirstEvent => FirstEventTimeout ?? TimeSpan.FromSeconds(30);
}

/// <summary><c>Internal</c> (added) covers unexpected failures inside the engine or an interceptor.</summary>
public enum EngineErrorKind { Client, Tool, Aborted, Cancelled, HistoryAppend, Internal }

public sealed record EngineError(EngineErrorKind Kind, string Message)
{
    public static EngineError Cancelled { get; } = new(EngineErrorKind.Cancelled, "Cancelled");

    /// <summary>HTTP status of a client error, when the failure had one (e.g. 503 after exhausted retries).</summary>
    public int? Status { get; init; }

    /// <summary>The text that ends up in <c>run_errored.message</c> and <c>error</c> events.</summary>
    public string Display => Kind switch
    {
        EngineErrorKind.Client => "Client error: " + Message,
        EngineErrorKind.Tool => "Tool error: " + Message,
        EngineErrorKind.Aborted => "Aborted: " + Message,
        EngineErrorKind.HistoryAppend => "History append failed: " + Message,
        EngineErrorKind.Internal => "Internal error: " + Message,
        _ => "Cancelled",
    };

    public ErrorCode Code => Kind switch
    {
        EngineErrorKind.Client => ErrorCode.ProviderError,
        EngineErrorKind.Tool => ErrorCode.ToolError,
        _ => ErrorCode.Internal,
    };
}

/// <summary>How one engine run ended: exactly one of <c>Result</c>/<c>Error</c> is set. <c>Usage</c> holds one
/// record per LLM call that reported usage (in call order; <c>Ts</c> left 0 for the owner to stamp).</summary>
public sealed record EngineOutcome(EngineResult? Result, EngineError? Error, IReadOnlyList<LlmUsageEntry> Usage);

/// <summary>The engine's mutable state, seeded by the owner from the journal replay and kept across runs.</summary>
public sealed class EngineState
{
    /// <summary>Append-only while an engine runs on it: the requests of earlier LLM calls are views of its prefix
    /// (<see cref="HistoryPrefix"/>), not copies.</summary>
    public List<HistoryItem> History { get; init; } = [];
    public ulong TurnCount { get; set; }
    public ulong LlmCallCount { get; set; }
    public ulong BatchCount { get; set; }
    public bool LastRunInterrupted { get; set; }
}
