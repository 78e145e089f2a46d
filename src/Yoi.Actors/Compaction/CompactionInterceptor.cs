using Yoi.Actors.Engine;
using Yoi.Actors.Manifest;
using Yoi.Messages;

namespace Yoi.Actors.Compaction;

/// <summary>The main engine's compaction hooks (reference-engine §6.2 safety net, §6.6 prune), wrapped around the
/// Worker's other interceptor. Before each LLM request: estimate the request context with persisted + in-flight usage
/// records; over <c>request_threshold</c> ⇒ <c>Yield</c> (re-checked after hook-contributed items ⇒ <c>YieldWith</c>);
/// otherwise prune the request copy. Our fix of the reference quirk: the check is never skipped after a compaction
/// (a yield right after one is a compaction thrash, reported by the Worker).</summary>
public sealed class CompactionInterceptor : ITurnInterceptor
{
    private readonly CompactionSection _settings;
    private readonly ITurnInterceptor _inner;
    private readonly bool _safetyNet;
    private readonly List<LlmUsageEntry> _records;
    private ulong? _notedLen;

    public CompactionInterceptor(CompactionSection settings, IReadOnlyList<LlmUsageEntry> persisted, ITurnInterceptor? inner, bool disabled)
    {
        _settings = settings;
        _inner = inner ?? DefaultTurnInterceptor.Instance;
        _safetyNet = !disabled && settings.RequestThreshold is not null;
        _records = [.. persisted];
    }

    /// <summary>The last prune decision (tests, metrics).</summary>
    public PruneResult? LastPrune { get; private set; }

    /// <summary>The estimate that made the run yield, if it did.</summary>
    public ulong? YieldedAt { get; private set; }

    /// <summary>Pairs an LLM call's merged usage with the noted request length (an in-flight usage record).</summary>
    public void OnUsage(UsageEvent u)
    {
        if (_notedLen is not { } len) return; // usage with no noted request is dropped
        lock (_records) _records.Add(new LlmUsageEntry(len, u.InputTokens ?? 0, u.CacheReadInputTokens ?? 0, 0, u.OutputTokens ?? 0));
        _notedLen = null;
    }

    public async ValueTask<PreLlmDecision> PreLlmRequest(PreLlmContext context)
    {
        List<LlmUsageEntry> records;
        lock (_records) records = [.. _records];
        if (OverThreshold(context.View, records)) return PreLlmDecision.Yield; // hooks are skipped

        var decision = await _inner.PreLlmRequest(context).ConfigureAwait(false);
        if (decision.Action == PreLlmAction.ContinueWith && decision.Items is { Count: > 0 } extra
            && OverThreshold([.. context.View, .. extra], records))
            return PreLlmDecision.YieldWith(extra);
        if (decision.Action is PreLlmAction.Continue or PreLlmAction.ContinueWith)
        {
            LastPrune = Pruning.Apply(context, records, _settings.PruneProtectedTokens, _settings.PruneMinSavings);
            _notedLen = (ulong)(context.View.Count + (decision.Action == PreLlmAction.ContinueWith ? decision.Items?.Count ?? 0 : 0));
        }
        return decision;
    }

    private bool OverThreshold(IReadOnlyList<HistoryItem> items, IReadOnlyList<LlmUsageEntry> records)
    {
        if (!_safetyNet) return false;
        var estimate = TokenAccounting.Total(items, records).Tokens;
        if (estimate <= _settings.RequestThreshold!.Value) return false;
        YieldedAt = estimate;
        return true;
    }

    public ValueTask<PreToolDecision> PreToolCall(ToolCallInfo call) => _inner.PreToolCall(call);

    public ValueTask<PostToolDecision> PostToolCall(ToolCallInfo call, ToolResultItem result) => _inner.PostToolCall(call, result);

    public ValueTask<TurnEndDecision> OnTurnEnd(IReadOnlyList<HistoryItem> history) => _inner.OnTurnEnd(history);

    public void OnAbort(string reason) => _inner.OnAbort(reason);
}

/// <summary>Feeds the engine's usage callbacks to the <see cref="CompactionInterceptor"/> (in-flight usage records).</summary>
public sealed class UsageTrackingHost(ITurnHost inner, CompactionInterceptor interceptor) : ITurnHost
{
    public Task CommitAsync(HistoryItem item, CancellationToken ct) => inner.CommitAsync(item, ct);

    public Task DurableAsync(CancellationToken ct) => inner.DurableAsync(ct);

    public Task<IReadOnlyList<HistoryItem>> DrainPendingAsync(CancellationToken ct) => inner.DrainPendingAsync(ct);

    public void Publish(Event e)
    {
        if (e is UsageEvent u) interceptor.OnUsage(u);
        inner.Publish(e);
    }

    public void Warn(string message) => inner.Warn(message);
}
