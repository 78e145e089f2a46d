using Tomlyn.Model;

namespace Yoi.Actors.Manifest;

/// <summary>`[compaction]` (reference-engine §6.1). Present = pruning and manual compaction on; <c>Threshold</c> /
/// <c>RequestThreshold</c> switch on the automatic triggers. Thresholds may be given as a ratio (0 &lt; r ≤ 1) of the
/// effective context window: <c>floor(window × r)</c>.</summary>
public sealed record CompactionSection(
    ulong? Threshold = null,
    ulong? RequestThreshold = null,
    ulong RetainedTokens = 8_000,
    ulong PruneProtectedTokens = 8_000,
    ulong PruneMinSavings = 4_096,
    ulong WorkerContextMaxTokens = 50_000,
    ulong FinishWarningRemainingTokens = 8_000,
    ulong FinalReserveTokens = 4_000,
    int WorkerMaxTurns = 20,
    ulong OverviewTargetTokens = 8_000,
    ulong OverviewWarningTokens = 16_000,
    ulong OverviewDeadlineTokens = 40_000,
    ulong SummaryTargetTokens = 2_000,
    ulong SummaryMaxTokens = 4_000,
    ulong AutoReadBudgetTokens = 8_000,
    ulong ResultContextMaxTokens = 60_000,
    string? Model = null)
{
    /// <summary>Breaker and <c>just_compacted</c> exist only with an automatic trigger.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool Automatic => Threshold is not null || RequestThreshold is not null;
}

public static partial class ManifestLoader
{
    private static readonly string[] CompactionKeys =
    [
        "threshold", "request_threshold", "retained_tokens", "prune_protected_tokens", "prune_min_savings",
        "worker_context_max_tokens", "finish_warning_remaining_tokens", "final_reserve_tokens", "worker_max_turns",
        "overview_target_tokens", "overview_warning_tokens", "overview_deadline_tokens", "summary_target_tokens",
        "summary_max_tokens", "auto_read_budget_tokens", "result_context_max_tokens", "model",
    ];

    /// <summary>`[compaction]`; null when the section is absent (prune and compaction off).</summary>
    internal static CompactionSection? CompactionOf(TomlTable? t, ulong contextWindow)
    {
        if (t is null) return null;
        foreach (var key in t.Keys)
            if (!CompactionKeys.Contains(key)) throw new ManifestException($"compaction.{key} is not a known key");

        ulong? Tokens(string key)
        {
            if (!t.TryGetValue(key, out var v)) return null;
            return v switch
            {
                long l when l >= 0 => (ulong)l,
                double d when d > 0 && d <= 1 => (ulong)Math.Floor(contextWindow * d),
                _ => throw new ManifestException($"compaction.{key} must be a non-negative integer (tokens) or a ratio in (0, 1]"),
            };
        }

        var d = new CompactionSection();
        var section = new CompactionSection(
            Tokens("threshold"),
            Tokens("request_threshold"),
            Tokens("retained_tokens") ?? d.RetainedTokens,
            Tokens("prune_protected_tokens") ?? d.PruneProtectedTokens,
            Tokens("prune_min_savings") ?? d.PruneMinSavings,
            Tokens("worker_context_max_tokens") ?? d.WorkerContextMaxTokens,
            Tokens("finish_warning_remaining_tokens") ?? d.FinishWarningRemainingTokens,
            Tokens("final_reserve_tokens") ?? d.FinalReserveTokens,
            (int)(Tokens("worker_max_turns") ?? (ulong)d.WorkerMaxTurns),
            Tokens("overview_target_tokens") ?? d.OverviewTargetTokens,
            Tokens("overview_warning_tokens") ?? d.OverviewWarningTokens,
            Tokens("overview_deadline_tokens") ?? d.OverviewDeadlineTokens,
            Tokens("summary_target_tokens") ?? d.SummaryTargetTokens,
            Tokens("summary_max_tokens") ?? d.SummaryMaxTokens,
            Tokens("auto_read_budget_tokens") ?? d.AutoReadBudgetTokens,
            Tokens("result_context_max_tokens") ?? d.ResultContextMaxTokens,
            Str(t, "compaction.model"));
        if (section.WorkerMaxTurns <= 0) throw new ManifestException("compaction.worker_max_turns must be > 0");
        return section;
    }
}
