using System.Text.Json;
using System.Text.Json.Nodes;
using Yoi.Actors.Engine;
using Yoi.Actors.Providers;
using Yoi.Actors.Tests.Engine;
using Yoi.Messages;
using static Yoi.Actors.Tests.Engine.Kit;
using Resp = Yoi.Actors.Tests.Providers.StubResponse;

namespace Yoi.Actors.Tests.Providers;

/// <summary>The <c>anthropic</c> client against a loopback stub serving ../shared/fixtures/anthropic.</summary>
public sealed class AnthropicProviderTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Resp F(string name, IReadOnlyDictionary<string, string>? headers = null) =>
        Resp.FromFixture("anthropic/" + name, headers);

    [Fact]
    public async Task Text_stream_with_ping_and_the_messages_request_shape()
    {
        await using var rig = new ProviderRig("anthropic", F("text.sse"));

        var outcome = await rig.RunAsync("Greet me", Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal(["User:Greet me", "Assistant:Hello, World!"], Texts(rig.State.History));
        Assert.Equal([new UsageEvent(25, 6, 0)], rig.Host.Of<UsageEvent>());

        var request = Assert.Single(rig.Requests);
        Assert.Equal("/v1/messages", request.Path);
        Assert.Equal(ProviderRig.Key, request.Header("x-api-key"));
        Assert.Null(request.Header("Authorization"));
        Assert.Equal("2023-06-01", request.Header("anthropic-version"));
        Assert.Equal("fine-grained-tool-streaming-2025-05-14", request.Header("anthropic-beta"));
        var body = request.Json;
        Assert.Equal("claude-sonnet-4-5", (string?)body["model"]);
        Assert.Equal(4096, (int)body["max_tokens"]!);
        Assert.True((bool)body["stream"]!);
        Assert.Equal("You are a test.", (string?)body["system"]);
        Assert.Equal("""[{"role":"user","content":[{"type":"text","text":"Greet me"}]}]""", J.Compact(body["messages"]));
        Assert.Null(body["cache_control"]);
        Assert.DoesNotContain("cache_control", request.Body); // explicit caching only on api.anthropic.com
    }

    [Fact]
    public async Task Tool_use_with_fragmented_input_then_the_result_goes_back_as_a_tool_result_part()
    {
        await using var rig = new ProviderRig("anthropic", F("tool_use.sse"), F("text.sse"));
        var read = FakeTool.Returning("Read", new ToolOutput("read README.md", "# Title"));

        var outcome = await rig.RunAsync("Read the readme", Ct, read);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal(["{\"file_path\":\"README.md\"}"], read.Calls.Select(c => c.Input));
        Assert.Equal(["{\"file_path\": \"REA", "DME.md\"}"], rig.Host.Of<ToolCallArgsDeltaEvent>().Select(e => e.Json));
        Assert.Equal(
            ["User:Read the readme", "Assistant:I'll read the README first.", "call:toolu_01A09q90qw90lq917835lq9:Read:{\"file_path\":\"README.md\"}",
             "result:toolu_01A09q90qw90lq917835lq9:read README.md", "Assistant:Hello, World!"],
            Texts(rig.State.History));

        var messages = rig.Requests[1].Json["messages"];
        Assert.Equal(
            """[{"role":"user","content":[{"type":"text","text":"Read the readme"}]},""" +
            """{"role":"assistant","content":[{"type":"text","text":"I'll read the README first."},{"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"Read","input":{"file_path":"README.md"}}]},""" +
            """{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01A09q90qw90lq917835lq9","content":"read README.md\n# Title"}]}]""",
            J.Compact(messages));
        Assert.Equal("Read", (string?)rig.Requests[1].Json["tools"]![0]!["name"]);
        Assert.NotNull(rig.Requests[1].Json["tools"]![0]!["input_schema"]);
    }

    [Fact]
    public async Task Usage_is_normalised_input_includes_cache_read_and_cache_creation_one_usage_per_call()
    {
        await using var rig = new ProviderRig("anthropic", F("tool_use.sse"), F("text.sse"));

        var outcome = await rig.RunAsync("Read the readme", Ct, new FakeTool("Read"));

        Assert.Equal([new UsageEvent(1409, 71, 800), new UsageEvent(25, 6, 0)], rig.Host.Of<UsageEvent>());
        Assert.Equal(2, outcome.Usage.Count);
        var u = outcome.Usage[0];
        Assert.Equal((1UL, 1409UL, 800UL, 200UL, 71UL), (u.HistoryLen, u.InputTotalTokens, u.CacheReadTokens, u.CacheWriteTokens, u.OutputTokens));
        Assert.Equal(new StreamUsage(1409, 1, 1410, 800, 200),
            AnthropicClient.Mapper.Usage((JsonObject)JsonNode.Parse("""{"input_tokens":409,"cache_creation_input_tokens":200,"cache_read_input_tokens":800,"output_tokens":1}""")!));
        Assert.Equal(new StreamUsage(null, 71), AnthropicClient.Mapper.Usage((JsonObject)JsonNode.Parse("""{"output_tokens":71}""")!));
    }

    [Fact]
    public async Task Thinking_signature_is_persisted_and_the_next_request_carries_it_back()
    {
        await using var rig = new ProviderRig("anthropic", F("thinking.sse"), F("text.sse"));

        var first = await rig.RunAsync("What is 2 + 2?", Ct);
        var second = await rig.RunAsync("Thanks!", Ct);

        Assert.Equal(EngineResult.Finished, first.Result);
        Assert.Equal(EngineResult.Finished, second.Result);
        const string sig = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds";
        Assert.Equal(["User:What is 2 + 2?", $"reasoning:The user wants a sum. 2 + 2 = 4.:{sig}", "Assistant:4", "User:Thanks!", "Assistant:Hello, World!"],
            Texts(rig.State.History));
        Assert.Equal(["The user wants a sum. ", "2 + 2 = 4."], rig.Host.Of<ThinkingDeltaEvent>().Select(e => e.Text));
        Assert.DoesNotContain(sig, rig.EventText); // the signature is round-trip material, not an event payload

        var messages = J.Arr(rig.Requests[1].Json["messages"]);
        Assert.Equal(
            $$"""{"role":"assistant","content":[{"type":"thinking","thinking":"The user wants a sum. 2 + 2 = 4.","signature":"{{sig}}"},{"type":"text","text":"4"}]}""",
            J.Compact(messages[1]));
        Assert.Equal(["user", "assistant", "user"], J.Roles(messages));
    }

    [Fact]
    public async Task Provider_error_event_fails_the_run_without_retry_or_continuation_and_keeps_no_partial_text()
    {
        await using var rig = new ProviderRig("anthropic", F("error_event.sse"), F("text.sse"));

        var outcome = await rig.RunAsync("hi", Ct);

        Assert.Equal("Client error: API error [overloaded_error]: Overloaded", outcome.Error!.Display);
        Assert.Equal(ErrorCode.ProviderError, outcome.Error.Code);
        Assert.Equal(["User:hi"], Texts(rig.State.History));
        Assert.Empty(rig.Host.Commits);
        Assert.Single(rig.Requests);
        Assert.Empty(rig.Host.Of<LlmContinuationEvent>());
        Assert.Equal([new UsageEvent(25, 1, 0)], rig.Host.Of<UsageEvent>()); // usage still flushed once
    }

    [Fact]
    public async Task Status_529_is_retried_with_the_error_type_as_code()
    {
        await using var rig = new ProviderRig("anthropic", F("error_529.json"), F("text.sse"));

        var outcome = await rig.RunAsync("hi", Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        var retry = Assert.Single(rig.Host.Of<LlmRetryEvent>());
        Assert.Equal((ushort?)529, retry.Status);
        Assert.Equal("API error [overloaded_error]: Overloaded", retry.Error);
        Assert.Equal([TimeSpan.Zero], rig.Delays); // base 0: full jitter of 0
    }

    [Fact]
    public async Task Status_400_is_not_retried()
    {
        await using var rig = new ProviderRig("anthropic", F("error_400.json"), F("text.sse"));

        var outcome = await rig.RunAsync("hi", Ct);

        Assert.Equal("Client error: API error [invalid_request_error]: prompt is too long: 210000 tokens > 200000 maximum", outcome.Error!.Display);
        Assert.Equal(400, outcome.Error.Status);
        Assert.Single(rig.Requests);
    }

    [Fact]
    public async Task Without_a_key_no_auth_header_is_sent_as_for_a_local_Ollama()
    {
        await using var rig = new ProviderRig("anthropic", (string?)null, F("text.sse"));

        await rig.RunAsync("hi", Ct);

        var request = Assert.Single(rig.Requests);
        Assert.Null(request.Header("x-api-key"));
        Assert.Null(request.Header("Authorization"));
    }

    [Fact]
    public async Task Stream_cut_inside_the_text_block_keeps_the_completed_thinking_and_is_continued()
    {
        var partial = Fixtures.Read("anthropic/thinking.sse");
        partial = partial[..(partial.IndexOf("\"text\":\"4\"", StringComparison.Ordinal))]; // inside the text delta frame
        await using var rig = new ProviderRig("anthropic", new Resp.Sse(partial), F("text.sse"));

        var outcome = await rig.RunAsync("What is 2 + 2?", Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        var continuation = Assert.Single(rig.Host.Of<LlmContinuationEvent>());
        Assert.Contains("inside an SSE frame", continuation.Reason);
        // the completed thinking block is committed; the open (cut) text block is not
        Assert.Equal(["User:What is 2 + 2?", "reasoning:The user wants a sum. 2 + 2 = 4.:EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds",
            "Assistant:Hello, World!"], Texts(rig.State.History));
        Assert.Equal(2, rig.Host.Of<UsageEvent>().Count); // the cut call's usage is flushed too
        var messages = J.Arr(rig.Requests[1].Json["messages"]);
        Assert.Equal(["user", "assistant"], J.Roles(messages)); // the continuation request ends with the kept output
        Assert.Equal("thinking", (string?)messages[1]!["content"]![0]!["type"]);
    }

    // ------------------------------------------------------------------ request mapping (no HTTP)

    private static readonly ModelRequest Layout = new("SYS",
    [
        MessageItem.Text(Role.User, "u1"),
        new ReasoningItem("no material"), // dropped
        new ReasoningItem("", EncryptedContent: "REDACTED"),
        MessageItem.Text(Role.Assistant, "a1"),
        new ToolCallItem("c1", "Read", "{\"p\":1}"),
        new ToolCallItem("c2", "Read", "not json"),
        new ToolResultItem("c1", "ok", "body"),
        new ToolResultItem("c2", "bad", IsError: true),
        MessageItem.Text(Role.System, "note from the system"),
        MessageItem.Text(Role.User, "u2"),
    ], [], RequestConfig.Default with { MaxTokens = 100, StopSequences = ["END"], Reasoning = JsonDocument.Parse("2048").RootElement });

    [Fact]
    public void Request_layout_merges_assistant_bursts_and_tool_results_and_sends_system_items_as_user_messages()
    {
        var body = J.Wire(new AnthropicClient(new ProviderSettings("anthropic", "m", new Uri("http://127.0.0.1:11434"))).BuildBody(Layout));

        Assert.Equal(
            """[{"role":"user","content":[{"type":"text","text":"u1"}]},""" +
            """{"role":"assistant","content":[{"type":"redacted_thinking","data":"REDACTED"},{"type":"text","text":"a1"},""" +
            """{"type":"tool_use","id":"c1","name":"Read","input":{"p":1}},{"type":"tool_use","id":"c2","name":"Read","input":{}}]},""" +
            """{"role":"user","content":[{"type":"tool_result","tool_use_id":"c1","content":"ok\nbody"},{"type":"tool_result","tool_use_id":"c2","content":"bad","is_error":true}]},""" +
            """{"role":"user","content":[{"type":"text","text":"note from the system"}]},""" +
            """{"role":"user","content":[{"type":"text","text":"u2"}]}]""",
            J.Compact(body["messages"]));
        Assert.Equal(100, (int)body["max_tokens"]!);
        Assert.Equal("""["END"]""", J.Compact(body["stop_sequences"]));
        Assert.Equal("""{"type":"enabled","budget_tokens":2048}""", J.Compact(body["thinking"]));
        Assert.Null(body["tools"]);
    }

    [Fact]
    public void Anthropic_api_gets_cache_breakpoints_on_the_item_before_the_last_user_message_and_the_final_item()
    {
        var client = new AnthropicClient(new ProviderSettings("anthropic", "m", new Uri("https://api.anthropic.com"), "k"));
        Assert.Equal(new Uri("https://api.anthropic.com/v1/messages"), client.Endpoint);

        var messages = J.Arr(client.BuildBody(Layout)["messages"]);

        var marked = messages.SelectMany(m => J.Arr(m!["content"])).Where(p => p!["cache_control"] is not null)
            .Select(p => (string?)p!["text"] ?? (string)p!["type"]!).ToArray();
        Assert.Equal(["note from the system", "u2"], marked);
    }

    [Fact]
    public void Endpoint_accepts_a_base_with_or_without_the_version_segment()
    {
        Assert.Equal(new Uri("http://localhost:11434/v1/messages"),
            new AnthropicClient(new ProviderSettings("anthropic", "m", new Uri("http://localhost:11434"))).Endpoint);
        Assert.Equal(new Uri("http://localhost:11434/v1/messages"),
            new AnthropicClient(new ProviderSettings("anthropic", "m", new Uri("http://localhost:11434/v1/"))).Endpoint);
    }
}
