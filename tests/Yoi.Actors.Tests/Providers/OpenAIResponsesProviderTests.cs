using System.Text.Json.Nodes;
using Yoi.Actors.Engine;
using Yoi.Actors.Providers;
using Yoi.Actors.Tests.Engine;
using Yoi.Messages;
using static Yoi.Actors.Tests.Engine.Kit;
using Resp = Yoi.Actors.Tests.Providers.StubResponse;

namespace Yoi.Actors.Tests.Providers;

/// <summary>The <c>openai_responses</c> client against a loopback stub (the shared text fixture plus variants).</summary>
public sealed class OpenAIResponsesProviderTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Frame(string json)
    {
        var type = (string)JsonNode.Parse(json)!["type"]!;
        return $"event: {type}\ndata: {json}\n\n";
    }

    /// <summary>Reasoning (summary + encrypted content), then a function call whose arguments arrive in fragments.</summary>
    private static readonly string ReasoningAndToolCall = string.Concat(
        Frame("""{"type":"response.created","sequence_number":0,"response":{"id":"resp_02","object":"response","status":"in_progress","output":[]}}"""),
        Frame("""{"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"rs_01","type":"reasoning","summary":[]}}"""),
        Frame("""{"type":"response.reasoning_summary_text.delta","sequence_number":2,"item_id":"rs_01","output_index":0,"summary_index":0,"delta":"Need the "}"""),
        Frame("""{"type":"response.reasoning_summary_text.delta","sequence_number":3,"item_id":"rs_01","output_index":0,"summary_index":0,"delta":"file."}"""),
        Frame("""{"type":"response.output_item.done","sequence_number":4,"output_index":0,"item":{"id":"rs_01","type":"reasoning","summary":[{"type":"summary_text","text":"Need the file."}],"encrypted_content":"gAAAAB-ENCRYPTED=="}}"""),
        Frame("""{"type":"response.output_item.added","sequence_number":5,"output_index":1,"item":{"id":"fc_01","type":"function_call","status":"in_progress","call_id":"call_R1","name":"Read","arguments":""}}"""),
        Frame("""{"type":"response.function_call_arguments.delta","sequence_number":6,"item_id":"fc_01","output_index":1,"delta":"{\"file_path\":"}"""),
        Frame("""{"type":"response.function_call_arguments.delta","sequence_number":7,"item_id":"fc_01","output_index":1,"delta":"\"README.md\"}"}"""),
        Frame("""{"type":"response.output_item.done","sequence_number":8,"output_index":1,"item":{"id":"fc_01","type":"function_call","status":"completed","call_id":"call_R1","name":"Read","arguments":"{\"file_path\":\"README.md\"}"}}"""),
        Frame("""{"type":"response.completed","sequence_number":9,"response":{"id":"resp_02","object":"response","status":"completed","usage":{"input_tokens":50,"input_tokens_details":{"cached_tokens":32},"output_tokens":20,"total_tokens":70}}}"""));

    [Fact]
    public async Task Text_stream_and_the_stateless_request_shape()
    {
        await using var rig = new ProviderRig("openai_responses", Resp.FromFixture("openai-responses/text.sse"));

        var outcome = await rig.RunAsync("Greet me", Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal(["User:Greet me", "Assistant:Hello, World!"], Texts(rig.State.History));
        Assert.Equal([new UsageEvent(24, 4, 0)], rig.Host.Of<UsageEvent>());
        var request = Assert.Single(rig.Requests);
        Assert.Equal("/v1/responses", request.Path);
        Assert.Equal("Bearer " + ProviderRig.Key, request.Header("Authorization"));
        var body = request.Json;
        Assert.Equal("You are a test.", (string?)body["instructions"]);
        Assert.False((bool)body["store"]!);
        Assert.True((bool)body["stream"]!);
        Assert.Equal("""["reasoning.encrypted_content"]""", J.Compact(body["include"]));
        Assert.Equal("cache-key", (string?)body["prompt_cache_key"]);
        Assert.Equal("""[{"type":"message","role":"user","content":[{"type":"input_text","text":"Greet me"}]}]""", J.Compact(body["input"]));
    }

    [Fact]
    public async Task Reasoning_encrypted_content_and_the_function_call_round_trip_in_the_next_request()
    {
        await using var rig = new ProviderRig("openai_responses", new Resp.Sse(ReasoningAndToolCall),
            Resp.FromFixture("openai-responses/text.sse"));
        var read = FakeTool.Returning("Read", new ToolOutput("read README.md", "# Title"));

        var outcome = await rig.RunAsync("Read it", Ct, read);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal(["{\"file_path\":\"README.md\"}"], read.Calls.Select(c => c.Input));
        Assert.Equal(["Need the ", "file."], rig.Host.Of<ThinkingDeltaEvent>().Select(e => e.Text));
        Assert.Equal([new UsageEvent(50, 20, 32), new UsageEvent(24, 4, 0)], rig.Host.Of<UsageEvent>());
        var reasoning = Assert.IsType<ReasoningItem>(rig.State.History[1]);
        Assert.Equal(("Need the file.", "gAAAAB-ENCRYPTED=="), (reasoning.Text, reasoning.EncryptedContent));
        Assert.Equal(["Need the file."], reasoning.Summary!);

        var body = rig.Requests[1].Json;
        Assert.Equal(
            """[{"type":"message","role":"user","content":[{"type":"input_text","text":"Read it"}]},""" +
            """{"type":"reasoning","summary":[{"type":"summary_text","text":"Need the file."}],"encrypted_content":"gAAAAB-ENCRYPTED=="},""" +
            """{"type":"function_call","call_id":"call_R1","name":"Read","arguments":"{\"file_path\":\"README.md\"}"},""" +
            """{"type":"function_call_output","call_id":"call_R1","output":"read README.md\n# Title"}]""",
            J.Compact(body["input"]));
        Assert.Equal(
            """[{"type":"function","name":"Read","description":"the Read tool","parameters":{"type":"object","properties":{}},"strict":false}]""",
            J.Compact(body["tools"]));
        Assert.Equal("auto", (string?)body["tool_choice"]);
        Assert.True((bool)body["parallel_tool_calls"]!);
    }

    [Theory]
    [InlineData("""{"type":"response.failed","response":{"id":"r","status":"failed","error":{"code":"server_error","message":"boom"}}}""",
        "Client error: API error [server_error]: boom")]
    // response.incomplete no longer fails the run (spec README item 10): see StreamCompletenessTests.
    [InlineData("""{"type":"error","code":"rate_limit_exceeded","message":"slow down","param":null}""",
        "Client error: API error [rate_limit_exceeded]: slow down")]
    public async Task Failed_and_error_events_fail_the_run(string frame, string display)
    {
        var text = Fixtures.Read("openai-responses/text.sse");
        var body = text[..text.IndexOf("event: response.output_text.done", StringComparison.Ordinal)] + Frame(frame);
        await using var rig = new ProviderRig("openai_responses", new Resp.Sse(body));

        var outcome = await rig.RunAsync("hi", Ct);

        Assert.Equal(display, outcome.Error!.Display);
        Assert.Equal(["User:hi"], Texts(rig.State.History));
        Assert.Single(rig.Requests);
    }

    [Fact]
    public void System_items_go_as_developer_messages_and_reasoning_without_summary_sends_its_text()
    {
        var input = OpenAIResponsesClient.BuildInput(
        [
            MessageItem.Text(Role.System, "note"),
            new ReasoningItem("raw chain"),
            MessageItem.Text(Role.Assistant, "answer"),
        ]);
        Assert.Equal(
            """[{"type":"message","role":"developer","content":[{"type":"input_text","text":"note"}]},""" +
            """{"type":"reasoning","summary":[],"content":[{"type":"reasoning_text","text":"raw chain"}]},""" +
            """{"type":"message","role":"assistant","content":[{"type":"output_text","text":"answer"}]}]""",
            J.Compact(input));
    }
}
