using Yoi.Actors.Engine;
using Yoi.Messages;

namespace Yoi.Actors.Compaction;

/// <summary>What one prune decision found (for tests and metrics).</summary>
public sealed record PruneResult(bool Fired, int Candidates, long SavingsTokens, string Reason);

/// <summary>The request-time pruning projection (reference-engine §6.6): old tool results lose their content and
/// attachments in the request copy only. Persisted history and the journal are never touched.</summary>
public static class Pruning
{
    /// <summary>Edits <paramref name="items"/> (the request copy) in place when the savings are worth it.</summary>
    public static PruneResult Apply(List<HistoryItem> items, IReadOnlyList<LlmUsageEntry> records, ulong protectedTokens, ulong minSavings) =>
        Apply(items, () => items, records, protectedTokens, minSavings);

    /// <summary>Prunes the request of <paramref name="context"/>: its request-local copy is made only when the prune fires.</summary>
    public static PruneResult Apply(PreLlmContext context, IReadOnlyList<LlmUsageEntry> records, ulong protectedTokens, ulong minSavings) =>
        Apply(context.View, () => context.Items, records, protectedTokens, minSavings);

    private static PruneResult Apply(IReadOnlyList<HistoryItem> items, Func<List<HistoryItem>> edit, IReadOnlyList<LlmUsageEntry> records,
        ulong protectedTokens, ulong minSavings)
    {
        if (records.Count == 0) return new(false, 0, 0, "no candidates");
        var prefix = TokenAccounting.Prefix(items);
        var n = items.Count;
        var total = TokenAccounting.TokensAt(prefix, records, n).Tokens;

        // Protected suffix start p: the first index (walking back) at which tokens from p to the end reach the budget.
        var p = 0;
        if (protectedTokens == 0) p = n;
        else
            for (var i = n - 1; i >= 0; i--)
            {
                var tail = total - Math.Min(total, TokenAccounting.TokensAt(prefix, records, i).Tokens);
                if (tail >= protectedTokens) { p = i; break; }
            }

        var candidates = new List<int>();
        long removed = 0;
        for (var i = 0; i < p; i++)
        {
            if (items[i] is not ToolResultItem r || (r.Content is null && r.Attachments is not { Count: > 0 })) continue;
            candidates.Add(i);
            removed += TokenAccounting.Bytes(r) - TokenAccounting.Bytes(Stripped(r));
        }
        if (candidates.Count == 0) return new(false, 0, 0, "no candidates");

        var last = records[^1];
        var measuredBytes = (long)last.HistoryLen < prefix.Length ? prefix[last.HistoryLen] : prefix[n];
        if (measuredBytes == 0) return new(false, candidates.Count, 0, "no measurement");
        var savings = removed * (long)last.InputTotalTokens / measuredBytes;
        if (savings < (long)minSavings) return new(false, candidates.Count, savings, "below min savings");
        var target = edit(); // same items as `items`, now a copy that may be edited
        foreach (var i in candidates) target[i] = Stripped((ToolResultItem)target[i]);
        return new(true, candidates.Count, savings, "pruned");
    }

    private static ToolResultItem Stripped(ToolResultItem r) => r with { Content = null, Attachments = null };
}

/// <summary>The compaction cut (reference-engine §6.4 step 1) with pair balancing.</summary>
public static class CompactionSplit
{
    /// <summary>The byte cut before pair balancing (0 when the whole history fits in <paramref name="retained"/>).</summary>
    public static int RawCut(IReadOnlyList<HistoryItem> items, IReadOnlyList<LlmUsageEntry> records, ulong retained)
    {
        var prefix = TokenAccounting.Prefix(items);
        var n = items.Count;
        var cur = TokenAccounting.TokensAt(prefix, records, n).Tokens;
        if (cur <= retained) return 0;
        var b = prefix[n];
        var rate = Math.Max((long)cur, (b + 3) / 4);
        if (rate == 0) return 0;
        var target = Math.Min(b, (long)Math.Ceiling((double)retained * b / rate));
        var cut = 0;
        for (var i = n; i >= 0; i--)
            if (b - prefix[i] >= target) { cut = i; break; }
        return cut;
    }

    /// <summary>The cut: items before it are summarised, items from it on are kept verbatim. No retained
    /// tool_result lacks its tool_call.</summary>
    public static int Cut(IReadOnlyList<HistoryItem> items, IReadOnlyList<LlmUsageEntry> records, ulong retained) =>
        Balance(items, RawCut(items, records, retained));

    public static int Balance(IReadOnlyList<HistoryItem> items, int cut)
    {
        if (cut <= 0) return 0;
        // Each result's call: the nearest preceding tool_call with its id (ids may repeat across a long session).
        var callOf = new int[items.Count];
        var lastCall = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < items.Count; i++)
        {
            callOf[i] = -1;
            if (items[i] is ToolCallItem c) lastCall[c.CallId] = i;
            else if (items[i] is ToolResultItem r && lastCall.TryGetValue(r.CallId, out var k)) callOf[i] = k;
        }
        bool changed;
        do
        {
            changed = false;
            for (var j = items.Count - 1; j >= cut; j--)
                if (callOf[j] >= 0 && callOf[j] < cut)
                {
                    cut = callOf[j];
                    changed = true;
                }
        } while (changed);
        return cut;
    }
}
