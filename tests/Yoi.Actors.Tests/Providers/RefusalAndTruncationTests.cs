using Yoi.Actors.Engine;
using Yoi.Actors.Tests.Engine;
using Yoi.Messages;
using Yoi.Messages.Json;
using static Yoi.Actors.Tests.Engine.Kit;
using Resp = Yoi.Actors.Tests.Providers.StubResponse;

namespace Yoi.Actors.Tests.Providers;

/// <summary>Spec README item 10 through the real clients and the loopback stub: refusals are assistant text; a
/// token-limit stop keeps the reference's control flow but raises a warn alert naming the limit, and the stop reason
/// is kept on the committed item (an ordinary end writes no field).</summary>
public sealed class RefusalAndTruncationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Json(HistoryItem item) => YoiJson.Serialize(item);

    [Fact]
    public async Task Openai_chat_refusal_deltas_become_the_assistant_message()
    {
        await using var rig = new ProviderRig("openai_chat", new Resp.Sse(WireStreams.ChatRefusal));

        var outcome = await rig.RunAsync("do something bad", Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal(["User:do something bad", "Assistant:I'm sorry, I can't assist with that."], Texts(rig.State.History));
        Assert.Empty(rig.Host.Warnings);
    }

    [Fact]
    public async Task Openai_responses_refusal_deltas_become_the_assistant_message()
    {
        await using var rig = new ProviderRig("openai_responses", new Resp.Sse(WireStreams.ResponsesRefusalDeltas));

        var outcome = await rig.RunAsync("do something bad", Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal(["User:do something bad", "Assistant:I can't help with that."], Texts(rig.State.History));
    }

    [Fact]
    public async Task Openai_responses_refusal_part_without_deltas_becomes_the_assistant_message()
    {
        await using var rig = new ProviderRig("openai_responses", new Resp.Sse(WireStreams.ResponsesRefusalPart));

        var outcome = await rig.RunAsync("do something bad", Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal(["User:do something bad", "Assistant:I can't help with that."], Texts(rig.State.History));
    }

    [Fact]
    public async Task Openai_chat_length_stop_is_committed_with_its_stop_reason_and_a_warning_naming_the_limit()
    {
        await using var rig = new ProviderRig("openai_chat", Resp.FromFixture("openai-chat/length.sse"));

        var outcome = await rig.RunAsync("long answer please", Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result); // the reference's control flow: no continuation, no error
        var message = Assert.IsType<MessageItem>(rig.State.History[^1]);
        Assert.Equal("This answer is cut", message.PlainText);
        Assert.Equal("max_tokens", message.StopReason);
        Assert.Contains("\"stop_reason\":\"max_tokens\"", Json(message));
        var warning = Assert.Single(rig.Host.Warnings);
        Assert.Contains("output token limit", warning);
        Assert.Contains("the provider's default max_tokens", warning); // no [engine] max_tokens configured
        Assert.Contains("stop reason \"length\"", warning);
    }

    [Fact]
    public async Task Anthropic_max_tokens_inside_a_tool_call_keeps_the_text_refuses_the_cut_call_and_warns_with_the_4096_default()
    {
        await using var rig = new ProviderRig("anthropic", new Resp.Sse(WireStreams.AnthropicMaxTokensInToolUse),
            Resp.FromFixture("anthropic/text.sse"));
        var read = new FakeTool("Read");

        var outcome = await rig.RunAsync("read it", Ct, read);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Empty(read.Calls); // never run with invented arguments
        var call = Assert.Single(rig.State.History.OfType<ToolCallItem>());
        Assert.Equal("{\"file_path\": \"REA", call.Arguments); // as sent
        Assert.Equal("max_tokens", call.StopReason); // the last item of the truncated response
        var message = rig.State.History.OfType<MessageItem>().Single(m => m.PlainText == "Writing the file.");
        Assert.Null(message.StopReason);
        var result = Assert.Single(rig.State.History.OfType<ToolResultItem>());
        Assert.True(result.IsError);
        Assert.StartsWith("Tool execution failed: Invalid argument: arguments are not valid JSON: ", result.Summary);
        var warning = Assert.Single(rig.Host.Warnings);
        Assert.Contains("max_tokens = 4096", warning);
        Assert.Contains("stop reason \"max_tokens\"", warning);
        // the model got the error result and answered
        Assert.Equal(2, rig.Requests.Count);
        Assert.Contains("arguments are not valid JSON", rig.Requests[1].Body);
    }

    [Fact]
    public async Task Openai_responses_incomplete_for_max_output_tokens_is_committed_with_a_warning_not_failed()
    {
        await using var rig = new ProviderRig("openai_responses", new Resp.Sse(WireStreams.ResponsesIncomplete));
        var engine = new TurnEngine(rig.Client, [], Settings() with { Config = RequestConfig.Default with { MaxTokens = 5 } },
            rig.Host, rig.State);

        var outcome = await engine.RunAsync(User("long answer please"), Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        var message = Assert.IsType<MessageItem>(rig.State.History[^1]);
        Assert.Equal(("This answer is cut", "max_tokens"), (message.PlainText, message.StopReason));
        var warning = Assert.Single(rig.Host.Warnings);
        Assert.Contains("max_tokens = 5", warning);
        Assert.Contains("stop reason \"max_output_tokens\"", warning);
        Assert.Equal(5, (int)rig.Requests[0].Json["max_output_tokens"]!);
    }

    [Fact]
    public async Task An_ordinary_end_writes_no_stop_reason_and_raises_no_warning()
    {
        await using var rig = new ProviderRig("anthropic", Resp.FromFixture("anthropic/text.sse"));

        await rig.RunAsync("hi", Ct);

        var message = Assert.IsType<MessageItem>(rig.State.History[^1]);
        Assert.Null(message.StopReason);
        Assert.DoesNotContain("stop_reason", Json(message));
        Assert.Empty(rig.Host.Warnings);
    }

    [Fact]
    public void Items_written_before_the_field_existed_read_back_without_a_stop_reason_and_round_trip()
    {
        var old = YoiJson.Deserialize<HistoryItem>("""{"kind":"message","role":"assistant","content":[{"kind":"text","text":"hi"}]}""");
        Assert.Null(Assert.IsType<MessageItem>(old).StopReason);
        var cut = new ToolCallItem("c1", "Read", "{\"a\":") { StopReason = "max_tokens" };
        var json = YoiJson.Serialize<HistoryItem>(cut);
        Assert.Equal("""{"kind":"tool_call","call_id":"c1","name":"Read","arguments":"{\"a\":","stop_reason":"max_tokens"}""", json);
        Assert.Equal(cut, YoiJson.Deserialize<HistoryItem>(json));
    }
}
