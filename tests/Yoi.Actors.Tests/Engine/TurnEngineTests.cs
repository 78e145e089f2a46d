using System.Diagnostics;
using System.Text.Json;
using Xunit;
using Yoi.Actors.Engine;
using Yoi.Actors.Engine.Scripted;
using Yoi.Messages;
using static Yoi.Actors.Tests.Engine.Kit;

namespace Yoi.Actors.Tests.Engine;

/// <summary>reference-engine §9 acceptance behaviours 1–30 (28/29 as equivalent in-memory streams) and the
/// turn-loop details of §1.3–§1.8.</summary>
public sealed class TurnEngineTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // ------------------------------------------------------------------ 1–4: assembling assistant output

    [Fact]
    public async Task B01_text_stream_finishes_with_one_assistant_message_and_counts_one_turn_and_one_call()
    {
        var model = Script(R(
            Ev(new BlockStart(0, BlockType.Text)),
            Ev(new BlockDelta(0, DeltaKind.Text, "Hello, ")),
            Ev(new BlockDelta(0, DeltaKind.Text, "World!")),
            Ev(new BlockStop(0, BlockType.Text)),
            Ev(new StreamStatus(StreamStatusKind.Completed))));
        var host = new FakeHost();
        var state = new EngineState();

        var outcome = await NewEngine(model, host, state).RunAsync(User("Greet me"), Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Null(outcome.Error);
        Assert.Equal(["User:Greet me", "Assistant:Hello, World!"], Texts(state.History));
        Assert.Equal(1UL, state.TurnCount);
        Assert.Equal(1UL, state.LlmCallCount);
        Assert.False(state.LastRunInterrupted);
        Assert.Equal(["Assistant:Hello, World!"], Texts(host.Commits)); // the user message is the owner's to commit
        Assert.Equal(new Event[]
        {
            new TurnStartEvent(0), new LlmCallStartEvent(0), new TextDeltaEvent("Hello, "), new TextDeltaEvent("World!"),
            new TextDoneEvent("Hello, World!"), new LlmCallEndEvent(0), new TurnEndEvent(0),
        }, host.Events);
    }

    [Fact]
    public async Task B02_two_text_blocks_become_one_concatenated_assistant_message()
    {
        var model = Script(R(Text("First"), Text("Second")));
        var state = new EngineState();

        await NewEngine(model, new FakeHost(), state).RunAsync(User("go"), Ct);

        Assert.Equal(["User:go", "Assistant:FirstSecond"], Texts(state.History));
    }

    [Fact]
    public async Task B03_reasoning_is_committed_before_text_and_tool_calls_even_when_streamed_later()
    {
        var model = Script(
            R(Text("Let me look."), new ScriptThinking(["th"], Signature: "SIG"), Call("c1", "lookup")),
            R(Text("Found it.")));
        var state = new EngineState();

        var outcome = await NewEngine(model, new FakeHost(), state, tools: new FakeTool("lookup")).RunAsync(User("q"), Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal(
            ["User:q", "reasoning:th:SIG", "Assistant:Let me look.", "call:c1:lookup:{}", "result:c1:lookup ok", "Assistant:Found it."],
            Texts(state.History));
    }

    [Fact]
    public async Task B04_thinking_block_without_reasoning_data_is_display_only()
    {
        var model = Script(R(new ScriptThinking(["hmm", "mm"]), Text("answer")));
        var host = new FakeHost();
        var state = new EngineState();

        await NewEngine(model, host, state).RunAsync(User("q"), Ct);

        Assert.Equal(["User:q", "Assistant:answer"], Texts(state.History));
        Assert.DoesNotContain(state.History, i => i is ReasoningItem);
        Assert.Equal(new Event[] { new ThinkingStartEvent(), new ThinkingDeltaEvent("hmm"), new ThinkingDeltaEvent("mm"), new ThinkingDoneEvent("hmmmm") },
            host.Events.Where(e => e is ThinkingStartEvent or ThinkingDeltaEvent or ThinkingDoneEvent));
    }

    [Fact]
    public async Task Reasoning_item_carries_signature_encrypted_content_summary_and_stop_text()
    {
        var model = Script(R(
            Ev(new BlockStart(0, BlockType.Thinking)),
            Ev(new BlockDelta(0, DeltaKind.Thinking, "draft")),
            Ev(new BlockStop(0, BlockType.Thinking, null, new ReasoningData(Text: "final", Summary: ["s1"], EncryptedContent: "ENC", Signature: "SIG")))));
        var host = new FakeHost();
        var state = new EngineState();

        await NewEngine(model, host, state).RunAsync(User("q"), Ct);

        var reasoning = Assert.IsType<ReasoningItem>(state.History[1]);
        Assert.Equal("final", reasoning.Text);
        Assert.Equal(["s1"], reasoning.Summary!);
        Assert.Equal("ENC", reasoning.EncryptedContent);
        Assert.Equal("SIG", reasoning.Signature);
        Assert.Contains(new ThinkingDoneEvent("final"), host.Events);
    }

    // ------------------------------------------------------------------ 5–11: tools

    [Fact]
    public async Task B05_tool_call_executes_once_with_assembled_input_and_the_next_request_carries_call_and_result()
    {
        var model = Script(
            R(Ev(new BlockStart(0, BlockType.ToolUse, "call_1", "get_weather")),
              Ev(new BlockDelta(0, DeltaKind.InputJson, "{\"city\":")),
              Ev(new BlockDelta(0, DeltaKind.InputJson, "\"Tokyo\"}")),
              Ev(new BlockStop(0, BlockType.ToolUse, StopReason.ToolUse))),
            R(Text("Sunny")));
        var tool = FakeTool.Returning("get_weather", new ToolOutput("Sunny, 25C"));
        var host = new FakeHost();
        var state = new EngineState();

        var outcome = await NewEngine(model, host, state, tools: tool).RunAsync(User("weather?"), Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        var call = Assert.Single(tool.Calls);
        Assert.Equal("{\"city\":\"Tokyo\"}", call.Input);
        Assert.Equal(
            ["User:weather?", "call:call_1:get_weather:{\"city\":\"Tokyo\"}", "result:call_1:Sunny, 25C", "Assistant:Sunny"],
            Texts(state.History));
        Assert.Equal(2UL, state.TurnCount);
        var second = model.Requests[1].Items;
        Assert.IsType<ToolCallItem>(second[^2]);
        Assert.Equal("call_1", Assert.IsType<ToolResultItem>(second[^1]).CallId);
        Assert.Equal(new Event[]
        {
            new ToolCallStartEvent("call_1", "get_weather"), new ToolCallArgsDeltaEvent("call_1", "{\"city\":"),
            new ToolCallArgsDeltaEvent("call_1", "\"Tokyo\"}"), new ToolCallDoneEvent("call_1", "get_weather", "{\"city\":\"Tokyo\"}"),
            new ToolResultEvent("call_1", "Sunny, 25C", null, false),
        }, host.Events.Where(e => e is ToolCallStartEvent or ToolCallArgsDeltaEvent or ToolCallDoneEvent or ToolResultEvent));
    }

    // ------------------------------------------------------------------ durability before side effects

    [Fact]
    public async Task A_tool_with_side_effects_runs_only_after_a_durability_barrier_covering_its_call()
    {
        var host = new FakeHost();
        var barriersWhenRun = -1;
        var tool = new FakeTool("write", (_, _, _) =>
        {
            barriersWhenRun = host.Barriers.Count;
            return Task.FromResult(new ToolOutput("ok"));
        });
        var model = Script(R(new ScriptToolCall("c1", "write", "{}")), R(Text("done")));

        await NewEngine(model, host, new EngineState(), tools: tool).RunAsync(User("go"), Ct);

        Assert.Equal(1, barriersWhenRun);
        Assert.Equal(1, Assert.Single(host.Barriers)); // reached once the call (the one commit so far) was handed over
    }

    [Fact]
    public async Task A_read_only_tool_runs_without_a_durability_barrier()
    {
        var host = new FakeHost();
        var tool = new FakeTool("read") { ReadOnly = true };
        var model = Script(R(new ScriptToolCall("c1", "read", "{}")), R(Text("done")));

        var outcome = await NewEngine(model, host, new EngineState(), tools: tool).RunAsync(User("go"), Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Single(tool.Calls);
        Assert.Empty(host.Barriers);
    }

    [Fact]
    public async Task A_failed_durability_barrier_fails_the_run_with_HistoryAppend_and_no_tool_runs()
    {
        var host = new FakeHost { BarrierFailure = new InvalidOperationException("journal down") };
        var tool = new FakeTool("write");
        var model = Script(R(new ScriptToolCall("c1", "write", "{}")), R(Text("done")));

        var outcome = await NewEngine(model, host, new EngineState(), tools: tool).RunAsync(User("go"), Ct);

        Assert.Equal(EngineErrorKind.HistoryAppend, outcome.Error?.Kind);
        Assert.Empty(tool.Calls);
    }

    [Fact]
    public async Task B06_empty_arguments_are_an_empty_object_and_the_tool_runs()
    {
        var model = Script(R(new ScriptToolCall("c1", "t", "")), R(Text("ok")));
        var tool = new FakeTool("t");
        var state = new EngineState();

        await NewEngine(model, new FakeHost(), state, tools: tool).RunAsync(User("go"), Ct);

        Assert.Equal("{}", Assert.Single(tool.Calls).Input);
        Assert.Equal("{}", state.History.OfType<ToolCallItem>().Single().Arguments);
    }

    // Changed from the reference (B06 had these become {} and run the tool): deviation, spec README item 9 — the tool
    // does not run, the call keeps the text as sent and gets an error result naming the parse error.
    [Theory]
    [InlineData("null", "arguments must be a JSON object, got null")]
    [InlineData("[1,2]", "arguments must be a JSON object, got array")]
    [InlineData("42", "arguments must be a JSON object, got number")]
    [InlineData("{\"city\": ", "arguments are not valid JSON: ")]
    public async Task Arguments_that_are_not_a_json_object_never_run_the_tool_and_get_an_error_result_naming_the_problem(
        string raw, string error)
    {
        var model = Script(R(new ScriptToolCall("c1", "t", raw)), R(Text("ok")));
        var tool = new FakeTool("t");
        var state = new EngineState();

        var outcome = await NewEngine(model, new FakeHost(), state, tools: tool).RunAsync(User("go"), Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Empty(tool.Calls);
        Assert.Equal(raw, state.History.OfType<ToolCallItem>().Single().Arguments);
        var result = state.History.OfType<ToolResultItem>().Single();
        Assert.True(result.IsError);
        Assert.StartsWith("Tool execution failed: Invalid argument: " + error, result.Summary);
        Assert.EndsWith("Arguments as sent: " + raw, result.Summary);
        Assert.Equal(2, model.Requests.Count); // the model was told and answered
    }

    [Fact]
    public async Task Persisted_arguments_are_compact_json_with_keys_sorted_recursively()
    {
        var model = Script(R(new ScriptToolCall("c1", "t", """{ "path": "a", "limit": 1, "nested": {"z": [ {"b":1,"a":2} ], "a": "é"} }""")), R(Text("ok")));
        var tool = new FakeTool("t");
        var state = new EngineState();

        await NewEngine(model, new FakeHost(), state, tools: tool).RunAsync(User("go"), Ct);

        const string expected = """{"limit":1,"nested":{"a":"é","z":[{"a":2,"b":1}]},"path":"a"}""";
        Assert.Equal(expected, state.History.OfType<ToolCallItem>().Single().Arguments);
        Assert.Equal(expected, Assert.Single(tool.Calls).Input);
    }

    [Fact]
    public async Task B07_calls_in_one_batch_run_concurrently_share_a_batch_id_and_results_keep_model_order()
    {
        // Concurrency is proven by a rendezvous, not by timing: each call of the first batch waits until all
        // three have started, which can only happen if they run at the same time.
        var started = 0;
        var allStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sleepy = new FakeTool("sleep", async (input, ctx, ct) =>
        {
            if (ctx.BatchId == "tool-batch-0")
            {
                if (Interlocked.Increment(ref started) == 3) allStarted.TrySetResult();
                await allStarted.Task.WaitAsync(TimeSpan.FromSeconds(10), ct);
            }
            await Task.Delay(input.GetProperty("ms").GetInt32(), ct);
            return new ToolOutput("slept " + ctx.CallId);
        });
        var model = Script(
            R(Call("a", "sleep", "{\"ms\":120}"), Call("b", "sleep", "{\"ms\":40}"), Call("c", "sleep", "{\"ms\":80}")),
            R(Call("d", "sleep", "{\"ms\":1}")),
            R(Text("done")));
        var state = new EngineState();

        var outcome = await NewEngine(model, new FakeHost(), state, tools: sleepy).RunAsync(User("go"), Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal(3, started);
        Assert.All(state.History.OfType<ToolResultItem>(), r => Assert.False(r.IsError, r.Summary));
        Assert.Equal(["result:a:slept a", "result:b:slept b", "result:c:slept c", "result:d:slept d"],
            Texts(state.History.OfType<ToolResultItem>()));
        var contexts = sleepy.Calls.Select(c => c.Context).OrderBy(c => c.CallId).ToArray();
        Assert.Equal(["tool-batch-0", "tool-batch-0", "tool-batch-0", "tool-batch-1"], contexts.Select(c => c.BatchId));
        Assert.Equal([0, 1, 2, 0], contexts.Select(c => c.CallIndex));
        Assert.Equal(2UL, state.BatchCount);
    }

    [Fact]
    public async Task B08_unknown_tool_yields_an_error_result_and_the_loop_continues()
    {
        var model = Script(R(Call("c1", "nope")), R(Text("sorry")));
        var state = new EngineState();

        var outcome = await NewEngine(model, new FakeHost(), state).RunAsync(User("go"), Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        var result = state.History.OfType<ToolResultItem>().Single();
        Assert.True(result.IsError);
        Assert.Equal("Tool 'nope' not found", result.Summary);
        Assert.Null(result.Content);
        Assert.Equal(2, model.Requests.Count);
    }

    [Fact]
    public async Task B09_tool_errors_become_error_results_with_the_failure_text()
    {
        var model = Script(R(Call("c1", "boom"), Call("c2", "crash"), Call("c3", "bad")), R(Text("ok")));
        var state = new EngineState();
        ITool[] tools =
        [
            FakeTool.Throwing("boom", new ToolException(ToolErrorKind.ExecutionFailed, "boom")),
            FakeTool.Throwing("crash", new InvalidOperationException("kaput")),
            FakeTool.Throwing("bad", new ToolException(ToolErrorKind.InvalidArgument, "missing path")),
        ];

        await NewEngine(model, new FakeHost(), state, tools: tools).RunAsync(User("go"), Ct);

        var results = state.History.OfType<ToolResultItem>().ToArray();
        Assert.All(results, r => Assert.True(r.IsError));
        Assert.All(results, r => Assert.Null(r.Content));
        Assert.Equal(
            ["Tool execution failed: Execution failed: boom", "Tool execution failed: Internal error: kaput", "Tool execution failed: Invalid argument: missing path"],
            results.Select(r => r.Summary));
    }

    [Fact]
    public async Task B10_content_over_the_byte_limit_is_truncated_with_the_suffix_and_one_warning()
    {
        var big = new string('a', 1000);
        var exact = new string('b', 200);
        var model = Script(R(Call("c1", "big"), Call("c2", "exact")), R(Text("ok")));
        var host = new FakeHost();
        var state = new EngineState();
        var settings = Settings(limits: new ToolOutputLimits(200));

        await NewEngine(model, host, state, settings, null,
            FakeTool.Returning("big", new ToolOutput("big summary", big)),
            FakeTool.Returning("exact", new ToolOutput("exact summary", exact))).RunAsync(User("go"), Ct);

        var results = state.History.OfType<ToolResultItem>().ToArray();
        var expected = new string('a', 132) + "\n\n[truncated: 868 bytes dropped, refine your query]";
        Assert.Equal(expected, results[0].Content);
        Assert.Equal(183, expected.Length);
        Assert.Equal("big summary", results[0].Summary);
        Assert.Equal(exact, results[1].Content);
        Assert.Equal(["tool `big` output truncated from 1000 to 183 bytes (limit 200)"], host.Warnings);
        Assert.Equal(expected, host.Of<ToolResultEvent>()[0].Output);
    }

    [Fact]
    public async Task Per_tool_limit_overrides_the_default()
    {
        var model = Script(R(Call("c1", "small"), Call("c2", "other")), R(Text("ok")));
        var state = new EngineState();
        var host = new FakeHost();
        var settings = Settings(limits: new ToolOutputLimits(10_000, new Dictionary<string, int> { ["small"] = 100 }));
        var body = new string('x', 500);

        await NewEngine(model, host, state, settings, null,
            FakeTool.Returning("small", new ToolOutput("s", body)), FakeTool.Returning("other", new ToolOutput("o", body))).RunAsync(User("go"), Ct);

        var results = state.History.OfType<ToolResultItem>().ToArray();
        Assert.Equal(new string('x', 32) + "\n\n[truncated: 468 bytes dropped, refine your query]", results[0].Content);
        Assert.Equal(body, results[1].Content);
        Assert.Single(host.Warnings);
    }

    [Fact]
    public void Truncation_walks_back_to_a_utf8_boundary_and_keeps_kept_plus_dropped_equal_to_the_original()
    {
        var content = string.Concat(Enumerable.Repeat("é", 100)); // 200 bytes, 2 per char
        var truncated = ToolOutputBounding.Truncate(content, 101)!; // keep 33 → walk back to 32

        Assert.Equal(string.Concat(Enumerable.Repeat("é", 16)) + "\n\n[truncated: 168 bytes dropped, refine your query]", truncated);
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(truncated) <= 101);
        Assert.Null(ToolOutputBounding.Truncate(content, 200));
        Assert.StartsWith("\n\n[truncated: 200 bytes dropped", ToolOutputBounding.Truncate(content, 50));
    }

    [Fact]
    public async Task B11_plain_string_outputs_use_the_summary_convention()
    {
        var shortText = new string('s', 150);
        var longText = "L1\n" + new string('m', 494) + "\nL3";
        var model = Script(R(Call("c1", "short"), Call("c2", "long")), R(Text("ok")));
        var state = new EngineState();

        await NewEngine(model, new FakeHost(), state, null, null,
            FakeTool.Returning("short", ToolOutput.FromText(shortText)), FakeTool.Returning("long", ToolOutput.FromText(longText))).RunAsync(User("go"), Ct);

        var results = state.History.OfType<ToolResultItem>().ToArray();
        Assert.Equal(shortText, results[0].Summary);
        Assert.Null(results[0].Content);
        Assert.Equal(500, longText.Length);
        Assert.Equal("3 lines | L1…", results[1].Summary);
        Assert.Equal(longText, results[1].Content);
    }

    // ------------------------------------------------------------------ 12–14: limits and interceptor decisions

    [Fact]
    public async Task B12_max_turns_stops_after_the_tool_results_of_the_last_allowed_turn()
    {
        var model = Script(R(Call("c1", "t")), R(Call("c2", "t")), R(Call("c3", "t")));
        var state = new EngineState();

        var outcome = await NewEngine(model, new FakeHost(), state, Settings(maxTurns: 1), null, new FakeTool("t")).RunAsync(User("go"), Ct);

        Assert.Equal(EngineResult.LimitReached, outcome.Result);
        Assert.Single(model.Requests);
        Assert.Equal("result:c1:t ok", TextOf(state.History[^1]));
        Assert.False(state.LastRunInterrupted);
    }

    [Fact]
    public async Task Max_turns_counts_turns_of_the_current_run_only()
    {
        var model = Script(R(Call("c1", "t")), R(Call("c2", "t")), R(Call("c3", "t")), R(Call("c4", "t")));
        var state = new EngineState { TurnCount = 7 }; // restored from an earlier session
        var engine = NewEngine(model, new FakeHost(), state, Settings(maxTurns: 2), null, new FakeTool("t"));

        var first = await engine.RunAsync(User("one"), Ct);
        Assert.Equal(EngineResult.LimitReached, first.Result);
        Assert.Equal(2, model.Requests.Count);

        var second = await engine.RunAsync(User("two"), Ct);
        Assert.Equal(EngineResult.LimitReached, second.Result);
        Assert.Equal(4, model.Requests.Count);
        Assert.Equal(11UL, state.TurnCount);
    }

    [Fact]
    public async Task B13_synthetic_result_replaces_execution()
    {
        var model = Script(R(Call("c1", "t")), R(Text("ok")));
        var tool = new FakeTool("t");
        var interceptor = new LambdaInterceptor { PreTool = _ => PreToolDecision.SyntheticResult(new ToolOutput("denied by policy"), isError: true) };
        var state = new EngineState();

        await NewEngine(model, new FakeHost(), state, null, interceptor, tool).RunAsync(User("go"), Ct);

        Assert.Empty(tool.Calls);
        var result = state.History.OfType<ToolResultItem>().Single();
        Assert.Equal(("c1", "denied by policy", true), (result.CallId, result.Summary, result.IsError));
    }

    [Fact]
    public async Task Synthetic_results_are_committed_after_executed_results()
    {
        var model = Script(R(Call("c1", "t"), Call("c2", "t"), Call("c3", "t")), R(Text("ok")));
        var interceptor = new LambdaInterceptor
        {
            PreTool = info => info.Call.CallId == "c1" ? PreToolDecision.SyntheticResult(new ToolOutput("synthetic")) : PreToolDecision.Continue,
        };
        var state = new EngineState();

        await NewEngine(model, new FakeHost(), state, null, interceptor, new FakeTool("t")).RunAsync(User("go"), Ct);

        Assert.Equal(["result:c2:t ok", "result:c3:t ok", "result:c1:synthetic"], Texts(state.History.OfType<ToolResultItem>()));
    }

    [Fact]
    public async Task B14_pause_before_tools_then_resume_executes_the_pending_call_first()
    {
        var model = Script(R(Call("c1", "t")), R(Text("after")));
        var tool = new FakeTool("t");
        var interceptor = new LambdaInterceptor { PreTool = _ => PreToolDecision.Pause };
        var host = new FakeHost();
        var state = new EngineState();
        var engine = NewEngine(model, host, state, null, interceptor, tool);

        var paused = await engine.RunAsync(User("go"), Ct);

        Assert.Equal(EngineResult.Paused, paused.Result);
        Assert.Empty(tool.Calls);
        Assert.Equal(["User:go", "call:c1:t:{}"], Texts(state.History));
        Assert.True(state.LastRunInterrupted);

        interceptor.PreTool = null;
        var resumed = await engine.RunAsync(null, Ct);

        Assert.Equal(EngineResult.Finished, resumed.Result);
        Assert.Single(tool.Calls);
        Assert.Equal(["User:go", "call:c1:t:{}", "result:c1:t ok", "Assistant:after"], Texts(state.History));
        Assert.Equal(2, model.Requests.Count);
        Assert.IsType<ToolResultItem>(model.Requests[1].Items[^1]);
        Assert.False(state.LastRunInterrupted);
    }

    [Fact]
    public async Task Pre_tool_abort_fails_the_run_before_anything_executes()
    {
        var model = Script(R(Call("c1", "t"), Call("c2", "t")));
        var tool = new FakeTool("t");
        var interceptor = new LambdaInterceptor { PreTool = i => i.Call.CallId == "c2" ? PreToolDecision.Abort("not allowed") : PreToolDecision.Continue };
        var state = new EngineState();

        var outcome = await NewEngine(model, new FakeHost(), state, null, interceptor, tool).RunAsync(User("go"), Ct);

        Assert.Equal(EngineErrorKind.Aborted, outcome.Error!.Kind);
        Assert.Equal("Aborted: not allowed", outcome.Error.Display);
        Assert.Empty(tool.Calls);
        Assert.Equal(["not allowed"], interceptor.Aborts);
        Assert.True(state.LastRunInterrupted);
    }

    [Fact]
    public async Task Pre_tool_may_rewrite_input_and_post_tool_may_replace_or_abort()
    {
        var model = Script(R(Call("c1", "t", "{\"a\":1}")), R(Text("ok")));
        var tool = new FakeTool("t");
        var interceptor = new LambdaInterceptor
        {
            PreTool = info =>
            {
                info.Input = JsonDocument.Parse("{\"a\":2}").RootElement.Clone();
                return PreToolDecision.Continue;
            },
            PostTool = (_, result) => PostToolDecision.ContinueWith(result with { CallId = "ignored", Summary = "rewritten" }),
        };
        var state = new EngineState();

        await NewEngine(model, new FakeHost(), state, null, interceptor, tool).RunAsync(User("go"), Ct);

        Assert.Equal("{\"a\":2}", Assert.Single(tool.Calls).Input);
        Assert.Equal("call:c1:t:{\"a\":1}", TextOf(state.History[1])); // the persisted call is unchanged
        Assert.Equal("result:c1:rewritten", TextOf(state.History[2]));

        var model2 = Script(R(Call("c1", "t")));
        var state2 = new EngineState();
        var aborting = new LambdaInterceptor { PostTool = (_, _) => PostToolDecision.Abort("bad output") };
        var outcome = await NewEngine(model2, new FakeHost(), state2, null, aborting, new FakeTool("t")).RunAsync(User("go"), Ct);
        Assert.Equal("Aborted: bad output", outcome.Error!.Display);
        Assert.DoesNotContain(state2.History, i => i is ToolResultItem);
    }

    [Fact]
    public async Task Skipped_call_leaves_an_unanswered_tool_call()
    {
        var model = Script(R(Call("c1", "t")), R(Text("ok")));
        var interceptor = new LambdaInterceptor { PreTool = _ => PreToolDecision.Skip };
        var tool = new FakeTool("t");
        var state = new EngineState();

        var outcome = await NewEngine(model, new FakeHost(), state, null, interceptor, tool).RunAsync(User("go"), Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Empty(tool.Calls);
        Assert.Equal(["User:go", "call:c1:t:{}", "Assistant:ok"], Texts(state.History));
    }

    [Fact]
    public async Task Unanswered_calls_in_history_are_executed_before_the_first_llm_call_of_a_run()
    {
        var model = Script(R(Text("ok")));
        var tool = new FakeTool("t");
        var state = new EngineState { History = [User("old"), new ToolCallItem("old1", "t", "{\"x\":1}")] };

        var outcome = await NewEngine(model, new FakeHost(), state, tools: tool).RunAsync(User("new"), Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal("{\"x\":1}", Assert.Single(tool.Calls).Input);
        Assert.Equal(["User:old", "call:old1:t:{\"x\":1}", "User:new", "result:old1:t ok", "Assistant:ok"], Texts(state.History));
    }

    // ------------------------------------------------------------------ 15–16: cancellation

    [Fact]
    public async Task B15_cancel_mid_stream_commits_nothing_from_that_stream_and_nothing_leaks_into_the_next_call()
    {
        var model = Script(
            R(Text("Completed block"), Ev(new BlockStart(1, BlockType.Text)), Ev(new BlockDelta(1, DeltaKind.Text, "partial")), new ScriptHang()),
            R(Text("fresh")));
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var host = new FakeHost { OnPublish = e => { if (e is TextDeltaEvent("partial")) cts.Cancel(); } };
        var interceptor = new LambdaInterceptor();
        var state = new EngineState();
        var engine = NewEngine(model, host, state, null, interceptor);

        var outcome = await engine.RunAsync(User("first"), cts.Token);

        Assert.Equal(EngineErrorKind.Cancelled, outcome.Error!.Kind);
        Assert.Equal("Cancelled", outcome.Error.Display);
        Assert.Equal(["User:first"], Texts(state.History));
        Assert.Empty(host.Commits);
        Assert.True(state.LastRunInterrupted);
        Assert.Equal(["Cancelled"], interceptor.Aborts);
        Assert.Empty(host.Of<LlmCallEndEvent>()); // not emitted for a cancelled call
        Assert.Equal(1UL, state.LlmCallCount); // but the call is counted

        var next = await engine.RunAsync(User("second"), Ct);

        Assert.Equal(EngineResult.Finished, next.Result);
        Assert.Equal(["User:first", "User:second", "Assistant:fresh"], Texts(state.History));
        Assert.DoesNotContain(model.Requests[1].Items, i => i is MessageItem { Role: Role.Assistant });
        Assert.Equal(["Assistant:fresh"], Texts(host.Commits));
    }

    [Fact]
    public async Task B16_cancel_during_tool_execution_leaves_the_tool_calls_unanswered()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tool = new FakeTool("slow", async (_, _, ct) =>
        {
            started.SetResult();
            await Task.Delay(Timeout.Infinite, ct);
            return new ToolOutput("never");
        });
        var model = Script(R(Call("c1", "slow")), R(Text("unused")));
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var state = new EngineState();
        var host = new FakeHost();

        var run = NewEngine(model, host, state, tools: tool).RunAsync(User("go"), cts.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(5), Ct);
        cts.Cancel();
        var outcome = await run.WaitAsync(TimeSpan.FromSeconds(5), Ct);

        Assert.Equal(EngineErrorKind.Cancelled, outcome.Error!.Kind);
        Assert.Equal(["User:go", "call:c1:slow:{}"], Texts(state.History));
        Assert.DoesNotContain(host.Commits, i => i is ToolResultItem);
        Assert.Empty(host.Of<ToolResultEvent>());
        Assert.True(state.LastRunInterrupted);
        Assert.Single(model.Requests);
    }

    [Fact]
    public async Task Cancel_before_the_first_iteration_makes_no_llm_call()
    {
        var model = Script(R(Text("unused")));
        var state = new EngineState();
        var host = new FakeHost();

        var outcome = await NewEngine(model, host, state).RunAsync(User("go"), new CancellationToken(true));

        Assert.Equal(EngineErrorKind.Cancelled, outcome.Error!.Kind);
        Assert.Empty(model.Requests);
        Assert.Equal(0UL, state.LlmCallCount);
        Assert.Empty(host.Events);
    }

    [Fact]
    public async Task Cancel_while_waiting_for_the_first_event_fails_cancelled()
    {
        var model = Script(R(new ScriptHang()));
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var host = new FakeHost { OnPublish = e => { if (e is LlmCallStartEvent) cts.CancelAfter(20); } };

        var outcome = await NewEngine(model, host).RunAsync(User("go"), cts.Token).WaitAsync(TimeSpan.FromSeconds(5), Ct);

        Assert.Equal(EngineErrorKind.Cancelled, outcome.Error!.Kind);
        Assert.Empty(host.Of<LlmRetryEvent>());
    }

    [Fact]
    public async Task Cancel_during_retry_backoff_fails_cancelled_without_another_attempt()
    {
        var model = Script(R(new ScriptOpenError(503, "unavailable")), R(Text("unused")));
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var host = new FakeHost();
        var engine = new TurnEngine(model, [], Settings(), host, new EngineState())
        {
            Delay = (_, ct) => { cts.Cancel(); return Task.Delay(Timeout.Infinite, ct); },
        };

        var outcome = await engine.RunAsync(User("go"), cts.Token).WaitAsync(TimeSpan.FromSeconds(5), Ct);

        Assert.Equal(EngineErrorKind.Cancelled, outcome.Error!.Kind);
        Assert.Single(model.Requests);
        Assert.Single(host.Of<LlmRetryEvent>());
    }

    // ------------------------------------------------------------------ 17–19: continuation

    [Fact]
    public async Task B17_stream_break_after_output_commits_the_partial_text_and_continues_in_the_same_turn()
    {
        var model = Script(R(Text("Part"), new ScriptBreak("connection reset")), R(Text(" two")));
        var host = new FakeHost();
        var state = new EngineState();

        var outcome = await NewEngine(model, host, state).RunAsync(User("go"), Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal(["User:go", "Assistant:Part", "Assistant: two"], Texts(state.History));
        Assert.Equal([new LlmContinuationEvent(0, 1, 3, "connection reset")], host.Of<LlmContinuationEvent>());
        Assert.Single(host.Of<TurnStartEvent>());
        Assert.Single(host.Of<TurnEndEvent>());
        Assert.Equal(1UL, state.TurnCount);
        Assert.Equal(2UL, state.LlmCallCount);
        Assert.Equal([new LlmCallEndEvent(0), new LlmCallEndEvent(1)], host.Of<LlmCallEndEvent>());
        Assert.Equal("Assistant:Part", TextOf(model.Requests[1].Items[^1])); // the model continues its partial text
    }

    [Fact]
    public async Task B18_tool_calls_of_an_interrupted_stream_are_discarded()
    {
        var model = Script(R(Text("Checking"), Call("c1", "t"), new ScriptBreak("reset")), R(Text("done")));
        var tool = new FakeTool("t");
        var state = new EngineState();

        var outcome = await NewEngine(model, new FakeHost(), state, tools: tool).RunAsync(User("go"), Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Empty(tool.Calls);
        Assert.DoesNotContain(state.History, i => i is ToolCallItem);
        Assert.Equal(["User:go", "Assistant:Checking", "Assistant:done"], Texts(state.History));
    }

    [Fact]
    public async Task B19_fourth_consecutive_interruption_fails_after_three_continuation_notices()
    {
        var model = Script(Enumerable.Range(0, 5).Select(i => R(Text($"x{i}"), new ScriptBreak("reset"))).ToArray());
        var host = new FakeHost();
        var state = new EngineState();

        var outcome = await NewEngine(model, host, state).RunAsync(User("go"), Ct);

        Assert.Equal(EngineErrorKind.Client, outcome.Error!.Kind);
        Assert.Equal("LLM stream interrupted too many times: reset", outcome.Error.Message);
        Assert.StartsWith("Client error: LLM stream interrupted too many times:", outcome.Error.Display);
        Assert.Equal([1u, 2u, 3u], host.Of<LlmContinuationEvent>().Select(c => c.Attempt));
        Assert.Equal(4, model.Requests.Count);
        Assert.Equal(["User:go", "Assistant:x0", "Assistant:x1", "Assistant:x2"], Texts(state.History));
        Assert.True(state.LastRunInterrupted);
    }

    [Fact]
    public async Task Continuation_counter_resets_after_a_completed_stream()
    {
        var model = Script(
            R(Text("a"), new ScriptBreak("r")), R(Text("b"), new ScriptBreak("r")), R(Text("c"), new ScriptBreak("r")), R(Call("c1", "t")),
            R(Text("d"), new ScriptBreak("r")), R(Text("e"), new ScriptBreak("r")), R(Text("f"), new ScriptBreak("r")), R(Text("end")));
        var host = new FakeHost();

        var outcome = await NewEngine(model, host, null, null, null, new FakeTool("t")).RunAsync(User("go"), Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal([1u, 2u, 3u, 1u, 2u, 3u], host.Of<LlmContinuationEvent>().Select(c => c.Attempt));
        Assert.Equal([0UL, 1UL], host.Of<TurnStartEvent>().Select(t => t.Turn));
    }

    // ------------------------------------------------------------------ 20–25: retry policy and provider errors

    [Fact]
    public async Task B20_retryable_open_failure_is_retried_with_one_notice_and_the_identical_request()
    {
        var model = Script(R(new ScriptOpenError(504, "gateway timeout")), R(Text("ok")));
        var host = new FakeHost();
        var settings = Settings(retry: FastRetry with { MaxAttempts = 2 });

        var outcome = await NewEngine(model, host, null, settings).RunAsync(User("go"), Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        var retry = Assert.Single(host.Of<LlmRetryEvent>());
        Assert.Equal((0UL, 1u, 2u, (ushort?)504, "gateway timeout"), (retry.LlmCall, retry.FailedAttempt, retry.MaxAttempts, retry.Status, retry.Error));
        Assert.Single(host.Of<LlmCallStartEvent>());
        Assert.Same(model.Requests[0], model.Requests[1]);
        var events = host.Events.ToList();
        Assert.True(events.IndexOf(retry) < events.FindIndex(e => e is TextDeltaEvent));
    }

    [Fact]
    public async Task B21_every_open_failing_with_503_exhausts_max_attempts()
    {
        var model = Script(Enumerable.Range(0, 6).Select(_ => R(new ScriptOpenError(503, "unavailable", Code: "overloaded"))).ToArray());
        var host = new FakeHost();
        var state = new EngineState();

        var outcome = await NewEngine(model, host, state).RunAsync(User("go"), Ct);

        Assert.Equal(4, model.Requests.Count);
        Assert.Equal([1u, 2u, 3u], host.Of<LlmRetryEvent>().Select(r => r.FailedAttempt));
        Assert.All(host.Of<LlmRetryEvent>(), r => Assert.Equal((ushort?)503, r.Status));
        Assert.Equal(EngineErrorKind.Client, outcome.Error!.Kind);
        Assert.Equal(503, outcome.Error.Status);
        Assert.Equal("Client error: API error [overloaded]: unavailable", outcome.Error.Display);
        Assert.Equal(ErrorCode.ProviderError, outcome.Error.Code);
        Assert.Equal(["User:go"], Texts(state.History));
        Assert.Equal(1UL, state.LlmCallCount); // retries are not new LLM calls
    }

    [Fact]
    public async Task B22_non_retryable_open_failure_fails_at_once()
    {
        var model = Script(R(new ScriptOpenError(400, "bad request")), R(Text("unused")));
        var host = new FakeHost();

        var outcome = await NewEngine(model, host).RunAsync(User("go"), Ct);

        Assert.Single(model.Requests);
        Assert.Empty(host.Of<LlmRetryEvent>());
        Assert.Equal(EngineErrorKind.Client, outcome.Error!.Kind);
        Assert.Equal(400, outcome.Error.Status);
        Assert.Empty(host.Of<LlmCallEndEvent>());
    }

    [Fact]
    public async Task B23_retry_after_sets_the_wait_and_a_wait_beyond_the_total_timeout_fails_without_a_notice()
    {
        var waits = new List<TimeSpan>();
        var model = Script(R(new ScriptOpenError(429, "slow down", 2)), R(Text("ok")));
        var host = new FakeHost();
        var engine = new TurnEngine(model, [], Settings(retry: new RetryPolicy(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10), 4, TimeSpan.FromSeconds(40))), host, new EngineState())
        {
            Delay = (wait, _) => { waits.Add(wait); return Task.CompletedTask; },
        };

        var outcome = await engine.RunAsync(User("go"), Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal([TimeSpan.FromSeconds(2)], waits);
        Assert.Equal(2000UL, Assert.Single(host.Of<LlmRetryEvent>()).WaitMs);

        var waits2 = new List<TimeSpan>();
        var model2 = Script(R(new ScriptOpenError(429, "slow down", 2)), R(Text("unused")));
        var host2 = new FakeHost();
        var engine2 = new TurnEngine(model2, [], Settings(retry: FastRetry with { TotalTimeout = TimeSpan.FromSeconds(1) }), host2, new EngineState())
        {
            Delay = (wait, _) => { waits2.Add(wait); return Task.CompletedTask; },
        };

        var failed = await engine2.RunAsync(User("go"), Ct);

        Assert.Equal(EngineErrorKind.Client, failed.Error!.Kind);
        Assert.Equal(429, failed.Error.Status);
        Assert.Empty(waits2);
        Assert.Empty(host2.Of<LlmRetryEvent>());
    }

    [Fact]
    public async Task Backoff_is_full_jitter_over_the_exponential_ceiling_capped()
    {
        var waits = new List<TimeSpan>();
        var model = Script(Enumerable.Range(0, 4).Select(_ => R(new ScriptOpenError(500, "oops"))).Append(R(Text("ok"))).ToArray());
        var policy = new RetryPolicy(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(300), 5, TimeSpan.FromSeconds(40));
        var engine = new TurnEngine(model, [], Settings(retry: policy), new FakeHost(), new EngineState())
        {
            NextRandom = () => 0.5,
            Delay = (wait, _) => { waits.Add(wait); return Task.CompletedTask; },
        };

        var outcome = await engine.RunAsync(User("go"), Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal([50.0, 100.0, 150.0, 150.0], waits.Select(w => w.TotalMilliseconds));
    }

    [Fact]
    public async Task B24_first_event_timeout_is_a_retryable_open_failure()
    {
        var model = Script(R(new ScriptHang()), R(Text("ok")));
        var host = new FakeHost();
        var settings = Settings(firstEventTimeout: TimeSpan.FromMilliseconds(50));

        var outcome = await NewEngine(model, host, null, settings).RunAsync(User("go"), Ct).WaitAsync(TimeSpan.FromSeconds(5), Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        var retry = Assert.Single(host.Of<LlmRetryEvent>());
        Assert.Contains("stream_first_event", retry.Error);
        Assert.Null(retry.Status);
        Assert.Equal(2, model.Requests.Count);
    }

    [Fact]
    public async Task Open_timeout_is_a_retryable_open_failure()
    {
        var model = new StubModel((_, ct) => StubModel.Events([new BlockDelta(0, DeltaKind.Text, "ok")], ct: ct))
        {
            Open = async (_, ct) => { await Task.Delay(Timeout.Infinite, ct); throw new InvalidOperationException(); },
        };
        var host = new FakeHost();
        var state = new EngineState();

        var outcome = await NewEngine(model, host, state, Settings(openTimeout: TimeSpan.FromMilliseconds(50))).RunAsync(User("go"), Ct)
            .WaitAsync(TimeSpan.FromSeconds(5), Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Contains("stream_open", Assert.Single(host.Of<LlmRetryEvent>()).Error);
        Assert.Equal(["User:go", "Assistant:ok"], Texts(state.History));
    }

    [Fact]
    public async Task Transport_errors_at_open_are_retried_but_parse_errors_are_not()
    {
        var transport = new StubModel(
            (_, ct) => StubModel.Events([], new IOException("connection refused"), ct),
            (_, ct) => StubModel.Events([new BlockDelta(0, DeltaKind.Text, "ok")], ct: ct));
        var host = new FakeHost();
        Assert.Equal(EngineResult.Finished, (await NewEngine(transport, host).RunAsync(User("go"), Ct)).Result);
        Assert.Equal("connection refused", Assert.Single(host.Of<LlmRetryEvent>()).Error);

        var parse = new StubModel((_, ct) => StubModel.Events([], new JsonException("bad frame"), ct));
        var host2 = new FakeHost();
        var outcome = await NewEngine(parse, host2).RunAsync(User("go"), Ct);
        Assert.Equal("Client error: bad frame", outcome.Error!.Display);
        Assert.Single(parse.Requests);
        Assert.Empty(host2.Of<LlmRetryEvent>());
    }

    [Fact]
    public async Task B25_provider_error_event_fails_the_run_without_retry_or_continuation()
    {
        var model = Script(R(Text("partial"), new ScriptError("overloaded_error", "busy")), R(Text("unused")));
        var host = new FakeHost();
        var state = new EngineState();

        var outcome = await NewEngine(model, host, state).RunAsync(User("go"), Ct);

        Assert.Equal(EngineErrorKind.Client, outcome.Error!.Kind);
        Assert.Equal("API error [overloaded_error]: busy", outcome.Error.Message);
        Assert.Single(model.Requests);
        Assert.Empty(host.Of<LlmRetryEvent>());
        Assert.Empty(host.Of<LlmContinuationEvent>());
        Assert.Equal(["User:go"], Texts(state.History)); // the completed block of the errored stream is not committed
        Assert.True(state.LastRunInterrupted);

        var noCode = await NewEngine(Script(R(new ScriptError(null, "plain"))), new FakeHost()).RunAsync(User("go"), Ct);
        Assert.Equal("Client error: plain", noCode.Error!.Display);
    }

    // ------------------------------------------------------------------ 26–27: usage, history gate

    [Fact]
    public async Task B26_usage_is_merged_field_by_field_and_delivered_once_per_llm_call()
    {
        var model = Script(
            R(new ScriptUsage(Input: 10), Text("hi"), new ScriptUsage(Output: 5, CacheRead: 3, CacheCreation: 2)),
            R(Text("no usage")));
        var host = new FakeHost();
        var interceptor = new LambdaInterceptor { TurnEnd = h => h.Count < 3 ? TurnEndDecision.ContinueWithMessages([MessageItem.Text(Role.System, "more")]) : TurnEndDecision.Finish };

        var outcome = await NewEngine(model, host, null, null, interceptor).RunAsync(User("go"), Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal([new UsageEvent(10, 5, 3)], host.Of<UsageEvent>());
        var usage = Assert.Single(outcome.Usage);
        Assert.Equal((1UL, 10UL, 3UL, 2UL, 5UL), (usage.HistoryLen, usage.InputTotalTokens, usage.CacheReadTokens, usage.CacheWriteTokens, usage.OutputTokens));
        var events = host.Events.ToList();
        Assert.True(events.IndexOf(new UsageEvent(10, 5, 3)) > events.IndexOf(new TextDoneEvent("hi")));
        Assert.True(events.IndexOf(new UsageEvent(10, 5, 3)) < events.IndexOf(new LlmCallEndEvent(0)));
    }

    [Fact]
    public async Task Usage_of_interrupted_and_cancelled_calls_is_still_reported_with_the_context_length()
    {
        var model = Script(R(new ScriptUsage(Input: 7), Text("a"), new ScriptBreak("r")), R(new ScriptUsage(Input: 9, Output: 1), Text("b")));
        var outcome = await NewEngine(model, new FakeHost(), new EngineState { History = [User("old"), MessageItem.Text(Role.Assistant, "x")] })
            .RunAsync(User("go"), Ct);

        Assert.Equal([(3UL, 7UL), (4UL, 9UL)], outcome.Usage.Select(u => (u.HistoryLen, u.InputTotalTokens)));
    }

    [Fact]
    public async Task B27_rejected_tool_call_commit_fails_with_history_append_and_nothing_executes()
    {
        var model = Script(R(Call("c1", "t")), R(Text("unused")));
        var tool = new FakeTool("t");
        var host = new FakeHost { Reject = i => i is ToolCallItem ? new IOException("disk full") : null };
        var state = new EngineState();

        var outcome = await NewEngine(model, host, state, tools: tool).RunAsync(User("go"), Ct);

        Assert.Equal(EngineErrorKind.HistoryAppend, outcome.Error!.Kind);
        Assert.Equal("History append failed: disk full", outcome.Error.Display);
        Assert.Empty(tool.Calls);
        Assert.Equal(["User:go"], Texts(state.History));
        Assert.True(state.LastRunInterrupted);
    }

    [Fact]
    public async Task Drained_notifications_join_history_before_the_request_and_a_drain_failure_is_a_history_append_error()
    {
        var model = Script(R(Text("ok")));
        var host = new FakeHost();
        host.Pending.Enqueue([MessageItem.Text(Role.System, "[notification] build done")]);
        var state = new EngineState();

        await NewEngine(model, host, state).RunAsync(User("go"), Ct);

        Assert.Equal(["User:go", "System:[notification] build done", "Assistant:ok"], Texts(state.History));
        Assert.Equal("System:[notification] build done", TextOf(model.Requests[0].Items[^1]));

        var failing = new FakeHost { DrainFailure = new InvalidOperationException("journal unavailable") };
        var outcome = await NewEngine(Script(R(Text("unused"))), failing).RunAsync(User("go"), Ct);
        Assert.Equal("History append failed: journal unavailable", outcome.Error!.Display);
    }

    [Fact]
    public async Task Rejected_assistant_message_is_not_added_to_history()
    {
        var host = new FakeHost { Reject = i => i is MessageItem ? new Exception("nope") : null };
        var state = new EngineState();

        var outcome = await NewEngine(Script(R(Text("hello"))), host, state).RunAsync(User("go"), Ct);

        Assert.Equal(EngineErrorKind.HistoryAppend, outcome.Error!.Kind);
        Assert.Equal(["User:go"], Texts(state.History));
    }

    // ------------------------------------------------------------------ 28–30: block-closing deviations, tool order

    [Fact]
    public async Task B28_tool_use_block_closed_by_a_text_typed_stop_with_the_same_index_is_executed()
    {
        var model = Script(R(
            new ScriptUsage(Input: 24),
            Ev(new BlockStart(0, BlockType.Text)),
            Ev(new BlockDelta(0, DeltaKind.Text, "I'll check the current weather")),
            Ev(new BlockDelta(0, DeltaKind.Text, " in Tokyo for you")),
            Ev(new StreamPing()),
            Ev(new BlockDelta(0, DeltaKind.Text, " using the get_weather")),
            Ev(new BlockDelta(0, DeltaKind.Text, " tool.")),
            Ev(new BlockStop(0, BlockType.Text)),
            Ev(new BlockStart(1, BlockType.ToolUse, "toolu_011Hg5wju1LGL7F65HyfE6bM", "get_weather")),
            Ev(new BlockDelta(1, DeltaKind.InputJson, "")),
            Ev(new BlockDelta(1, DeltaKind.InputJson, "{\"city\": \"Tokyo")),
            Ev(new BlockDelta(1, DeltaKind.InputJson, "\"}")),
            Ev(new BlockStop(1, BlockType.Text)),
            new ScriptUsage(Output: 60),
            Ev(new StreamStatus(StreamStatusKind.Completed))));
        var tool = FakeTool.Returning("get_weather", new ToolOutput("Sunny"));
        var state = new EngineState();

        var outcome = await NewEngine(model, new FakeHost(), state, Settings(maxTurns: 1), null, tool).RunAsync(User("weather in Tokyo?"), Ct);

        Assert.Equal(EngineResult.LimitReached, outcome.Result);
        Assert.Equal("{\"city\":\"Tokyo\"}", Assert.Single(tool.Calls).Input);
        Assert.Equal(
        [
            "User:weather in Tokyo?",
            "Assistant:I'll check the current weather in Tokyo for you using the get_weather tool.",
            "call:toolu_011Hg5wju1LGL7F65HyfE6bM:get_weather:{\"city\":\"Tokyo\"}",
            "result:toolu_011Hg5wju1LGL7F65HyfE6bM:Sunny",
        ], Texts(state.History));
    }

    [Fact]
    public async Task B29_tool_use_block_without_any_stop_is_completed_at_stream_end()
    {
        var model = Script(R(
            Ev(new BlockStart(0, BlockType.ToolUse, "call_20MaqO3n8LBQG77HCpBYi22A", "get_weather")),
            Ev(new BlockDelta(0, DeltaKind.InputJson, "{\"")),
            Ev(new BlockDelta(0, DeltaKind.InputJson, "city")),
            Ev(new BlockDelta(0, DeltaKind.InputJson, "\":\"")),
            Ev(new BlockDelta(0, DeltaKind.InputJson, "Tokyo")),
            Ev(new BlockDelta(0, DeltaKind.InputJson, "\"}")),
            new ScriptUsage(Input: 80, Output: 15)));
        var tool = FakeTool.Returning("get_weather", new ToolOutput("Sunny"));
        var host = new FakeHost();
        var state = new EngineState();

        var outcome = await NewEngine(model, host, state, Settings(maxTurns: 1), null, tool).RunAsync(User("weather?"), Ct);

        Assert.Equal(EngineResult.LimitReached, outcome.Result);
        Assert.Equal("{\"city\":\"Tokyo\"}", Assert.Single(tool.Calls).Input);
        Assert.Equal("call:call_20MaqO3n8LBQG77HCpBYi22A:get_weather:{\"city\":\"Tokyo\"}", TextOf(state.History[1]));
        Assert.Contains(new ToolCallDoneEvent("call_20MaqO3n8LBQG77HCpBYi22A", "get_weather", "{\"city\":\"Tokyo\"}"), host.Events);
    }

    [Fact]
    public async Task Openai_style_text_without_start_or_stop_followed_by_tool_calls_keeps_both()
    {
        var model = Script(
            R(Ev(new BlockDelta(0, DeltaKind.Text, "")),
              Ev(new BlockDelta(0, DeltaKind.Text, "Let me check.")),
              Ev(new BlockStart(0, BlockType.ToolUse, "call_a", "t")),
              Ev(new BlockDelta(0, DeltaKind.InputJson, "{\"n\":1}")),
              Ev(new BlockStart(1, BlockType.ToolUse, "call_b", "t")),
              Ev(new BlockDelta(1, DeltaKind.InputJson, "{\"n\":2}"))),
            R(Ev(new BlockDelta(0, DeltaKind.Text, "Done")), Ev(new BlockStop(0, BlockType.Text, StopReason.EndTurn))));
        var state = new EngineState();

        var outcome = await NewEngine(model, new FakeHost(), state, tools: new FakeTool("t")).RunAsync(User("go"), Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal(
            ["User:go", "Assistant:Let me check.", "call:call_a:t:{\"n\":1}", "call:call_b:t:{\"n\":2}", "result:call_a:t ok", "result:call_b:t ok", "Assistant:Done"],
            Texts(state.History));
    }

    [Fact]
    public async Task B30_tool_definitions_are_sent_sorted_by_name()
    {
        var model = Script(R(Call("c1", "beta")), R(Text("ok")));
        var engine = NewEngine(model, new FakeHost(), null, null, null, new FakeTool("zeta"), new FakeTool("alpha"), new FakeTool("beta"));

        await engine.RunAsync(User("go"), Ct);

        Assert.Equal(2, model.Requests.Count);
        Assert.All(model.Requests, r => Assert.Equal(["alpha", "beta", "zeta"], r.Tools.Select(t => t.Name)));
        Assert.Equal("the alpha tool", model.Requests[0].Tools[0].Description);
    }

    [Fact]
    public void Duplicate_tool_names_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => NewEngine(Script(), new FakeHost(), null, null, null, new FakeTool("a"), new FakeTool("a")));
    }

    // ------------------------------------------------------------------ request shape, interceptor flow, results

    [Fact]
    public async Task Request_carries_system_prompt_history_config_and_cache_key()
    {
        var model = Script(R(Text("ok")));
        var settings = Settings() with { Config = new RequestConfig(MaxTokens: 100, StopSequences: []) };

        await NewEngine(model, new FakeHost(), new EngineState { History = [User("before")] }, settings).RunAsync(User("go"), Ct);

        var request = Assert.Single(model.Requests);
        Assert.Equal("You are a test.", request.SystemPrompt);
        Assert.Equal(["User:before", "User:go"], Texts(request.Items));
        Assert.Equal(100u, request.Config.MaxTokens);
        Assert.Equal("cache-key", request.CacheKey);
        Assert.Null(request.CacheAnchor);
    }

    [Fact]
    public async Task Empty_stream_finishes_with_nothing_appended()
    {
        var model = Script(R());
        var state = new EngineState();
        var host = new FakeHost();

        var outcome = await NewEngine(model, host, state).RunAsync(User("go"), Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal(["User:go"], Texts(state.History));
        Assert.Empty(host.Commits);
        Assert.Equal(1UL, state.TurnCount);
    }

    [Fact]
    public async Task Pre_llm_yield_and_cancel_end_the_started_turn()
    {
        var host = new FakeHost();
        var state = new EngineState();
        var yielding = new LambdaInterceptor { PreLlm = _ => PreLlmDecision.YieldWith([MessageItem.Text(Role.System, "compacting")]) };
        var model = Script(R(Text("unused")));

        var yielded = await NewEngine(model, host, state, null, yielding).RunAsync(User("go"), Ct);

        Assert.Equal(EngineResult.Yielded, yielded.Result);
        Assert.True(state.LastRunInterrupted);
        Assert.Empty(model.Requests);
        Assert.Equal(["User:go", "System:compacting"], Texts(state.History));
        Assert.Equal(new Event[] { new TurnStartEvent(0), new TurnEndEvent(0) }, host.Events);

        var host2 = new FakeHost();
        var cancelling = new LambdaInterceptor { PreLlm = _ => PreLlmDecision.Cancel("budget exhausted") };
        var aborted = await NewEngine(Script(R(Text("unused"))), host2, null, null, cancelling).RunAsync(User("go"), Ct);
        Assert.Equal("Aborted: budget exhausted", aborted.Error!.Display);
        Assert.Equal(new Event[] { new TurnStartEvent(0), new TurnEndEvent(0) }, host2.Events);
        Assert.Equal(["budget exhausted"], cancelling.Aborts);
    }

    [Fact]
    public async Task Pre_llm_continue_with_commits_items_and_direct_context_edits_stay_request_local()
    {
        var model = Script(R(Text("ok")));
        var host = new FakeHost();
        var state = new EngineState { History = [User("secret old turn")] };
        var interceptor = new LambdaInterceptor
        {
            PreLlm = ctx =>
            {
                ctx.Items.RemoveAt(0); // request-local projection
                return PreLlmDecision.ContinueWith([MessageItem.Text(Role.System, "reminder")]);
            },
        };

        await NewEngine(model, host, state, null, interceptor).RunAsync(User("go"), Ct);

        Assert.Equal(["User:go", "System:reminder"], Texts(model.Requests[0].Items));
        Assert.Equal(["User:secret old turn", "User:go", "System:reminder", "Assistant:ok"], Texts(state.History));
        Assert.Equal(["System:reminder", "Assistant:ok"], Texts(host.Commits));
    }

    [Fact]
    public async Task Each_request_keeps_the_history_it_was_sent_with_while_later_items_are_appended()
    {
        var model = Script(R(Text("one")), R(Text("two")));
        var state = new EngineState { History = [User("earlier")] };
        var calls = 0;
        var interceptor = new LambdaInterceptor
        {
            TurnEnd = _ => ++calls == 1 ? TurnEndDecision.ContinueWithMessages([MessageItem.Text(Role.System, "keep going")]) : TurnEndDecision.Finish,
        };

        await NewEngine(model, new FakeHost(), state, null, interceptor).RunAsync(User("go"), Ct);

        // The requests are views of the engine's history, not copies: the first must not see what came after it.
        Assert.Equal(["User:earlier", "User:go"], Texts(model.Requests[0].Items));
        Assert.Equal(["User:earlier", "User:go", "Assistant:one", "System:keep going"], Texts(model.Requests[1].Items));
        Assert.Equal(["User:earlier", "User:go", "Assistant:one", "System:keep going", "Assistant:two"], Texts(state.History));
    }

    [Fact]
    public async Task Turn_end_hook_can_continue_with_messages_or_pause()
    {
        var model = Script(R(Text("one")), R(Text("two")));
        var host = new FakeHost();
        var state = new EngineState();
        var calls = 0;
        var interceptor = new LambdaInterceptor
        {
            TurnEnd = _ => ++calls == 1 ? TurnEndDecision.ContinueWithMessages([MessageItem.Text(Role.System, "keep going")]) : TurnEndDecision.Pause,
        };

        var outcome = await NewEngine(model, host, state, Settings(maxTurns: 1), interceptor).RunAsync(User("go"), Ct);

        Assert.Equal(EngineResult.Paused, outcome.Result); // max_turns is not checked on the continue-with-messages path
        Assert.Equal(["User:go", "Assistant:one", "System:keep going", "Assistant:two"], Texts(state.History));
        Assert.Equal([0UL, 1UL], host.Of<TurnStartEvent>().Select(e => e.Turn));
        Assert.True(state.LastRunInterrupted);
    }

    [Fact]
    public async Task Events_of_a_tool_turn_are_published_in_loop_order()
    {
        var model = Script(R(Call("c1", "t", "{\"a\":1}")), R(Text("ok")));
        var host = new FakeHost();

        await NewEngine(model, host, null, null, null, new FakeTool("t")).RunAsync(User("go"), Ct);

        Assert.Equal(new Event[]
        {
            new TurnStartEvent(0), new LlmCallStartEvent(0),
            new ToolCallStartEvent("c1", "t"), new ToolCallArgsDeltaEvent("c1", "{\"a\":1}"), new ToolCallDoneEvent("c1", "t", "{\"a\":1}"),
            new LlmCallEndEvent(0), new TurnEndEvent(0),
            new ToolResultEvent("c1", "t ok", null, false),
            new TurnStartEvent(1), new LlmCallStartEvent(1), new TextDeltaEvent("ok"), new TextDoneEvent("ok"), new LlmCallEndEvent(1), new TurnEndEvent(1),
        }, host.Events);
    }

    [Fact]
    public async Task Running_out_of_script_is_a_client_error_not_a_hang()
    {
        var model = Script(R(Call("c1", "t")));

        var outcome = await NewEngine(model, new FakeHost(), null, null, null, new FakeTool("t")).RunAsync(User("go"), Ct)
            .WaitAsync(TimeSpan.FromSeconds(5), Ct);

        Assert.Equal(EngineErrorKind.Client, outcome.Error!.Kind);
        Assert.Equal("scripted model: no response left for this request (1 responses in script)", outcome.Error.Message);
    }
}
