using System.Diagnostics;
using Xunit;
using Yoi.Actors.Engine;
using Yoi.Actors.Engine.Scripted;
using Yoi.Messages;
using static Yoi.Actors.Tests.Engine.Kit;

namespace Yoi.Actors.Tests.Engine;

/// <summary>The scripted model: JSON format (every item kind), match selection, exhaustion, file loading.</summary>
public sealed class ScriptedModelTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ModelRequest Request(params HistoryItem[] items) =>
        new(null, items, [], RequestConfig.Default);

    private static async Task<List<StreamEvent>> Collect(IModelClient model, ModelRequest? request = null)
    {
        var events = new List<StreamEvent>();
        await foreach (var e in model.StreamAsync(request ?? Request(User("hi")), Ct)) events.Add(e);
        return events;
    }

    [Fact]
    public async Task Text_item_as_string_or_array_is_one_text_block_with_those_deltas()
    {
        var model = ScriptedModelClient.FromJson("""{"responses":[[{"text":"Hello"},{"text":["Hel","lo"]}]]}""");

        var events = await Collect(model);

        Assert.Equal(new StreamEvent[]
        {
            new BlockStart(0, BlockType.Text), new BlockDelta(0, DeltaKind.Text, "Hello"), new BlockStop(0, BlockType.Text, StopReason.EndTurn),
            new BlockStart(1, BlockType.Text), new BlockDelta(1, DeltaKind.Text, "Hel"), new BlockDelta(1, DeltaKind.Text, "lo"),
            new BlockStop(1, BlockType.Text, StopReason.EndTurn),
        }, events);
        Assert.Equal("scripted", model.Provider);
        Assert.Equal("scripted-1", model.Model);
    }

    [Fact]
    public async Task Thinking_item_carries_reasoning_data_only_with_a_signature_or_encrypted_content()
    {
        var model = ScriptedModelClient.FromJson("""
            [[{"thinking":["a","b"],"signature":"SIG"},{"thinking":"plain"},{"thinking":[],"encrypted_content":"ENC"}]]
            """);

        var stops = (await Collect(model)).OfType<BlockStop>().ToArray();

        Assert.Equal(new ReasoningData(Signature: "SIG"), stops[0].Reasoning);
        Assert.Null(stops[1].Reasoning);
        Assert.Equal(new ReasoningData(EncryptedContent: "ENC"), stops[2].Reasoning);
        Assert.All(stops, s => Assert.Equal(BlockType.Thinking, s.Type));
    }

    [Fact]
    public async Task Tool_call_item_streams_start_argument_chunks_and_stop()
    {
        var model = ScriptedModelClient.FromJson("""
            {"model":"demo","responses":[[
              {"tool_call":{"id":"c1","name":"Read","arguments":{"path":"a.txt","limit":10},"chunks":3}},
              {"tool_call":{"name":"Bash","arguments":"{\"command\":"}}
            ]]}
            """);

        var events = await Collect(model);

        Assert.Equal("demo", model.Model);
        Assert.Equal(new BlockStart(0, BlockType.ToolUse, "c1", "Read"), events[0]);
        var chunks = events.OfType<BlockDelta>().Where(d => d.Index == 0).Select(d => d.Text).ToArray();
        Assert.Equal(3, chunks.Length);
        Assert.Equal("""{"path":"a.txt","limit":10}""", string.Concat(chunks));
        Assert.Contains(new BlockStop(0, BlockType.ToolUse, StopReason.ToolUse), events);
        Assert.Equal(new BlockStart(1, BlockType.ToolUse, "call_0_1", "Bash"), events.OfType<BlockStart>().Last());
        Assert.Equal("{\"command\":", events.OfType<BlockDelta>().Single(d => d.Index == 1).Text);
    }

    [Fact]
    public async Task Usage_error_and_delay_items_map_to_their_events()
    {
        var model = ScriptedModelClient.FromJson("""
            [[{"usage":{"input":10,"output":5,"cache_read":3,"cache_creation":2}},{"delay_ms":60},{"error":{"code":"overloaded_error","message":"busy"}}]]
            """);
        var clock = Stopwatch.StartNew();

        var events = await Collect(model);

        Assert.True(clock.ElapsedMilliseconds >= 50, $"delay took {clock.ElapsedMilliseconds} ms");
        Assert.Equal(new StreamEvent[] { new StreamUsage(10, 5, null, 3, 2), new StreamError("overloaded_error", "busy") }, events);
    }

    [Fact]
    public async Task Hang_item_waits_until_cancelled()
    {
        var model = ScriptedModelClient.FromJson("""[[{"text":"x"},{"hang":true}]]""");
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var events = new List<StreamEvent>();

        var reading = Task.Run(async () =>
        {
            await foreach (var e in model.StreamAsync(Request(User("hi")), cts.Token)) events.Add(e);
        }, Ct);
        await Task.Delay(50, Ct);
        Assert.False(reading.IsCompleted);
        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading.WaitAsync(TimeSpan.FromSeconds(5), Ct));
        Assert.Equal(3, events.Count);
    }

    [Fact]
    public async Task Open_error_makes_the_whole_response_an_exception_before_any_event()
    {
        var model = ScriptedModelClient.FromJson("""
            [[{"text":"never"},{"open_error":{"status":429,"message":"slow down","retry_after":2,"code":"rate_limited"}}]]
            """);
        var events = new List<StreamEvent>();

        var ex = await Assert.ThrowsAsync<ModelException>(async () =>
        {
            await foreach (var e in model.StreamAsync(Request(User("hi")), Ct)) events.Add(e);
        });

        Assert.Empty(events);
        Assert.Equal((429, "rate_limited", TimeSpan.FromSeconds(2), true), (ex.Status, ex.Code, ex.RetryAfter, ex.IsRetryable));
        Assert.Equal("API error [rate_limited]: slow down", ex.Display);
    }

    [Fact]
    public async Task Break_item_throws_a_transport_error_after_the_earlier_events()
    {
        var model = ScriptedModelClient.FromJson("""[[{"text":"Part"},{"break":"connection reset"},{"text":"never"}]]""");
        var events = new List<StreamEvent>();

        var ex = await Assert.ThrowsAsync<IOException>(async () =>
        {
            await foreach (var e in model.StreamAsync(Request(User("hi")), Ct)) events.Add(e);
        });

        Assert.Equal("connection reset", ex.Message);
        Assert.Equal(3, events.Count);
    }

    [Fact]
    public async Task Each_call_takes_the_first_unconsumed_response_whose_match_is_in_the_last_user_or_system_message()
    {
        var model = ScriptedModelClient.FromJson("""
            {"responses":[
              {"match":"weather","items":[{"text":"sunny"}]},
              [{"text":"generic 1"}],
              {"match":"notification","items":[{"text":"noted"}]},
              [{"text":"generic 2"}]
            ]}
            """);

        async Task<string> Say(params HistoryItem[] items) =>
            string.Concat((await Collect(model, Request(items))).OfType<BlockDelta>().Select(d => d.Text));

        Assert.Equal("generic 1", await Say(User("hello")));
        Assert.Equal("sunny", await Say(User("what's the weather?")));
        Assert.Equal("noted", await Say(User("weather again"), MessageItem.Text(Role.Assistant, "ok"),
            MessageItem.Text(Role.System, "[notification] done")));
        Assert.Equal("generic 2", await Say(User("weather")));
        Assert.Equal(0, model.Remaining);
        Assert.Equal(4, model.Requests.Count);
    }

    [Fact]
    public void Match_text_is_the_last_user_or_system_message()
    {
        Assert.Equal("sys", ScriptedModelClient.LastUserOrSystemText([User("u"), MessageItem.Text(Role.System, "sys"), MessageItem.Text(Role.Assistant, "a")]));
        Assert.Equal("u2", ScriptedModelClient.LastUserOrSystemText([User("u1"), new ToolResultItem("c", "r"), User("u2")]));
        Assert.Equal("", ScriptedModelClient.LastUserOrSystemText([new ToolCallItem("c", "t", "{}")]));
    }

    [Fact]
    public async Task Running_out_of_responses_is_a_non_retryable_provider_error()
    {
        var model = ScriptedModelClient.FromJson("""{"responses":[{"match":"only this","items":[{"text":"x"}]},[{"text":"y"}]]}""");
        await Collect(model);

        var ex = await Assert.ThrowsAsync<ModelException>(() => Collect(model));

        Assert.Equal("scripted model: no response left for this request (2 responses in script)", ex.Message);
        Assert.False(ex.IsRetryable);
        Assert.Equal(1, model.Remaining); // the unmatched response stays
    }

    [Fact]
    public async Task Concurrent_calls_consume_distinct_responses()
    {
        var model = new ScriptedModelClient(Enumerable.Range(0, 40).Select(i => R(Text($"r{i}"))));

        var texts = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => Task.Run(async () =>
            string.Concat((await Collect(model)).OfType<BlockDelta>().Select(d => d.Text)), Ct)));

        Assert.Equal(40, texts.Distinct().Count());
        Assert.Equal(0, model.Remaining);
    }

    [Fact]
    public async Task Script_file_drives_a_full_engine_run()
    {
        var path = Path.Combine(Path.GetTempPath(), $"yoi-script-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(path, """
            {
              "model": "scripted-demo",
              "responses": [
                { "match": "weather", "items": [
                    { "thinking": ["Need the tool."], "signature": "SIG" },
                    { "text": ["Let me ", "check."] },
                    { "tool_call": { "id": "c1", "name": "get_weather", "arguments": { "city": "Tokyo" }, "chunks": 2 } },
                    { "usage": { "input": 50, "output": 12 } } ] },
                [ { "text": "Sunny in Tokyo." }, { "usage": { "input": 80, "output": 4 } } ]
              ]
            }
            """, Ct);
        try
        {
            var model = ScriptedModelClient.FromFile(path);
            var state = new EngineState();
            var tool = FakeTool.Returning("get_weather", new ToolOutput("Sunny"));

            var outcome = await NewEngine(model, new FakeHost(), state, tools: tool).RunAsync(User("weather in Tokyo?"), Ct);

            Assert.Equal(EngineResult.Finished, outcome.Result);
            Assert.Equal("scripted-demo", model.Model);
            Assert.Equal(
                ["User:weather in Tokyo?", "reasoning:Need the tool.:SIG", "Assistant:Let me check.", "call:c1:get_weather:{\"city\":\"Tokyo\"}",
                 "result:c1:Sunny", "Assistant:Sunny in Tokyo."],
                Texts(state.History));
            Assert.Equal([50UL, 80UL], outcome.Usage.Select(u => u.InputTotalTokens));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Open_error_script_exercises_the_engine_retry_policy()
    {
        var model = ScriptedModelClient.FromJson("""[ [{"open_error":{"status":503,"message":"busy"}}], [{"text":"ok"}] ]""");
        var host = new FakeHost();

        var outcome = await NewEngine(model, host).RunAsync(User("go"), Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal((ushort?)503, Assert.Single(host.Of<LlmRetryEvent>()).Status);
    }

    [Theory]
    [InlineData("""{"responses":[[{"txt":"x"}]]}""", "responses[0].items[0]: unknown item {txt}")]
    [InlineData("""{"responses":[[{"text":"x","usage":{}}]]}""", "unexpected key 'usage' next to 'text'")]
    [InlineData("""{"responses":[[{"tool_call":{"id":"c1"}}]]}""", "tool_call.name is required")]
    [InlineData("""{"responses":{}}""", "'responses' must be an array")]
    [InlineData("""{"responses":[], "extra":1}""", "unknown key 'extra'")]
    [InlineData("""[[{"delay_ms":-1}]]""", "delay_ms must be a non-negative integer")]
    [InlineData("""[ {"match": 3, "items": []} ]""", "responses[0].match must be a string")]
    [InlineData("not json", "is not valid JSON")]
    public void Malformed_scripts_are_rejected_with_the_offending_place(string json, string expected)
    {
        var ex = Assert.Throws<ScriptFormatException>(() => ScriptLoader.Parse(json));
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void Missing_script_file_is_a_clear_error()
    {
        var ex = Assert.Throws<ScriptFormatException>(() => ScriptedModelClient.FromFile("/nonexistent/yoi/script.json"));
        Assert.Contains("cannot read script '/nonexistent/yoi/script.json'", ex.Message);
    }

    [Fact]
    public void Argument_chunks_never_split_a_surrogate_pair()
    {
        var text = "a😀b😀c";
        var parts = ScriptedModelClient.Split(text, 5).ToArray();

        Assert.Equal(text, string.Concat(parts));
        Assert.All(parts, p => Assert.False(char.IsHighSurrogate(p[^1])));
        Assert.Empty(ScriptedModelClient.Split("", 3));
    }
}
