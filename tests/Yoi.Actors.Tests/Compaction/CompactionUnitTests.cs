using System.Text;
using Yoi.Actors.Compaction;
using Yoi.Actors.Engine;
using Yoi.Actors.Engine.Scripted;
using Yoi.Actors.Manifest;
using Yoi.Actors.Tests.Engine;
using Yoi.Messages;

namespace Yoi.Actors.Tests.Compaction;

/// <summary>reference-engine §9 items 49, 52, 53 at the unit level (split, prune, token accounting), the manifest
/// section and the summariser sub-run driven by the scripted model.</summary>
public sealed class CompactionUnitTests
{
    private static void AssertItem(HistoryItem expected, HistoryItem actual) =>
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(expected, Yoi.Messages.Json.YoiJson.Options),
            System.Text.Json.JsonSerializer.Serialize(actual, Yoi.Messages.Json.YoiJson.Options));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static MessageItem U(string t) => MessageItem.Text(Role.User, t);
    private static MessageItem A(string t) => MessageItem.Text(Role.Assistant, t);
    private static LlmUsageEntry Rec(int len, ulong tokens) => new((ulong)len, tokens, 0, 0, 1);

    // engine §9 #53
    [Fact]
    public void Bytes_are_the_engine_form_json_and_total_tokens_is_bytes_over_4_without_records_and_measured_with_one()
    {
        Assert.Equal("""{"type":"message","role":"user","content":[{"type":"text","text":"hi"}]}""",
            Encoding.UTF8.GetString(TokenAccounting.EngineFormJson(U("hi"))));
        Assert.Equal("""{"type":"tool_result","call_id":"c1","summary":"s","content":"x","is_error":true}""",
            Encoding.UTF8.GetString(TokenAccounting.EngineFormJson(new ToolResultItem("c1", "s", "x", IsError: true))));
        Assert.Equal("""{"type":"tool_call","call_id":"c1","name":"Read","arguments":"{}"}""",
            Encoding.UTF8.GetString(TokenAccounting.EngineFormJson(new ToolCallItem("c1", "Read", "{}"))));

        HistoryItem[] history = [U("héllo wörld"), A("a reply"), new ToolCallItem("c1", "Read", """{"file_path":"/a"}"""),
            new ToolResultItem("c1", "1 line", "content")];
        var sum = history.Sum(i => TokenAccounting.EngineFormJson(i).Length);
        Assert.Equal(new TokenEstimate((ulong)(sum / 4), TokenSource.NoData), TokenAccounting.Total(history, []));
        Assert.Equal(new TokenEstimate(120, TokenSource.Measured), TokenAccounting.Total(history, [Rec(history.Length, 120)]));
        Assert.Equal(new TokenEstimate(0, TokenSource.Measured), TokenAccounting.TokensAt(history, [Rec(2, 50)], 0));
    }

    [Fact]
    public void Tokens_at_interpolates_between_records_and_extrapolates_past_the_last()
    {
        HistoryItem[] history = [U(new string('a', 100)), A(new string('b', 100)), U(new string('c', 100)), A(new string('d', 100))];
        var prefix = TokenAccounting.Prefix(history);
        LlmUsageEntry[] records = [Rec(1, 100), Rec(3, 300)];
        var mid = TokenAccounting.TokensAt(prefix, records, 2);
        Assert.Equal(TokenSource.Interpolated, mid.Source);
        Assert.Equal((ulong)(100 + (prefix[2] - prefix[1]) * 200 / (prefix[3] - prefix[1])), mid.Tokens);
        var end = TokenAccounting.TokensAt(prefix, records, 4);
        Assert.Equal(new TokenEstimate((ulong)(300 + (prefix[4] - prefix[3]) / 4), TokenSource.Extrapolated), end);
        var onlyUpper = TokenAccounting.TokensAt(prefix, [Rec(3, 300)], 1);
        Assert.Equal(new TokenEstimate((ulong)(prefix[1] * 300 / prefix[3]), TokenSource.Interpolated), onlyUpper);
    }

    // engine §9 #53 (the engine side): a request sent with 7 items is recorded with history_len 7
    [Fact]
    public async Task A_request_with_a_context_of_7_items_records_history_len_7()
    {
        var host = new FakeHost();
        var state = new EngineState { History = [U("1"), A("2"), U("3"), A("4"), U("5"), A("6")] };
        var model = new ScriptedModelClient([new ScriptedResponse(new ScriptText("ok"), new ScriptUsage(Input: 70, Output: 1))]);
        var outcome = await new TurnEngine(model, [], new EngineSettings("sys", RequestConfig.Default), host, state).RunAsync(U("7"), Ct);
        Assert.Equal(7UL, Assert.Single(outcome.Usage).HistoryLen);
        Assert.Equal(70UL, outcome.Usage[0].InputTotalTokens);
    }

    // engine §9 #49
    [Fact]
    public void The_cut_moves_back_to_the_first_call_when_the_byte_cut_falls_between_two_results()
    {
        HistoryItem[] history = [U("please read both files"), new ToolCallItem("c1", "Read", """{"file_path":"/a"}"""),
            new ToolCallItem("c2", "Read", """{"file_path":"/b"}"""), new ToolResultItem("c1", "read a", new string('a', 300)),
            new ToolResultItem("c2", "read b", new string('b', 300)), A("both files read")];
        ulong retained = 0;
        for (ulong r = 1; r < 1000; r++)
            if (CompactionSplit.RawCut(history, [], r) == 4) { retained = r; break; }
        Assert.NotEqual(0UL, retained); // a budget whose byte cut falls between the two results exists
        Assert.Equal(4, CompactionSplit.RawCut(history, [], retained));
        Assert.Equal(1, CompactionSplit.Cut(history, [], retained)); // back to tool_call c1
        var tail = history.Skip(1).ToList();
        var calls = tail.OfType<ToolCallItem>().Select(c => c.CallId).ToHashSet();
        Assert.All(tail.OfType<ToolResultItem>(), r => Assert.Contains(r.CallId, calls));

        var total = TokenAccounting.Total(history, []).Tokens;
        Assert.Equal(0, CompactionSplit.Cut(history, [], total)); // within the retained tail
    }

    [Fact]
    public void Pair_balancing_pairs_a_result_with_the_nearest_preceding_call_of_its_id()
    {
        HistoryItem[] history = [new ToolCallItem("c1", "Read", "{}"), new ToolResultItem("c1", "old"), A("x"),
            new ToolCallItem("c1", "Read", "{}"), new ToolResultItem("c1", "new"), A("y")];
        Assert.Equal(3, CompactionSplit.Balance(history, 4));
        Assert.Equal(5, CompactionSplit.Balance(history, 5));
    }

    // engine §9 #52 (projection)
    [Fact]
    public void Prune_strips_old_tool_result_content_in_the_request_copy_only_and_needs_usage_records()
    {
        var big = new ToolResultItem("c1", "read big", new string('x', 20_000),
            [new ImageAttachment("image/png", "AAAA")]);
        List<HistoryItem> history = [U("read it"), new ToolCallItem("c1", "Read", "{}"), big, A("done"), U("next question")];
        LlmUsageEntry[] records = [Rec(1, 100), Rec(3, 5_100)];

        var copy = history.ToList();
        var result = Pruning.Apply(copy, records, protectedTokens: 10, minSavings: 100);
        Assert.True(result.Fired);
        Assert.Equal(new ToolResultItem("c1", "read big"), copy[2]);
        Assert.Same(big, history[2]); // the persisted history is untouched

        var noRecords = history.ToList();
        Assert.False(Pruning.Apply(noRecords, [], 10, 100).Fired);
        Assert.Same(big, noRecords[2]);

        var tooSmall = history.ToList();
        Assert.False(Pruning.Apply(tooSmall, records, 10, 1_000_000).Fired); // savings below prune_min_savings
        var allProtected = history.ToList();
        Assert.False(Pruning.Apply(allProtected, records, 1_000_000, 1).Fired); // the budget is never reached: p = 0
    }

    [Fact]
    public void The_compaction_section_reads_tokens_ratios_and_defaults_and_rejects_unknown_keys()
    {
        var m = ManifestLoader.Parse("""
            [model]
            scheme = "scripted"
            script = "s.json"
            context_window = 272000
            [compaction]
            threshold = 240000
            request_threshold = 0.5
            retained_tokens = 1000
            """, Path.GetTempPath());
        var c = Assert.IsType<CompactionSection>(m.Compaction);
        Assert.Equal(240_000UL, c.Threshold);
        Assert.Equal(136_000UL, c.RequestThreshold);
        Assert.Equal(1_000UL, c.RetainedTokens);
        Assert.Equal(8_000UL, c.PruneProtectedTokens);
        Assert.Equal(20, c.WorkerMaxTurns);
        Assert.True(c.Automatic);
        Assert.Equal(c, Yoi.Actors.Manifest.WorkerManifest.FromJson(m.ToJson()).Compaction); // journaled with the manifest

        Assert.Null(ManifestLoader.Parse("[model]\nscheme = \"scripted\"\nscript = \"s.json\"\n", Path.GetTempPath()).Compaction);
        var ex = Assert.Throws<ManifestException>(() => ManifestLoader.Parse(
            "[model]\nscheme = \"scripted\"\nscript = \"s.json\"\n[compaction]\nthreshhold = 5\n", Path.GetTempPath()));
        Assert.Contains("compaction.threshhold", ex.Message);
    }

    private static readonly CompactionSection Settings = new(RetainedTokens: 1);

    private static List<HistoryItem> Conversation() =>
        [U("Please fix the parser bug in src/parse.rs"), A("I looked at the parser and found the off-by-one."), U("Great, now add a test"), A("Test added.")];

    [Fact]
    public async Task The_summariser_writes_the_new_history_from_write_summary_and_keeps_the_tail()
    {
        var model = new ScriptedModelClient([
            new ScriptedResponse(new ScriptToolCall("s1", "add_reference", """{"file_path":"src/parse.rs"}"""),
                new ScriptToolCall("s2", SummariserTools.WriteSummary, """{"text":"Fixed an off-by-one in the parser."}""")),
            new ScriptedResponse(new ScriptText("done")),
        ]);
        var product = await new Summariser(model, Settings).RunAsync(Conversation(), [], "seg", Ct);

        Assert.Equal(3, product.SummarisedItems);
        Assert.Equal(1, product.RetainedItems);
        Assert.Equal(Summariser.SummaryPrefix + "Fixed an off-by-one in the parser.", ((MessageItem)product.NewHistory[0]).PlainText);
        Assert.StartsWith("[Referenced files — read before compaction, contents not included]\n- src/parse.rs\n",
            ((MessageItem)product.NewHistory[1]).PlainText);
        AssertItem(A("Test added."), product.NewHistory[2]);
        var first = model.Requests[0];
        Assert.Equal(Summariser.SystemPrompt, first.SystemPrompt);
        Assert.Equal("seg", first.CacheKey);
        Assert.Contains(first.Tools, t => t.Name == SummariserTools.WriteSummary);
        Assert.Contains("[Overview] 3 items to summarise.", ((MessageItem)first.Items[0]).PlainText);
    }

    [Fact]
    public async Task Files_marked_read_required_are_re_read_into_the_new_history_after_the_summary()
    {
        using var tree = new Yoi.Actors.Tests.Scope.TempTree();
        var ws = tree.Dir("ws");
        var file = tree.File("ws/src/parse.rs", "fn parse() {}\n");
        var reader = ReaderOver(ws);
        var model = new ScriptedModelClient([
            new ScriptedResponse(new ScriptToolCall("s1", "read_file", """{"file_path":"src/parse.rs"}"""),
                new ScriptToolCall("s2", "mark_read_required", """{"file_path":"src/parse.rs"}"""),
                new ScriptToolCall("s3", SummariserTools.WriteSummary, """{"text":"Fixed the parser."}""")),
            new ScriptedResponse(new ScriptText("done")),
        ]);
        // The file changes after it was marked (before the summariser's second request): the new history carries what
        // it holds when the compaction ends, not what was read earlier.
        var product = await new Summariser(new BeforeCall(model, 1, () => File.WriteAllText(file, "fn parse() { fixed }\n")), Settings,
            reader: reader).RunAsync(Conversation(), [], "seg", Ct);

        var request = model.Requests[0];
        Assert.Contains(request.Tools, t => t.Name == "read_file");
        Assert.Contains(request.Tools, t => t.Name == "mark_read_required");
        var readResult = Assert.IsType<ToolResultItem>(model.Requests[1].Items.First(i => i is ToolResultItem { CallId: "s1" }));
        Assert.Contains("fn parse() {}", readResult.ModelText);
        Assert.Equal(Summariser.SummaryPrefix + "Fixed the parser.", ((MessageItem)product.NewHistory[0]).PlainText);
        var reread = ((MessageItem)product.NewHistory[1]).PlainText;
        Assert.StartsWith(SummariserTools.ReadRequiredPrefix + "src/parse.rs]\n", reread);
        Assert.Contains("fn parse() { fixed }", reread);
        AssertItem(A("Test added."), product.NewHistory[2]);
    }

    [Fact]
    public async Task Recently_touched_files_are_listed_and_a_summary_that_marks_none_gets_one_nudge_to_mark_them()
    {
        using var tree = new Yoi.Actors.Tests.Scope.TempTree();
        var ws = tree.Dir("ws");
        tree.File("ws/notes.md", "todo: tests\n");
        var reader = ReaderOver(ws);
        var model = new ScriptedModelClient([
            new ScriptedResponse(new ScriptToolCall("s1", SummariserTools.WriteSummary, """{"text":"S."}""")),
            new ScriptedResponse(new ScriptText("done")),
            new ScriptedResponse(new ScriptToolCall("s2", "mark_read_required", """{"file_path":"notes.md"}""")),
            new ScriptedResponse(new ScriptText("marked")),
        ]);
        var product = await new Summariser(model, Settings, reader: reader, recentFiles: ["notes.md", "src/old.rs"])
            .RunAsync(Conversation(), [], "seg", Ct);

        Assert.Contains("Recently touched files (mark_read_required those the agent must see again):\n- notes.md\n- src/old.rs\n",
            ((MessageItem)model.Requests[0].Items[0]).PlainText);
        Assert.Contains(model.Requests[2].Items, i => i is MessageItem m && m.PlainText == Summariser.MarkFilesNudge);
        Assert.Equal(4, model.Requests.Count); // one nudge only
        Assert.StartsWith(SummariserTools.ReadRequiredPrefix + "notes.md]\n", ((MessageItem)product.NewHistory[1]).PlainText);
    }

    /// <summary>A Read tool whose scope is <paramref name="ws"/>, read-only (what a Worker hands its summariser).</summary>
    private static Yoi.Actors.Tools.ReadTool ReaderOver(string ws) =>
        new(new Yoi.Actors.Scope.Workspace(ws, new Yoi.Actors.Scope.ScopeConfig([Yoi.Actors.Tests.Scope.ToolKit.Allow(ws, Permission.Read)], [])),
            new Yoi.Actors.Tools.FileTracker());

    /// <summary>Runs an action just before the model's n-th request (0-based).</summary>
    private sealed class BeforeCall(IModelClient inner, int call, Action action) : IModelClient
    {
        private int _calls;
        public string Provider => inner.Provider;
        public string Model => inner.Model;

        public IAsyncEnumerable<StreamEvent> StreamAsync(ModelRequest request, CancellationToken ct)
        {
            if (Interlocked.Increment(ref _calls) - 1 == call) action();
            return inner.StreamAsync(request, ct);
        }
    }

    [Fact]
    public async Task The_summariser_cannot_read_outside_the_workers_scope_and_has_no_file_tools_without_a_workspace()
    {
        using var tree = new Yoi.Actors.Tests.Scope.TempTree();
        var ws = tree.Dir("ws");
        tree.File("secret.txt", "key\n");
        var reader = ReaderOver(ws);
        var model = new ScriptedModelClient([
            new ScriptedResponse(new ScriptToolCall("s1", "mark_read_required", """{"file_path":"../secret.txt"}"""),
                new ScriptToolCall("s2", SummariserTools.WriteSummary, """{"text":"S."}""")),
            new ScriptedResponse(new ScriptText("done")),
        ]);
        var product = await new Summariser(model, Settings, reader: reader).RunAsync(Conversation(), [], "seg", Ct);
        var refused = Assert.IsType<ToolResultItem>(model.Requests[1].Items.First(i => i is ToolResultItem { CallId: "s1" }));
        Assert.True(refused.IsError);
        Assert.DoesNotContain(product.NewHistory, i => i is MessageItem m && m.PlainText.StartsWith(SummariserTools.ReadRequiredPrefix));

        var bare = new ScriptedModelClient([new ScriptedResponse(new ScriptToolCall("s1", SummariserTools.WriteSummary, """{"text":"S."}""")),
            new ScriptedResponse(new ScriptText("done"))]);
        await new Summariser(bare, Settings).RunAsync(Conversation(), [], "seg", Ct);
        Assert.DoesNotContain(bare.Requests[0].Tools, t => t.Name is "read_file" or "mark_read_required");
    }

    // engine §9 #51 (sub-run)
    [Fact]
    public async Task A_summariser_that_never_calls_write_summary_is_nudged_once_then_fails_with_summary_missing()
    {
        var model = new ScriptedModelClient([new ScriptedResponse(new ScriptText("thinking about it")), new ScriptedResponse(new ScriptText("no"))]);
        var ex = await Assert.ThrowsAsync<CompactionException>(() => new Summariser(model, Settings).RunAsync(Conversation(), [], "seg", Ct));
        Assert.Equal(CompactionErrorKind.SummaryMissing, ex.Kind);
        Assert.Equal(2, model.Requests.Count);
        Assert.Equal(Summariser.NudgeText, ((MessageItem)model.Requests[1].Items[^1]).PlainText);
    }

    [Fact]
    public async Task The_budget_interceptor_warns_once_and_then_only_write_summary_may_run()
    {
        // Occupancy is far over the warning and the reserve but under the hard cap.
        var settings = new CompactionSection(RetainedTokens: 1, WorkerContextMaxTokens: 2_000, FinishWarningRemainingTokens: 1_990,
            FinalReserveTokens: 1_990);
        var model = new ScriptedModelClient([
            new ScriptedResponse(new ScriptToolCall("r1", "read_session_items", """{"offset":0,"limit":2}"""),
                new ScriptToolCall("w1", SummariserTools.WriteSummary, """{"text":"short"}""")),
            new ScriptedResponse(new ScriptText("done")),
        ]);
        var product = await new Summariser(model, settings).RunAsync(Conversation(), [], "seg", Ct);
        Assert.EndsWith("short", ((MessageItem)product.NewHistory[0]).PlainText);
        var warning = model.Requests[0].Items.OfType<MessageItem>().Single(m => m.Role == Role.System);
        Assert.StartsWith(Summariser.BudgetWarningPrefix, warning.PlainText);
        var refused = model.Requests[1].Items.OfType<ToolResultItem>().Single(r => r.CallId == "r1");
        Assert.True(refused.IsError);
        Assert.Single(model.Requests[1].Items.OfType<MessageItem>(), m => m.Role == Role.System); // warned once

        var capped = new CompactionSection(RetainedTokens: 1, WorkerContextMaxTokens: 10);
        var ex = await Assert.ThrowsAsync<CompactionException>(() =>
            new Summariser(new ScriptedModelClient([]), capped).RunAsync(Conversation(), [], "seg", Ct));
        Assert.Equal(CompactionErrorKind.Engine, ex.Kind);
        Assert.Contains("compact worker context budget exceeded", ex.Message);
    }
}
