using System.Text.Json;
using Yoi.Actors.Engine;
using Yoi.Actors.Providers;
using Yoi.Actors.Tests.Providers;
using Yoi.Messages;

namespace Yoi.Actors.Tests.Worker;

/// <summary>Spec README items 8 and 10, black-box through a real Worker on the single-node fixture, with the real
/// <c>openai_chat</c> HTTP client against the loopback stub: a tool-call stream cut cleanly between two events does
/// not run the tool (the call is continued), and a <c>length</c> stop reaches clients as a warn alert with the stop
/// reason in the journal.</summary>
[Collection(WorkerNodeCollection.Name)]
public sealed class WorkerStreamIntegrityTests(WorkerNodeFixture node)
{
    private sealed class CountingTool() : FakeTool("Read")
    {
        protected override Task<ToolOutput> Run(JsonElement input, CancellationToken ct) => Task.FromResult(new ToolOutput("read ok"));
    }

    private static HttpModelClient Chat(StubLlmServer server) =>
        new OpenAIChatClient(new ProviderSettings("openai_chat", "gpt-4o-mini", server.BaseUrl, "sk-test-key-0001"));

    [Fact]
    public async Task A_tool_call_stream_cut_between_events_does_not_run_the_tool_and_is_continued()
    {
        var full = Fixtures.Read("openai-chat/parallel_tool_calls.sse");
        // both calls complete on the wire, only the finish_reason chunk (the terminal signal) and what follows are missing
        var cut = full[..full.IndexOf("data: {\"id\":\"chatcmpl-9xYz01\",\"object\":\"chat.completion.chunk\",\"created\":1764000000,\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_0a1b2c\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"tool_calls\"", StringComparison.Ordinal)];
        Assert.EndsWith("\n\n", cut);
        await using var server = new StubLlmServer(new StubResponse.Sse(cut), StubResponse.FromFixture("openai-chat/text.sse"));
        var tool = new CountingTool();
        var (client, _) = await node.StartAsync("stream-cut-1", Chat(server), [tool]);
        await using var _c = client;

        client.Run("compare a and b");
        var seen = await client.UntilStatusAsync(WorkerStatus.Idle);

        Assert.Equal(0, tool.Calls);
        var continuation = Assert.Single(seen.OfType<LlmContinuationEvent>());
        Assert.Contains("finish_reason", continuation.Reason);
        Assert.Contains(new RunEndEvent(RunResult.Finished), seen);
        Assert.Equal(2, server.Requests.Count);
        var journal = string.Join("\n", node.Journal("stream-cut-1").Select(r => r.Json));
        Assert.DoesNotContain("call_A1", journal);
        Assert.DoesNotContain("call_B2", journal);
        Assert.Contains("Hello, World!", journal);
    }

    [Fact]
    public async Task A_length_stop_raises_a_warn_alert_and_the_journal_keeps_the_stop_reason()
    {
        await using var server = new StubLlmServer(StubResponse.FromFixture("openai-chat/length.sse"));
        var (client, _) = await node.StartAsync("stream-length-1", Chat(server), [new CountingTool()]);
        await using var _c = client;

        client.Run("a long answer please");
        var seen = await client.UntilStatusAsync(WorkerStatus.Idle);

        var alert = Assert.Single(seen.OfType<AlertEvent>(), a => a.Message.Contains("output token limit"));
        Assert.Equal((AlertLevel.Warn, AlertSource.Engine), (alert.Level, alert.Source));
        Assert.Contains("stop reason \"length\"", alert.Message);
        Assert.Contains(new RunEndEvent(RunResult.Finished), seen);
        var assistant = node.Journal("stream-length-1").Select(r => r.Json).Single(j => j.Contains("This answer is cut"));
        Assert.Contains("\"stop_reason\":\"max_tokens\"", assistant);
    }
}
