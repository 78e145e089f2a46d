using System.Text;
using System.Text.Json;
using Yoi.Actors.Engine;
using Yoi.Actors.Manifest;
using Yoi.Messages;

namespace Yoi.Actors.Compaction;

/// <summary>Why a compaction failed (reference-engine §6). <c>Engine</c> carries the sub-run's engine error.</summary>
public enum CompactionErrorKind { SummaryMissing, SummaryTooLarge, ResultContextTooLarge, Thrash, NothingToCompact, Cancelled, Engine }

public sealed class CompactionException(CompactionErrorKind kind, string message, EngineError? engineError = null) : Exception(message)
{
    public CompactionErrorKind Kind { get; } = kind;
    public EngineError? EngineError { get; } = engineError;

    /// <summary>The `error` event code for a failed manual compaction (reference-protocol §4).</summary>
    public ErrorCode Code => EngineError?.Code ?? ErrorCode.Internal;
}

/// <summary>The result of the summariser sub-run: the history of the new segment.</summary>
public sealed record CompactionProduct(IReadOnlyList<HistoryItem> NewHistory, string Summary, int SummarisedItems, int RetainedItems);

/// <summary>One compaction (reference-engine §6.4): the summariser sub-run over the items before the cut — a fresh
/// <see cref="TurnEngine"/> with its own tools (<c>write_summary</c>, <c>read_session_items</c>,
/// <c>search_session_log</c>, <c>add_reference</c>, and with a workspace <c>read_file</c> / <c>mark_read_required</c>)
/// and the budget interceptor — then the new history: "[Compacted context summary]\n\n" + summary, the marked files
/// re-read now, the references note, the retained tail. Pure: no actor, no journal.</summary>
/// <param name="reader">A Read tool over the Worker's workspace (its scope and loans), when it has one: the summariser
/// then also gets <c>read_file</c> and <c>mark_read_required</c>, whose files are re-read into the new history.</param>
/// <param name="recentFiles">The files the agent touched most recently (up to 5): listed in the input, and a summary
/// that marks none of them gets one nudge to mark what the agent must see again.</param>
public sealed class Summariser(IModelClient model, CompactionSection settings, RetryPolicy? retry = null, ITool? reader = null,
    IReadOnlyList<string>? recentFiles = null)
{
    public const string SummaryPrefix = "[Compacted context summary]\n\n";
    public const string BudgetWarningPrefix = "[Compact worker budget warning]\n\n";

    public const string SystemPrompt =
        "You are the context compactor of an agent session. You receive an overview of the conversation so far and tools " +
        "to read its items. Write a faithful, dense summary that lets the agent continue the work without the original " +
        "items: the user's goals and constraints, decisions taken, files and facts discovered, work done, open questions " +
        "and the next steps. Call write_summary(text) with the complete summary (the last call wins), then stop.";

    public const string NudgeText =
        "You have not called write_summary yet. Call write_summary now with the complete summary of the conversation.";

    public const string MarkFilesNudge =
        "No file is marked. If the agent must see any of the recently touched files again to continue, call " +
        "mark_read_required for each; otherwise reply that none is needed.";

    public async Task<CompactionProduct> RunAsync(IReadOnlyList<HistoryItem> history, IReadOnlyList<LlmUsageEntry> usage, string cacheKey,
        CancellationToken ct)
    {
        var cut = CompactionSplit.Cut(history, usage, settings.RetainedTokens);
        if (cut == 0) throw new CompactionException(CompactionErrorKind.NothingToCompact, "nothing to compact: the context is within the retained tail");
        var summarised = history.Take(cut).ToList();
        var retained = history.Skip(cut).ToList();

        var tools = new SummariserTools(summarised, reader);
        var state = new EngineState();
        var interceptor = new BudgetInterceptor(settings);
        var engine = new TurnEngine(model, tools.All, new EngineSettings(SystemPrompt, RequestConfig.Default, settings.WorkerMaxTurns,
            Retry: retry, CacheKey: cacheKey), NullHost.Instance, state, interceptor);

        await RunOnce(engine, MessageItem.Text(Role.User, Input(summarised)), ct).ConfigureAwait(false);
        if (tools.Summary is null) await RunOnce(engine, MessageItem.Text(Role.User, NudgeText), ct).ConfigureAwait(false);
        if (tools.Summary is null)
            throw new CompactionException(CompactionErrorKind.SummaryMissing, "compact worker finished without calling write_summary");
        if (reader is not null && tools.ReadRequired.Count == 0 && recentFiles is { Count: > 0 })
            await RunOnce(engine, MessageItem.Text(Role.User, MarkFilesNudge), ct).ConfigureAwait(false);
        if (Tokens(tools.Summary) > settings.SummaryMaxTokens)
        {
            await RunOnce(engine, MessageItem.Text(Role.User,
                $"The summary is too long ({Tokens(tools.Summary)} tokens; the maximum is {settings.SummaryMaxTokens}). " +
                $"Rewrite it shorter (target {settings.SummaryTargetTokens} tokens) and call write_summary again."), ct).ConfigureAwait(false);
            if (Tokens(tools.Summary) > settings.SummaryMaxTokens)
                throw new CompactionException(CompactionErrorKind.SummaryTooLarge,
                    $"compact summary is too large ({Tokens(tools.Summary)} > {settings.SummaryMaxTokens} tokens)");
        }

        var newHistory = new List<HistoryItem> { MessageItem.Text(Role.System, SummaryPrefix + tools.Summary) };
        foreach (var marked in tools.ReadRequired)
            newHistory.Add(MessageItem.Text(Role.System, await tools.RereadAsync(marked, ct).ConfigureAwait(false)));
        if (tools.References.Count > 0)
            newHistory.Add(MessageItem.Text(Role.System, "[Referenced files — read before compaction, contents not included]\n" +
                string.Concat(tools.References.Select(r => "- " + r + "\n")) + "Use read_file to access current contents if needed."));
        newHistory.AddRange(retained);
        var estimate = (ulong)(TokenAccounting.Prefix(newHistory)[^1] / 4);
        if (estimate > settings.ResultContextMaxTokens)
            throw new CompactionException(CompactionErrorKind.ResultContextTooLarge,
                $"compacted context is too large ({estimate} > {settings.ResultContextMaxTokens} tokens)");
        return new CompactionProduct(newHistory, tools.Summary, summarised.Count, retained.Count);
    }

    private static ulong Tokens(string text) => (ulong)((Encoding.UTF8.GetByteCount(text) + 3) / 4);

    private static async Task RunOnce(TurnEngine engine, MessageItem input, CancellationToken ct)
    {
        var outcome = await engine.RunAsync(input, ct).ConfigureAwait(false);
        if (outcome.Error is { } error)
            throw error.Kind == EngineErrorKind.Cancelled && ct.IsCancellationRequested
                ? new CompactionException(CompactionErrorKind.Cancelled, "Cancelled", error)
                : new CompactionException(CompactionErrorKind.Engine, error.Display, error);
    }

    /// <summary>The input text: instructions with the summary target and a bounded overview (newest messages up to
    /// ~overview_target tokens, then an index of up to 24 recent tool calls/results).</summary>
    public string Input(IReadOnlyList<HistoryItem> items)
    {
        var sb = new StringBuilder();
        sb.Append($"Summarise the conversation below for the agent that will continue it. Target about {settings.SummaryTargetTokens} tokens ");
        sb.Append($"(hard maximum {settings.SummaryMaxTokens}). Use read_session_items / search_session_log for detail, add_reference for ");
        sb.Append("files the agent should re-read, and finish with write_summary.\n\n");
        if (recentFiles is { Count: > 0 })
        {
            sb.Append("Recently touched files");
            sb.Append(reader is null ? ":\n" : " (mark_read_required those the agent must see again):\n");
            foreach (var f in recentFiles) sb.Append("- ").Append(f).Append('\n');
            sb.Append('\n');
        }
        sb.Append(Overview(items, 2_000));
        var overview = sb.ToString();
        if ((ulong)overview.Length / 4 > settings.OverviewDeadlineTokens)
            overview = overview[..sb.ToString().IndexOf("[Overview]", StringComparison.Ordinal)] + Overview(items, 240);
        return overview;
    }

    private string Overview(IReadOnlyList<HistoryItem> items, int entryChars)
    {
        var sb = new StringBuilder($"[Overview] {items.Count} items to summarise.\n\nRecent messages:\n");
        var lines = new List<string>();
        long budget = (long)settings.OverviewTargetTokens * 4;
        for (var i = items.Count - 1; i >= 0 && budget > 0; i--)
        {
            if (items[i] is not MessageItem m) continue;
            var text = m.PlainText;
            if (text.Length > entryChars) text = text[..entryChars] + "…";
            var line = $"[{i} {m.Role}] {text}";
            lines.Add(line);
            budget -= line.Length;
        }
        lines.Reverse();
        foreach (var line in lines) sb.Append(line).Append('\n');
        sb.Append("\nRecent tool activity:\n");
        var tools = new List<string>();
        for (var i = items.Count - 1; i >= 0 && tools.Count < 24; i--)
            switch (items[i])
            {
                case ToolCallItem c: tools.Add($"[{i} call {c.Name}] {Trim(c.Arguments, 200)}"); break;
                case ToolResultItem r: tools.Add($"[{i} result{(r.IsError ? " error" : "")}] {Trim(r.Summary, 200)}"); break;
            }
        tools.Reverse();
        foreach (var t in tools) sb.Append(t).Append('\n');
        return sb.ToString();
    }

    private static string Trim(string s, int n) => s.Length > n ? s[..n] + "…" : s;

    /// <summary>The sub-run's host: nothing to persist, nothing to drain, events discarded.</summary>
    private sealed class NullHost : ITurnHost
    {
        public static NullHost Instance { get; } = new();
        public Task CommitAsync(HistoryItem item, CancellationToken ct) => Task.CompletedTask;
        public Task DurableAsync(CancellationToken ct) => Task.CompletedTask;
        public Task<IReadOnlyList<HistoryItem>> DrainPendingAsync(CancellationToken ct) => Task.FromResult<IReadOnlyList<HistoryItem>>([]);
        public void Publish(Event e) { }
        public void Warn(string message) { }
    }
}

