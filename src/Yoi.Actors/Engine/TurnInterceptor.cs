using System.Text.Json;
using Yoi.Messages;

namespace Yoi.Actors.Engine;

/// <summary>Hooks into the turn loop (reference-engine §1.3, §1.6). Every method has a default that lets the
/// loop proceed unchanged. Items returned by hooks are appended through <see cref="ITurnHost.CommitAsync"/>.
/// Hooks are awaited on the engine's task; cancellation is not observed inside them.</summary>
public interface ITurnInterceptor
{
    /// <summary>Before each LLM call (after pending appends). <paramref name="context"/>.Items is a request-local
    /// copy of history: direct edits are sent with this request only and never persisted. A hook that only reads
    /// uses <see cref="PreLlmContext.View"/>, which makes no copy.</summary>
    ValueTask<PreLlmDecision> PreLlmRequest(PreLlmContext context) => ValueTask.FromResult(PreLlmDecision.Continue);

    /// <summary>Phase 1 of a tool batch, in model order, for each call to a registered tool.
    /// <see cref="ToolCallInfo.Input"/> may be rewritten.</summary>
    ValueTask<PreToolDecision> PreToolCall(ToolCallInfo call) => ValueTask.FromResult(PreToolDecision.Continue);

    /// <summary>Phase 3 of a tool batch, in model order, for each executed call to a registered tool.</summary>
    ValueTask<PostToolDecision> PostToolCall(ToolCallInfo call, ToolResultItem result) => ValueTask.FromResult(PostToolDecision.Continue);

    /// <summary>After an AgentTurn that produced no tool calls.</summary>
    ValueTask<TurnEndDecision> OnTurnEnd(IReadOnlyList<HistoryItem> history) => ValueTask.FromResult(TurnEndDecision.Finish);

    /// <summary>Called once when a run ends in an error; <paramref name="reason"/> is the abort reason,
    /// "Cancelled" or the error text.</summary>
    void OnAbort(string reason) { }
}

/// <summary>The interceptor used when none is given: every hook takes its default.</summary>
public sealed class DefaultTurnInterceptor : ITurnInterceptor
{
    public static DefaultTurnInterceptor Instance { get; } = new();
}

/// <param name="history">History as it stands before this call; it must not change while the request is alive (the
/// engine passes a <see cref="HistoryPrefix"/> of its append-only history).</param>
public sealed class PreLlmContext(IReadOnlyList<HistoryItem> history, ulong turn, ulong llmCall, bool isContinuation)
{
    private List<HistoryItem>? _items;

    /// <summary>The request context as a mutable, request-local copy of history, made on first access: edits are sent
    /// with this request only.</summary>
    public List<HistoryItem> Items => _items ??= [.. history];

    /// <summary>What the request sends: <see cref="Items"/> once it was asked for, else history itself. Read-only;
    /// reading it copies nothing (a history copy per LLM call grows with the session).</summary>
    public IReadOnlyList<HistoryItem> View => (IReadOnlyList<HistoryItem>?)_items ?? history;

    public ulong Turn { get; } = turn;
    public ulong LlmCall { get; } = llmCall;
    public bool IsContinuation { get; } = isContinuation;
}

public enum PreLlmAction { Continue, ContinueWith, Yield, YieldWith, Cancel }

public sealed record PreLlmDecision(PreLlmAction Action, IReadOnlyList<HistoryItem>? Items = null, string? Reason = null)
{
    public static PreLlmDecision Continue { get; } = new(PreLlmAction.Continue);
    public static PreLlmDecision Yield { get; } = new(PreLlmAction.Yield);
    public static PreLlmDecision ContinueWith(IReadOnlyList<HistoryItem> items) => new(PreLlmAction.ContinueWith, items);
    public static PreLlmDecision YieldWith(IReadOnlyList<HistoryItem> items) => new(PreLlmAction.YieldWith, items);
    public static PreLlmDecision Cancel(string reason) => new(PreLlmAction.Cancel, Reason: reason);
}

/// <summary>A tool call about to be executed. <see cref="Input"/> is the normalised argument object; a
/// <c>PreToolCall</c> hook may replace it (the persisted <c>tool_call</c> item is not changed).</summary>
public sealed class ToolCallInfo(ToolCallItem call, ITool? tool, ToolCallContext context, JsonElement input)
{
    public ToolCallItem Call { get; } = call;
    public ITool? Tool { get; } = tool;
    public ToolCallContext Context { get; } = context;
    public JsonElement Input { get; set; } = input;
}

public enum PreToolAction { Continue, Skip, SyntheticResult, Abort, Pause }

public sealed record PreToolDecision(PreToolAction Action, ToolOutput? Result = null, bool IsError = false, string? Reason = null)
{
    public static PreToolDecision Continue { get; } = new(PreToolAction.Continue);

    /// <summary>Not executed and no result produced (leaves an unanswered call, as the reference does).</summary>
    public static PreToolDecision Skip { get; } = new(PreToolAction.Skip);

    /// <summary>Nothing in the batch executes; the run returns <c>Paused</c>.</summary>
    public static PreToolDecision Pause { get; } = new(PreToolAction.Pause);

    /// <summary>Not executed; <paramref name="result"/> is committed as the call's result (after the executed ones).</summary>
    public static PreToolDecision SyntheticResult(ToolOutput result, bool isError = false) => new(PreToolAction.SyntheticResult, result, isError);

    public static PreToolDecision Abort(string reason) => new(PreToolAction.Abort, Reason: reason);
}

public enum PostToolAction { Continue, Abort }

/// <summary><c>Continue</c> with an optional replacement result, or <c>Abort</c> (the run fails, nothing committed).</summary>
public sealed record PostToolDecision(PostToolAction Action, ToolResultItem? Replacement = null, string? Reason = null)
{
    public static PostToolDecision Continue { get; } = new(PostToolAction.Continue);
    public static PostToolDecision ContinueWith(ToolResultItem replacement) => new(PostToolAction.Continue, replacement);
    public static PostToolDecision Abort(string reason) => new(PostToolAction.Abort, Reason: reason);
}

public enum TurnEndAction { Finish, ContinueWithMessages, Pause }

public sealed record TurnEndDecision(TurnEndAction Action, IReadOnlyList<HistoryItem>? Items = null)
{
    public static TurnEndDecision Finish { get; } = new(TurnEndAction.Finish);
    public static TurnEndDecision Pause { get; } = new(TurnEndAction.Pause);
    public static TurnEndDecision ContinueWithMessages(IReadOnlyList<HistoryItem> items) => new(TurnEndAction.ContinueWithMessages, items);
}

/// <summary>The first <c>count</c> items of an append-only list, read-only, without a copy: items are only ever added
/// after them, so the prefix never changes (the engine's <see cref="EngineState.History"/> during a run).</summary>
public sealed class HistoryPrefix(List<HistoryItem> items, int count) : IReadOnlyList<HistoryItem>
{
    public HistoryPrefix(List<HistoryItem> items) : this(items, items.Count) { }

    public int Count => count;

    public HistoryItem this[int index] => (uint)index < (uint)count ? items[index] : throw new ArgumentOutOfRangeException(nameof(index));

    public IEnumerator<HistoryItem> GetEnumerator()
    {
        for (var i = 0; i < count; i++) yield return items[i];
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
