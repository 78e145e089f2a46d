using System.Text.Json.Nodes;
using Yoi.Actors.Engine;
using Yoi.Actors.Tests.Engine;
using Yoi.Messages;
using static Yoi.Actors.Tests.Engine.Kit;
using Resp = Yoi.Actors.Tests.Providers.StubResponse;

namespace Yoi.Actors.Tests.Providers;

/// <summary>The <c>openai_chat</c> client against a loopback stub serving ../shared/fixtures/openai-chat.</summary>
public sealed class OpenAIChatProviderTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Resp F(string name, IReadOnlyDictionary<string, string>? headers = null) =>
        Resp.FromFixture("openai-chat/" + name, headers);

    [Fact]
    public async Task Text_stream_becomes_one_assistant_message_with_usage_and_the_request_is_chat_completions()
    {
        await using var rig = new ProviderRig("openai_chat", F("text.sse"));

        var outcome = await rig.RunAsync("Greet me", Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal(["User:Greet me", "Assistant:Hello, World!"], Texts(rig.State.History));
        Assert.Equal(["Hello", ", ", "World!"], rig.Host.Of<TextDeltaEvent>().Select(e => e.Text));
        Assert.Equal([new UsageEvent(24, 4, 0)], rig.Host.Of<UsageEvent>());
        Assert.Single(outcome.Usage);
        Assert.Equal((24UL, 4UL), (outcome.Usage[0].InputTotalTokens, outcome.Usage[0].OutputTokens));

        var request = Assert.Single(rig.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/v1/chat/completions", request.Path);
        Assert.Equal("Bearer " + ProviderRig.Key, request.Header("Authorization"));
        Assert.Equal("text/event-stream", request.Header("Accept"));
        var body = request.Json;
        Assert.Equal("gpt-4o-mini", (string?)body["model"]);
        Assert.True((bool)body["stream"]!);
        Assert.True((bool)body["stream_options"]!["include_usage"]!);
        Assert.Equal(["system", "user"], J.Roles(body["messages"]));
        Assert.Equal("You are a test.", (string?)body["messages"]![0]!["content"]);
        Assert.Equal("Greet me", (string?)body["messages"]![1]!["content"]);
    }

    [Fact]
    public async Task Fragmented_tool_call_is_assembled_executed_and_sent_back_as_assistant_tool_calls_then_a_tool_message()
    {
        await using var rig = new ProviderRig("openai_chat", F("tool_call.sse"), F("text.sse"));
        var read = FakeTool.Returning("Read", new ToolOutput("read 1 file", "# README"));

        var outcome = await rig.RunAsync("Read the readme", Ct, read);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal(["{\"file_path\":\"README.md\"}"], read.Calls.Select(c => c.Input));
        Assert.Equal(new ToolCallStartEvent("call_Rd8mQ2", "Read"), rig.Host.Of<ToolCallStartEvent>().Single());
        Assert.Equal(["{\"file_", "path\": \"REA", "DME.md\"}"], rig.Host.Of<ToolCallArgsDeltaEvent>().Select(e => e.Json));
        Assert.Equal(new ToolCallDoneEvent("call_Rd8mQ2", "Read", "{\"file_path\":\"README.md\"}"), rig.Host.Of<ToolCallDoneEvent>().Single());
        Assert.Equal(
            ["User:Read the readme", "call:call_Rd8mQ2:Read:{\"file_path\":\"README.md\"}", "result:call_Rd8mQ2:read 1 file", "Assistant:Hello, World!"],
            Texts(rig.State.History));
        Assert.Equal(2, rig.Host.Of<UsageEvent>().Count); // one per LLM call
        Assert.Equal(2, outcome.Usage.Count);

        var second = rig.Requests[1].Json;
        var messages = J.Arr(second["messages"]);
        Assert.Equal(["system", "user", "assistant", "tool"], J.Roles(messages));
        Assert.Null(messages[2]!["content"]);
        Assert.Equal(
            """[{"id":"call_Rd8mQ2","type":"function","function":{"name":"Read","arguments":"{\"file_path\":\"README.md\"}"}}]""",
            J.Compact(messages[2]!["tool_calls"]));
        Assert.Equal("call_Rd8mQ2", (string?)messages[3]!["tool_call_id"]);
        Assert.Equal("read 1 file\n# README", (string?)messages[3]!["content"]);
        // the tool definition went out with an object schema
        Assert.Equal("Read", (string?)second["tools"]![0]!["function"]!["name"]);
        Assert.Equal("function", (string?)second["tools"]![0]!["type"]);
    }

    [Fact]
    public async Task Parallel_tool_calls_are_one_batch_and_one_assistant_message_with_the_text()
    {
        await using var rig = new ProviderRig("openai_chat", F("parallel_tool_calls.sse"), F("text.sse"));
        var read = new FakeTool("Read");

        var outcome = await rig.RunAsync("Compare a and b", Ct, read);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal(
            ["User:Compare a and b", "Assistant:Checking both files.", "call:call_A1:Read:{\"file_path\":\"a.txt\"}",
             "call:call_B2:Read:{\"file_path\":\"b.txt\"}", "result:call_A1:Read ok", "result:call_B2:Read ok", "Assistant:Hello, World!"],
            Texts(rig.State.History));
        Assert.Equal(["tool-batch-0", "tool-batch-0"], read.Calls.Select(c => c.Context.BatchId));

        var messages = J.Arr(rig.Requests[1].Json["messages"]);
        Assert.Equal(["system", "user", "assistant", "tool", "tool"], J.Roles(messages));
        Assert.Equal("Checking both files.", (string?)messages[2]!["content"]);
        Assert.Equal(["call_A1", "call_B2"], J.Arr(messages[2]!["tool_calls"]).Select(c => (string)c!["id"]!));
        Assert.Equal(["call_A1", "call_B2"], messages.Skip(3).Select(m => (string)m!["tool_call_id"]!));
    }

    [Fact]
    public async Task Status_429_with_Retry_After_waits_that_long_then_the_identical_request_succeeds()
    {
        await using var rig = new ProviderRig("openai_chat",
            F("error_429.json", new Dictionary<string, string> { ["Retry-After"] = "7" }), F("text.sse"));

        var outcome = await rig.RunAsync("hi", Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        var retry = Assert.Single(rig.Host.Of<LlmRetryEvent>());
        Assert.Equal((0UL, 1U, 4U, 7000UL, (ushort?)429), (retry.LlmCall, retry.FailedAttempt, retry.MaxAttempts, retry.WaitMs, retry.Status));
        Assert.StartsWith("API error [rate_limit_exceeded]: Rate limit reached for gpt-4o-mini", retry.Error);
        Assert.Equal([TimeSpan.FromSeconds(7)], rig.Delays);
        Assert.Equal(2, rig.Requests.Count);
        Assert.Equal(rig.Requests[0].Body, rig.Requests[1].Body);
        Assert.Single(rig.Host.Of<LlmCallStartEvent>()); // retries are not new LLM calls
        Assert.Equal(["User:hi", "Assistant:Hello, World!"], Texts(rig.State.History));
    }

    [Fact]
    public async Task Status_503_four_times_fails_the_run_after_three_retry_notices()
    {
        await using var rig = new ProviderRig("openai_chat",
            new Resp.Error(503, """{"error":{"message":"The server is overloaded","type":"server_error","code":null}}"""));

        var outcome = await rig.RunAsync("hi", Ct);

        Assert.Null(outcome.Result);
        Assert.Equal(EngineErrorKind.Client, outcome.Error!.Kind);
        Assert.Equal(503, outcome.Error.Status);
        Assert.Equal("Client error: API error [server_error]: The server is overloaded", outcome.Error.Display);
        Assert.Equal([1U, 2U, 3U], rig.Host.Of<LlmRetryEvent>().Select(r => r.FailedAttempt));
        Assert.All(rig.Host.Of<LlmRetryEvent>(), r => Assert.Equal((ushort?)503, r.Status));
        Assert.Equal(4, rig.Requests.Count);
        Assert.Equal(["User:hi"], Texts(rig.State.History));
    }

    [Fact]
    public async Task Status_400_is_not_retried_and_the_error_carries_code_and_message()
    {
        await using var rig = new ProviderRig("openai_chat", F("error_400_context_length.json"), F("text.sse"));

        var outcome = await rig.RunAsync("hi", Ct);

        Assert.Equal(400, outcome.Error!.Status);
        Assert.StartsWith("Client error: API error [context_length_exceeded]: This model's maximum context length is 128000 tokens.",
            outcome.Error.Display);
        Assert.Empty(rig.Host.Of<LlmRetryEvent>());
        Assert.Single(rig.Requests);
    }

    [Fact]
    public async Task Non_json_error_body_is_the_message_and_a_missing_body_names_the_status()
    {
        await using var rig = new ProviderRig("openai_chat", new Resp.Error(404, "no such route"));
        var outcome = await rig.RunAsync("hi", Ct);
        Assert.Equal("Client error: no such route", outcome.Error!.Display);

        await using var rig2 = new ProviderRig("openai_chat", new Resp.Error(401, ""));
        var outcome2 = await rig2.RunAsync("hi", Ct);
        Assert.Equal("Client error: HTTP 401 Status", outcome2.Error!.Display);
        Assert.Single(rig2.Requests);
    }

    [Fact]
    public async Task Connection_cut_inside_a_frame_is_continued()
    {
        await using var rig = new ProviderRig("openai_chat", F("broken_midstream.sse"), F("text.sse"));

        var outcome = await rig.RunAsync("Tell me", Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        var continuation = Assert.Single(rig.Host.Of<LlmContinuationEvent>());
        Assert.Equal((0UL, 1U, 3U), (continuation.LlmCall, continuation.Attempt, continuation.MaxAttempts));
        Assert.Contains("inside an SSE frame", continuation.Reason);
        Assert.Equal(new TextDeltaEvent("Part"), rig.Host.Of<TextDeltaEvent>()[0]); // streamed live before the cut
        // the cut text block never completed: the engine drops it (only completed blocks survive a break)
        Assert.Equal(["User:Tell me", "Assistant:Hello, World!"], Texts(rig.State.History));
        Assert.Single(rig.Host.Of<TurnStartEvent>()); // a continuation is not a new turn
        Assert.Equal(2, rig.Host.Of<LlmCallStartEvent>().Count);
        Assert.Equal(["system", "user"], J.Roles(rig.Requests[1].Json["messages"]));
    }

    [Fact]
    public async Task Transport_abort_mid_stream_is_continued_too()
    {
        var partial = Fixtures.Read("openai-chat/text.sse").Split("\n\n")[..2];
        await using var rig = new ProviderRig("openai_chat", new Resp.ChunkedAbort(string.Join("\n\n", partial) + "\n\n"), F("text.sse"));

        var outcome = await rig.RunAsync("Tell me", Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        var continuation = Assert.Single(rig.Host.Of<LlmContinuationEvent>());
        Assert.StartsWith("stream interrupted:", continuation.Reason);
        Assert.Equal(["User:Tell me", "Assistant:Hello, World!"], Texts(rig.State.History));
    }

    [Fact]
    public async Task Four_consecutive_breaks_fail_after_three_continuations()
    {
        await using var rig = new ProviderRig("openai_chat", F("broken_midstream.sse"));

        var outcome = await rig.RunAsync("Tell me", Ct);

        Assert.Equal(4, rig.Requests.Count);
        Assert.Equal([1U, 2U, 3U], rig.Host.Of<LlmContinuationEvent>().Select(c => c.Attempt));
        Assert.StartsWith("Client error: LLM stream interrupted too many times: stream interrupted", outcome.Error!.Display);
    }

    [Fact]
    public async Task Finish_reason_length_ends_the_text_block_without_continuation()
    {
        await using var rig = new ProviderRig("openai_chat", F("length.sse"));

        var outcome = await rig.RunAsync("Write a lot", Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal(["User:Write a lot", "Assistant:This answer is cut"], Texts(rig.State.History));
        Assert.Empty(rig.Host.Of<LlmContinuationEvent>());
        Assert.Single(rig.Requests);
        Assert.Equal([new UsageEvent(30, 5, 0)], rig.Host.Of<UsageEvent>());
    }

    [Fact]
    public async Task Length_chunk_maps_to_a_max_tokens_stop_on_the_text_block()
    {
        var mapper = new Yoi.Actors.Providers.OpenAIChatClient.Mapper();
        var events = Fixtures.Read("openai-chat/length.sse").Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(f => mapper.Map(null, f["data: ".Length..])).ToList();
        Assert.Contains(new BlockStop(0, BlockType.Text, StopReason.MaxTokens), events);
    }

    [Fact]
    public async Task Provider_error_chunk_fails_the_run_and_discards_the_partial_output()
    {
        var body = string.Join("\n\n", Fixtures.Read("openai-chat/text.sse").Split("\n\n")[..2])
                   + "\n\ndata: {\"error\":{\"message\":\"upstream overloaded\",\"code\":502}}\n\n";
        await using var rig = new ProviderRig("openai_chat", new Resp.Sse(body));

        var outcome = await rig.RunAsync("hi", Ct);

        Assert.Equal("Client error: API error [502]: upstream overloaded", outcome.Error!.Display);
        Assert.Null(outcome.Error.Status);
        Assert.Equal(["User:hi"], Texts(rig.State.History));
        Assert.Empty(rig.Host.Commits);
        Assert.Single(rig.Requests); // not retried, not continued
    }

    [Fact]
    public async Task Cancel_mid_stream_returns_cancelled_and_nothing_of_the_stream_reaches_history()
    {
        var prefix = string.Join("\n\n", Fixtures.Read("openai-chat/parallel_tool_calls.sse").Split("\n\n")[..3]) + "\n\n";
        await using var rig = new ProviderRig("openai_chat", new Resp.Hang(prefix));
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        rig.Host.OnPublish = e =>
        {
            if (e is ToolCallArgsDeltaEvent) cts.Cancel();
        };

        var outcome = await rig.RunAsync("hi", cts.Token, new FakeTool("Read"));

        Assert.Equal(EngineErrorKind.Cancelled, outcome.Error!.Kind);
        Assert.True(rig.State.LastRunInterrupted);
        Assert.Equal(["User:hi"], Texts(rig.State.History));
        Assert.Empty(rig.Host.Commits);
        Assert.Contains(new TextDeltaEvent("Checking both files."), rig.Host.Events);
        Assert.Empty(rig.Host.Of<TextDoneEvent>());
    }

    [Fact]
    public async Task Connection_refused_is_a_retryable_open_failure()
    {
        int port;
        await using (var s = new StubLlmServer()) port = s.BaseUrl.Port; // a free port, closed again
        var client = new Yoi.Actors.Providers.OpenAIChatClient(new("openai_chat", "m", new Uri($"http://127.0.0.1:{port}"), ProviderRig.Key));
        var host = new FakeHost();
        var engine = new TurnEngine(client, [], Settings(), host, new EngineState()) { Delay = (_, _) => Task.CompletedTask };

        var outcome = await engine.RunAsync(User("hi"), Ct);

        Assert.Equal(3, host.Of<LlmRetryEvent>().Count);
        Assert.Null(host.Of<LlmRetryEvent>()[0].Status);
        Assert.StartsWith("Client error: connection error:", outcome.Error!.Display);
    }
}