/// <summary>The summariser's budget (reference-engine §6.4 step 3): before each request the occupancy is estimated;
/// over <c>worker_context_max_tokens</c> the sub-run is cancelled; once remaining ≤ the warning or the final reserve a
/// budget warning is appended (once); below the final reserve every tool call but <c>write_summary</c> is refused.</summary>
public sealed class BudgetInterceptor(CompactionSection settings) : ITurnInterceptor
{
    private bool _warned;
    private volatile bool _reserve;

    public bool Warned => _warned;

    public ValueTask<PreLlmDecision> PreLlmRequest(PreLlmContext context)
    {
        var occupancy = (ulong)(TokenAccounting.Prefix(context.View)[^1] / 4) + (ulong)Summariser.SystemPrompt.Length / 4;
        var max = settings.WorkerContextMaxTokens;
        if (occupancy > max)
            return ValueTask.FromResult(PreLlmDecision.Cancel($"compact worker context budget exceeded ({occupancy} > {max} tokens)"));
        var remaining = max - occupancy;
        if (remaining <= settings.FinalReserveTokens) _reserve = true;
        if (!_warned && (remaining <= settings.FinishWarningRemainingTokens || remaining <= settings.FinalReserveTokens))
        {
            _warned = true;
            return ValueTask.FromResult(PreLlmDecision.ContinueWith([MessageItem.Text(Role.System, Summariser.BudgetWarningPrefix +
                $"About {remaining} tokens of context remain. Stop exploring and call write_summary with the complete summary now.")]));
        }
        return ValueTask.FromResult(PreLlmDecision.Continue);
    }

