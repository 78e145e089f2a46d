using System.Text.Json;
using System.Text.Json.Nodes;
using Yoi.Actors.Engine;
using Yoi.Actors.Providers;
using Yoi.Actors.Tests.Engine;
using Yoi.Messages;
using static Yoi.Actors.Tests.Engine.Kit;
using Resp = Yoi.Actors.Tests.Providers.StubResponse;

namespace Yoi.Actors.Tests.Providers;

/// <summary>The <c>gemini</c> client against a loopback stub serving the fixtures in <c>fixtures/gemini</c>
/// (Google's public streamGenerateContent SSE format), driven through the real turn engine.</summary>
public sealed class GeminiProviderTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Resp F(string name, IReadOnlyDictionary<string, string>? headers = null) => RepoFixtures.Response("gemini/" + name, headers);

    private static JsonArray Contents(StubRequest r) => J.Arr(r.Json["contents"]);

    private static string[] Roles(JsonArray contents) => contents.Select(c => (string)c!["role"]!).ToArray();

    [Fact]
    public async Task Text_stream_becomes_one_assistant_message_with_usage_and_the_request_is_stream_generate_content()
    {
        await using var rig = new ProviderRig("gemini", F("text.sse"));

        var outcome = await rig.RunAsync("Greet me", Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal(["User:Greet me", "Assistant:Hello, World!"], Texts(rig.State.History));
        Assert.Equal(["Hello", ", ", "World!"], rig.Host.Of<TextDeltaEvent>().Select(e => e.Text));
        Assert.Equal([new UsageEvent(24, 4, 0)], rig.Host.Of<UsageEvent>());

        var request = Assert.Single(rig.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", request.Path);
        Assert.Equal("text/event-stream", request.Header("Accept"));
        var body = request.Json;
        Assert.Equal("""{"parts":[{"text":"You are a test."}]}""", J.Compact(body["systemInstruction"]));
        Assert.Equal("""[{"role":"user","parts":[{"text":"Greet me"}]}]""", J.Compact(body["contents"]));
        Assert.Null(body["generationConfig"]); // nothing configured, nothing sent
    }

    [Fact]
    public async Task The_key_is_sent_in_the_x_goog_api_key_header_and_never_in_the_url()
    {
        await using var rig = new ProviderRig("gemini", F("text.sse"));

        await rig.RunAsync("hi", Ct);

        var request = Assert.Single(rig.Requests);
        Assert.Equal(ProviderRig.Key, request.Header("x-goog-api-key"));
        Assert.DoesNotContain(ProviderRig.Key, request.Path);
        Assert.DoesNotContain("key=", request.Path);
        Assert.DoesNotContain(ProviderRig.Key, rig.Client.Endpoint.ToString());
        Assert.Null(request.Header("Authorization"));
    }

    [Fact]
    public async Task An_error_body_echoing_the_key_reaches_the_run_error_redacted()
    {
        var echo = """{"error":{"code":400,"message":"API key KEY not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}""".Replace("KEY", ProviderRig.Key);
        await using var rig = new ProviderRig("gemini", new Resp.Error(400, echo));

        var outcome = await rig.RunAsync("hi", Ct);

        Assert.Equal("Client error: API error [INVALID_ARGUMENT]: API key [redacted] not valid. Please pass a valid API key.", outcome.Error!.Display);
        Assert.DoesNotContain(ProviderRig.Key, rig.EventText);
    }

    [Fact]
    public async Task Function_call_is_executed_and_sent_back_as_a_model_function_call_then_a_function_response()
    {
        await using var rig = new ProviderRig("gemini", F("function_call.sse"), F("text.sse"));
        var read = FakeTool.Returning("Read", new ToolOutput("read 1 file", "# README"));

        var outcome = await rig.RunAsync("Read the readme", Ct, read);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal(["{\"file_path\":\"README.md\"}"], read.Calls.Select(c => c.Input));
        Assert.Equal(new ToolCallStartEvent("call_Read", "Read"), rig.Host.Of<ToolCallStartEvent>().Single());
        Assert.Equal(["{\"file_path\":\"README.md\"}"], rig.Host.Of<ToolCallArgsDeltaEvent>().Select(e => e.Json)); // one whole delta
        Assert.Equal(
            ["User:Read the readme", "call:call_Read:Read:{\"file_path\":\"README.md\"}", "result:call_Read:read 1 file", "Assistant:Hello, World!"],
            Texts(rig.State.History));

        var second = rig.Requests[1].Json;
        var contents = J.Arr(second["contents"]);
        Assert.Equal(["user", "model", "user"], Roles(contents));
        Assert.Equal("""[{"functionCall":{"name":"Read","args":{"file_path":"README.md"}}}]""", J.Compact(contents[1]!["parts"]));
        Assert.Equal("""[{"functionResponse":{"name":"Read","response":{"output":"read 1 file\n# README"}}}]""", J.Compact(contents[2]!["parts"]));
        var declaration = second["tools"]![0]!["functionDeclarations"]![0]!;
        Assert.Equal("Read", (string?)declaration["name"]);
        Assert.Equal("object", (string?)declaration["parametersJsonSchema"]!["type"]);
    }

    [Fact]
    public async Task A_failed_tool_is_sent_back_as_a_function_response_error()
    {
        await using var rig = new ProviderRig("gemini", F("function_call.sse"), F("text.sse"));

        await rig.RunAsync("Read the readme", Ct); // no Read tool on this Worker: an error result

        var parts = Contents(rig.Requests[1])[2]!["parts"];
        Assert.Equal("""[{"functionResponse":{"name":"Read","response":{"error":"Tool 'Read' not found"}}}]""", J.Compact(parts));
    }

    [Fact]
    public async Task Parallel_calls_of_one_tool_get_distinct_ids_run_as_one_batch_and_go_back_in_one_model_and_one_user_turn()
    {
        await using var rig = new ProviderRig("gemini", F("parallel_function_calls.sse"), F("text.sse"));
        var read = new FakeTool("Read");

        var outcome = await rig.RunAsync("Compare a and b", Ct, read);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal(
            ["User:Compare a and b", "Assistant:Checking both files.", "call:call_Read:Read:{\"file_path\":\"a.txt\"}",
             "call:call_Read_2:Read:{\"file_path\":\"b.txt\"}", "result:call_Read:Read ok", "result:call_Read_2:Read ok", "Assistant:Hello, World!"],
            Texts(rig.State.History));
        Assert.Equal(["tool-batch-0", "tool-batch-0"], read.Calls.Select(c => c.Context.BatchId));

        var contents = Contents(rig.Requests[1]);
        Assert.Equal(["user", "model", "user"], Roles(contents));
        Assert.Equal(
            """[{"text":"Checking both files."},{"functionCall":{"name":"Read","args":{"file_path":"a.txt"}}},{"functionCall":{"name":"Read","args":{"file_path":"b.txt"}}}]""",
            J.Compact(contents[1]!["parts"]));
        Assert.Equal(2, J.Arr(contents[2]!["parts"]).Count);
    }

    [Fact]
    public async Task A_model_supplied_call_id_is_kept_and_sent_back_on_the_call_and_its_response()
    {
        var body = RepoFixtures.Read("gemini/function_call.sse").Replace("\"name\":\"Read\"", "\"id\":\"fc-91a\",\"name\":\"Read\"");
        await using var rig = new ProviderRig("gemini", new Resp.Sse(body), F("text.sse"));

        await rig.RunAsync("Read the readme", Ct, new FakeTool("Read"));

        Assert.Equal("call:fc-91a:Read:{\"file_path\":\"README.md\"}", Texts(rig.State.History)[1]);
        var contents = Contents(rig.Requests[1]);
        Assert.Equal("fc-91a", (string?)contents[1]!["parts"]![0]!["functionCall"]!["id"]);
        Assert.Equal("fc-91a", (string?)contents[2]!["parts"]![0]!["functionResponse"]!["id"]);
    }

    [Fact]
    public async Task A_thinking_budget_is_sent_as_thinking_config_and_thoughts_and_signature_round_trip()
    {
        await using var rig = new ProviderRig("gemini", F("thinking.sse"), F("text.sse"));
        rig.Config = RequestConfig.Default with { Reasoning = JsonSerializer.SerializeToElement(1024), MaxTokens = 2048 };

        var outcome = await rig.RunAsync("Read my notes", Ct, new FakeTool("Read"));

        Assert.Equal(EngineResult.Finished, outcome.Result);
        var first = rig.Requests[0].Json;
        Assert.Equal("""{"maxOutputTokens":2048,"thinkingConfig":{"thinkingBudget":1024,"includeThoughts":true}}""", J.Compact(first["generationConfig"]));
        Assert.Equal(["The user wants a file; I should read it."], rig.Host.Of<ThinkingDeltaEvent>().Select(e => e.Text));
        Assert.Contains("reasoning::CiQBVKhc7sig-4f2a", Texts(rig.State.History));
        // thoughts count as output; cached tokens are reported as cache reads
        Assert.Equal(new UsageEvent(60, 134, 32), rig.Host.Of<UsageEvent>()[0]);

        var model = Contents(rig.Requests[1])[1]!;
        Assert.Equal("model", (string?)model["role"]);
        Assert.Equal("""[{"functionCall":{"name":"Read","args":{"file_path":"notes.md"}},"thoughtSignature":"CiQBVKhc7sig-4f2a"}]""", J.Compact(model["parts"]));
    }

    [Fact]
    public void An_effort_word_becomes_a_thinking_level_only_for_a_model_that_takes_efforts()
    {
        var effort = JsonSerializer.SerializeToElement("high");
        Assert.Equal("""{"thinkingLevel":"high","includeThoughts":true}""",
            J.Compact(GeminiClient.ThinkingConfig(effort, new ModelCapability(Reasoning: "effort"))));
        Assert.Null(GeminiClient.ThinkingConfig(effort, new ModelCapability(Reasoning: "budget_tokens")));
        Assert.Null(GeminiClient.ThinkingConfig(JsonSerializer.SerializeToElement(512), new ModelCapability(Reasoning: "effort")));
    }

    [Fact]
    public async Task Max_tokens_finish_ends_the_turn_with_the_max_tokens_stop_and_no_continuation()
    {
        await using var rig = new ProviderRig("gemini", F("max_tokens.sse"));

        var outcome = await rig.RunAsync("Write a lot", Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal(["User:Write a lot", "Assistant:This answer is cut"], Texts(rig.State.History));
        Assert.Empty(rig.Host.Of<LlmContinuationEvent>());
        var events = RepoFixtures.Read("gemini/max_tokens.sse").Split("\r\n\r\n", StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(f => new GeminiClient.Mapper().Map(null, f["data: ".Length..])).ToList();
        Assert.Contains(new BlockStop(0, BlockType.Text, StopReason.MaxTokens), events);
    }

    [Fact]
    public async Task A_body_that_ends_cleanly_without_a_finish_reason_is_an_interrupted_stream_and_is_continued()
    {
        await using var rig = new ProviderRig("gemini", F("cut_stream.sse"), F("text.sse"));

        var outcome = await rig.RunAsync("Tell me", Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        var continuation = Assert.Single(rig.Host.Of<LlmContinuationEvent>());
        Assert.Contains("without a candidate's finishReason", continuation.Reason);
        Assert.Equal(["User:Tell me", "Assistant:Hello, World!"], Texts(rig.State.History)); // the cut text never completed
        Assert.Equal(2, rig.Requests.Count);
    }

    [Fact]
    public async Task A_function_call_of_a_cut_stream_is_never_executed()
    {
        await using var rig = new ProviderRig("gemini", F("cut_function_call.sse"), F("text.sse"));
        var read = new FakeTool("Read");

        var outcome = await rig.RunAsync("Read it", Ct, read);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Empty(read.Calls);
        Assert.Single(rig.Host.Of<LlmContinuationEvent>());
        Assert.Equal(["User:Read it", "Assistant:Hello, World!"], Texts(rig.State.History));
    }

    [Fact]
    public async Task A_body_cut_inside_a_frame_is_continued()
    {
        await using var rig = new ProviderRig("gemini", F("broken_midstream.sse"), F("text.sse"));

        var outcome = await rig.RunAsync("Tell me", Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Single(rig.Host.Of<LlmContinuationEvent>());
        Assert.Equal(new TextDeltaEvent("Part"), rig.Host.Of<TextDeltaEvent>()[0]);
        Assert.Equal(["User:Tell me", "Assistant:Hello, World!"], Texts(rig.State.History));
    }

    [Fact]
    public async Task An_error_inside_the_stream_fails_the_run_with_its_status_and_message()
    {
        await using var rig = new ProviderRig("gemini", F("error_event.sse"), F("text.sse"));

        var outcome = await rig.RunAsync("hi", Ct);

        Assert.StartsWith("Client error: API error [INTERNAL]: An internal error has occurred.", outcome.Error!.Display);
        Assert.Equal(["User:hi"], Texts(rig.State.History));
        Assert.Single(rig.Requests); // not retried, not continued
    }

    [Fact]
    public async Task A_blocked_prompt_fails_the_run_naming_the_block_reason()
    {
        await using var rig = new ProviderRig("gemini", F("prompt_blocked.sse"));

        var outcome = await rig.RunAsync("hi", Ct);

        Assert.Equal("Client error: API error [PROHIBITED_CONTENT]: prompt blocked by the provider (PROHIBITED_CONTENT)", outcome.Error!.Display);
        Assert.Single(rig.Requests);
    }

    [Fact]
    public async Task Status_429_with_Retry_After_is_retried_with_the_status_name_as_code()
    {
        await using var rig = new ProviderRig("gemini", F("error_429.json", new Dictionary<string, string> { ["Retry-After"] = "5" }), F("text.sse"));

        var outcome = await rig.RunAsync("hi", Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        var retry = Assert.Single(rig.Host.Of<LlmRetryEvent>());
        Assert.Equal((ushort?)429, retry.Status);
        Assert.Equal("API error [RESOURCE_EXHAUSTED]: Resource has been exhausted (e.g. check quota).", retry.Error);
        Assert.Equal([TimeSpan.FromSeconds(5)], rig.Delays);
        Assert.Equal(rig.Requests[0].Body, rig.Requests[1].Body);
    }

    [Fact]
    public async Task Status_503_is_retried_and_400_is_not()
    {
        await using var rig = new ProviderRig("gemini", F("error_503.json"), F("text.sse"));
        Assert.Equal(EngineResult.Finished, (await rig.RunAsync("hi", Ct)).Result);
        Assert.Equal("API error [UNAVAILABLE]: The model is overloaded. Please try again later.", rig.Host.Of<LlmRetryEvent>().Single().Error);

        await using var rig2 = new ProviderRig("gemini", F("error_400.json"), F("text.sse"));
        var outcome = await rig2.RunAsync("hi", Ct);
        Assert.Equal("Client error: API error [INVALID_ARGUMENT]: API key not valid. Please pass a valid API key.", outcome.Error!.Display);
        Assert.Single(rig2.Requests);
    }

    [Fact]
    public void Images_go_as_inline_data_for_a_vision_model_and_as_a_note_otherwise()
    {
        HistoryItem[] items =
        [
            MessageItem.Text(Role.User, "look"),
            new ToolCallItem("call_Read", "Read", "{\"file_path\":\"a.png\"}"),
            new ToolResultItem("call_Read", "read image", Attachments: [new ImageAttachment("image/png", "iVBORw0KGgo=")]),
        ];

        var vision = GeminiClient.BuildContents(items, vision: true);
        Assert.Equal("""{"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="}}""", J.Compact(vision[2]!["parts"]![1]));

        var blind = GeminiClient.BuildContents(items, vision: false);
        Assert.Equal("""{"text":"[1 image attachment(s) omitted: model does not support images]"}""", J.Compact(blind[2]!["parts"]![1]));
    }

    [Fact]
    public void A_base_url_that_names_an_api_version_is_used_as_is_and_a_models_prefix_is_dropped()
    {
        var client = new GeminiClient(new ProviderSettings("gemini", "models/gemini-2.5-pro", new Uri("https://proxy.example/google/v1beta/")));
        Assert.Equal("https://proxy.example/google/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse", client.Endpoint.ToString());
    }
}