    public ValueTask<PreToolDecision> PreToolCall(ToolCallInfo call) =>
        ValueTask.FromResult(_reserve && call.Call.Name != SummariserTools.WriteSummary
            ? PreToolDecision.SyntheticResult(new ToolOutput("compact worker budget exhausted: only write_summary is allowed now"), isError: true)
            : PreToolDecision.Continue);
}

/// <summary>The summariser's tools over the items to be summarised.</summary>
public sealed class SummariserTools
{
    public const string WriteSummary = "write_summary";
    private readonly IReadOnlyList<HistoryItem> _items;

    public const string ReadRequiredPrefix = "[File re-read after compaction: ";
    private static readonly ToolCallContext ReadContext = new("summariser", "summariser", 0);
    private readonly ITool? _reader;

    public SummariserTools(IReadOnlyList<HistoryItem> items, ITool? reader = null)
    {
        _items = items;
        _reader = reader;
        List<ITool> all =
        [
            new Tool(WriteSummary, "Record the compaction summary (the last call wins).",
                """{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}""", WriteAsync),
            new Tool("read_session_items", "Read items of the conversation being summarised (mode compact or full).",
                """{"type":"object","properties":{"offset":{"type":"integer"},"limit":{"type":"integer"},"mode":{"type":"string","enum":["compact","full"]}},"required":["offset","limit"]}""",
                ReadAsync),
            new Tool("search_session_log", "Search the conversation being summarised for a text (case-insensitive).",
                """{"type":"object","properties":{"query":{"type":"string"},"offset":{"type":"integer"},"limit":{"type":"integer"}},"required":["query"]}""",
                SearchAsync),
            new Tool("add_reference", "Name a file the agent should re-read after compaction (contents are not included).",
                """{"type":"object","properties":{"file_path":{"type":"string"}},"required":["file_path"]}""", ReferenceAsync),
        ];
        if (reader is not null)
        {
            // Only with a working directory (reference-engine §6.4): both read through a Read tool over the Worker's scope.
            all.Add(new Tool("read_file", "Read a workspace file (numbered lines; offset is a 0-based line, limit a line count).",
                reader.InputSchema.GetRawText(), input => reader.ExecuteAsync(input, ReadContext, CancellationToken.None)));
            all.Add(new Tool("mark_read_required", "Mark a file the agent must see again after compaction: its current contents " +
                "(optionally a line range) are re-read into the new context.", reader.InputSchema.GetRawText(), MarkAsync));
        }
        All = all;
    }

    public IReadOnlyList<ITool> All { get; }
    public string? Summary { get; private set; }
    public List<string> References { get; } = [];

    /// <summary>The `mark_read_required` calls, in order (the same path again replaces the earlier range).</summary>
    public List<JsonElement> ReadRequired { get; } = [];

    private async Task<ToolOutput> MarkAsync(JsonElement input)
    {
        var path = Str(input, "file_path") ?? throw new ToolException(ToolErrorKind.InvalidArgument, "mark_read_required needs `file_path`");
        await _reader!.ExecuteAsync(input, ReadContext, CancellationToken.None); // fails like Read would
        ReadRequired.RemoveAll(e => Str(e, "file_path") == path);
        ReadRequired.Add(input.Clone());
        return new ToolOutput("marked for re-reading after compaction: " + path);
    }

    /// <summary>A marked file's system message for the new history, read now (a file gone since is said so).</summary>
    public async Task<string> RereadAsync(JsonElement marked, CancellationToken ct)
    {
        var path = Str(marked, "file_path")!;
        try
        {
            var output = await _reader!.ExecuteAsync(marked, ReadContext, ct).ConfigureAwait(false);
            return $"{ReadRequiredPrefix}{path}]\n{output.Summary}\n{output.Content}";
        }
        catch (ToolException e)
        {
            return $"{ReadRequiredPrefix}{path}]\n(not readable now: {e.Display})";
        }
    }

    private Task<ToolOutput> WriteAsync(JsonElement input)
    {
        var text = Str(input, "text") ?? throw new ToolException(ToolErrorKind.InvalidArgument, "write_summary needs `text`");
        Summary = text;
        return Task.FromResult(new ToolOutput($"summary recorded ({text.Length} chars)"));
    }

    private Task<ToolOutput> ReadAsync(JsonElement input)
    {
        var offset = Math.Max(0, Int(input, "offset") ?? 0);
        var limit = Math.Clamp(Int(input, "limit") ?? 20, 1, 200);
        var full = Str(input, "mode") == "full";
        var sb = new StringBuilder();
        for (var i = offset; i < Math.Min(_items.Count, offset + limit); i++) sb.Append(Render(i, full ? int.MaxValue : 500)).Append('\n');
        return Task.FromResult(new ToolOutput($"items {offset}..{Math.Min(_items.Count, offset + limit)} of {_items.Count}", sb.ToString()));
    }

    private Task<ToolOutput> SearchAsync(JsonElement input)
    {
        var query = Str(input, "query") ?? "";
        var offset = Math.Max(0, Int(input, "offset") ?? 0);
        var limit = Math.Clamp(Int(input, "limit") ?? 20, 1, 200);
        var hits = Enumerable.Range(0, _items.Count)
            .Where(i => query.Length > 0 && Render(i, int.MaxValue).Contains(query, StringComparison.OrdinalIgnoreCase)).ToList();
        var page = hits.Skip(offset).Take(limit).Select(i => Render(i, 300));
        return Task.FromResult(new ToolOutput($"{hits.Count} matches", string.Join("\n", page)));
    }

    private Task<ToolOutput> ReferenceAsync(JsonElement input)
    {
        var path = Str(input, "file_path") ?? throw new ToolException(ToolErrorKind.InvalidArgument, "add_reference needs `file_path`");
        if (!References.Contains(path)) References.Add(path);
        return Task.FromResult(new ToolOutput("reference added: " + path));
    }

    private string Render(int i, int max)
    {
        var text = _items[i] switch
        {
            MessageItem m => $"[{i} {m.Role}] {m.PlainText}",
            ToolCallItem c => $"[{i} tool_call {c.Name}] {c.Arguments}",
            ToolResultItem r => $"[{i} tool_result{(r.IsError ? " error" : "")}] {r.ModelText}",
            ReasoningItem re => $"[{i} reasoning] {re.Text}",
            _ => $"[{i}]",
        };
        return text.Length > max ? text[..max] + "…" : text;
    }

    private static string? Str(JsonElement e, string key) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static int? Int(JsonElement e, string key) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(key, out var v) && v.TryGetInt32(out var n) ? n : null;

    private sealed class Tool(string name, string description, string schema, Func<JsonElement, Task<ToolOutput>> run) : ITool
    {
        public string Name => name;
        public string Description => description;
        public JsonElement InputSchema { get; } = JsonDocument.Parse(schema).RootElement.Clone();
        public Task<ToolOutput> ExecuteAsync(JsonElement input, ToolCallContext context, CancellationToken ct) => run(input);
    }
}
