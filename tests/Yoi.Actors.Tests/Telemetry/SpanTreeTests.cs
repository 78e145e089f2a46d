using System.Diagnostics;
using System.Text.Json;
using Yoi.Actors.Engine;
using Yoi.Actors.Engine.Scripted;
using Yoi.Actors.Telemetry;
using Yoi.Actors.Tests.Delegation;
using Yoi.Actors.Tests.Worker;
using Yoi.Messages;
using static Yoi.Actors.Tests.Worker.Kit;
using F = Yoi.Actors.Tests.Delegation.DelegationNodeFixture;

namespace Yoi.Actors.Tests.Telemetry;

/// <summary>The span tree of a run (OpenTelemetry GenAI conventions) on a real node: invoke_agent → chat / execute_tool,
/// and a delegated child's run under the SpawnWorker execute_tool span.</summary>
[Collection(DelegationNodeCollection.Name)]
public sealed class SpanTreeTests(DelegationNodeFixture node)
{
    private static ScriptToolCall Call(string id, string tool, object input) => new(id, tool, JsonSerializer.Serialize(input));

    [Fact]
    public async Task A_run_with_a_tool_call_and_a_spawned_child_produces_the_genai_span_tree()
    {
        using var capture = new TraceCapture("otel-tree");
        var ws = node.Workspace("otel-tree");
        node.Models["otel-tree/c1"] = Script(Resp(new ScriptUsage(11, 3), new ScriptText("child done")));
        var parentModel = Script(
            Resp(new ScriptEvent(new StreamResponse("resp-1", "scripted-model-v1")), new ScriptUsage(120, 7),
                Call("g1", "Glob", new { pattern = "*.none" }),
                Call("s1", "SpawnWorker", new { name = "c1", task = "child task", scope = new[] { new { target = ws, permission = "read", recursive = true } } })),
            Resp(new ScriptUsage(130, 2), new ScriptText("parent done")),
            Resp(new ScriptText("noted")), Resp(new ScriptText("noted")));
        await using var client = await node.StartAsync("otel-tree", parentModel, F.ParentManifest(ws, F.Grant(ws)), ws);
        client.Run("delegate it");
        await client.NextAsync<RunEndEvent>();

        var run = await capture.WaitAsync(a => a.DisplayName == "invoke_agent otel-tree" && (string?)a.Tag(GenAi.RunTrigger) == "user_send");
        var child = await capture.WaitAsync(a => a.DisplayName == "invoke_agent otel-tree/c1");
        var spans = capture.Snapshot().Where(s => s.TraceId == run.TraceId).ToList();

        Assert.Equal(default, run.ParentSpanId);
        Assert.Equal(ActivityStatusCode.Unset, run.Status);
        Assert.Equal("invoke_agent", run.Tag(GenAi.OperationName));
        Assert.Equal("otel-tree", run.Tag(GenAi.AgentName));
        Assert.Equal("finished", run.Tag(GenAi.RunOutcome));
        Assert.True(Guid.TryParse((string?)run.Tag(GenAi.ConversationId), out _));

        var chats = spans.Where(s => s.ParentSpanId == run.SpanId && s.DisplayName.StartsWith("chat ")).OrderBy(s => s.StartTimeUtc).ToList();
        Assert.Equal(2, chats.Count);
        var first = chats[0];
        Assert.Equal(ActivityKind.Client, first.Kind);
        Assert.Equal("chat", first.Tag(GenAi.OperationName));
        Assert.Equal("yoi.scripted", first.Tag(GenAi.ProviderName));
        Assert.Equal("chat " + parentModel.Model, first.DisplayName);
        Assert.Equal(parentModel.Model, first.Tag(GenAi.RequestModel));
        Assert.Equal("resp-1", first.Tag(GenAi.ResponseId));
        Assert.Equal("scripted-model-v1", first.Tag(GenAi.ResponseModel));
        Assert.Equal(["tool_call"], (string[])first.Tag(GenAi.ResponseFinishReasons)!);
        Assert.Equal(120L, first.Tag(GenAi.UsageInputTokens));
        Assert.Equal(7L, first.Tag(GenAi.UsageOutputTokens));
        Assert.Equal(["stop"], (string[])chats[1].Tag(GenAi.ResponseFinishReasons)!);
        Assert.Null(first.Tag(GenAi.InputMessages)); // content only with [telemetry] record_content = true

        var glob = spans.Single(s => s.DisplayName == "execute_tool Glob");
        Assert.Equal(run.SpanId, glob.ParentSpanId);
        Assert.Equal("execute_tool", glob.Tag(GenAi.OperationName));
        Assert.Equal("Glob", glob.Tag(GenAi.ToolName));
        Assert.Equal("g1", glob.Tag(GenAi.ToolCallId));
        Assert.Null(glob.Tag(GenAi.ToolCallArguments));
        var spawn = spans.Single(s => s.DisplayName == "execute_tool SpawnWorker");
        Assert.Equal(run.SpanId, spawn.ParentSpanId);

        // the child's run is a child of the parent's SpawnWorker span, in the same trace
        Assert.Equal(run.TraceId, child.TraceId);
        Assert.Equal(spawn.SpanId, child.ParentSpanId);
        Assert.Equal("otel-tree/c1", child.Tag(GenAi.AgentName));
        var childChat = await capture.WaitAsync(a => a.ParentSpanId == child.SpanId && a.DisplayName.StartsWith("chat "));
        Assert.Equal(11L, childChat.Tag(GenAi.UsageInputTokens));
    }

    [Fact]
    public async Task Retries_are_chat_span_events_and_a_failed_call_carries_its_error_type()
    {
        using var capture = new TraceCapture("otel-retry");
        var ws = node.Workspace("otel-retry");
        var model = Script(
            Resp(new ScriptOpenError(503, "overloaded")),
            Resp(new ScriptText("after retry")),
            Resp(new ScriptOpenError(400, "bad request")));
        await using var client = await node.StartAsync("otel-retry", model, F.ParentManifest(ws, F.Grant(ws)), ws);
        client.Run("one");
        await client.NextAsync<RunEndEvent>();
        client.Run("two");
        await client.NextAsync<ErrorEvent>();

        var ok = await capture.WaitAsync(a => a.DisplayName == "invoke_agent otel-retry" && (string?)a.Tag(GenAi.RunOutcome) == "finished");
        var chat = capture.Snapshot().Single(s => s.ParentSpanId == ok.SpanId && s.DisplayName.StartsWith("chat "));
        var retry = Assert.Single(chat.Events);
        Assert.Equal("yoi.llm.retry", retry.Name);
        Assert.Equal(503L, retry.Tags.Single(t => t.Key == "http.response.status_code").Value);
        Assert.Equal(ActivityStatusCode.Unset, chat.Status);

        var failed = await capture.WaitAsync(a => a.DisplayName == "invoke_agent otel-retry" && (string?)a.Tag(GenAi.RunOutcome) == "error");
        Assert.Equal(ActivityStatusCode.Error, failed.Status);
        Assert.Equal("provider_error", failed.Tag(GenAi.ErrorType));
        var failedChat = capture.Snapshot().Single(s => s.ParentSpanId == failed.SpanId && s.DisplayName.StartsWith("chat "));
        Assert.Equal("400", failedChat.Tag(GenAi.ErrorType));
        Assert.Equal(ActivityStatusCode.Error, failedChat.Status);
    }

    [Fact]
    public async Task Content_is_recorded_only_with_record_content()
    {
        using var capture = new TraceCapture("otel-content");
        var ws = node.Workspace("otel-content");
        var model = Script(Resp(Call("g1", "Glob", new { pattern = "*.md" })), Resp(new ScriptText("the answer")));
        await using var client = await node.StartAsync("otel-content", model,
            F.ParentManifest(ws, F.Grant(ws)) + "\n[telemetry]\nrecord_content = true\n", ws);
        client.Run("what is here?");
        await client.NextAsync<RunEndEvent>();

        var run = await capture.WaitAsync(a => a.DisplayName == "invoke_agent otel-content");
        var spans = capture.Snapshot().Where(s => s.TraceId == run.TraceId).ToList();
        var chats = spans.Where(s => s.DisplayName.StartsWith("chat ")).OrderBy(s => s.StartTimeUtc).ToList();
        Assert.Contains("what is here?", (string)chats[0].Tag(GenAi.InputMessages)!);
        Assert.Contains("the answer", (string)chats[1].Tag(GenAi.OutputMessages)!);
        var glob = spans.Single(s => s.DisplayName == "execute_tool Glob");
        Assert.Equal("""{"pattern":"*.md"}""", glob.Tag(GenAi.ToolCallArguments));
        Assert.NotNull(glob.Tag(GenAi.ToolCallResult));
    }

    /// <summary>A peer can live on any node: the traceparent travels in the ClientMethod through the shard region, so the
    /// peer's notification run is a child of the SendToPeerWorker span (the wire form is checked in
    /// <see cref="TraceContextWireTests"/>).</summary>
    [Fact]
    public async Task A_peer_message_run_is_a_child_of_the_SendToPeerWorker_span()
    {
        using var capture = new TraceCapture("otel-peer");
        var peerWs = node.Workspace("otel-peer-b");
        await using var peer = await node.StartAsync("otel-peer-b", Script(Resp(new ScriptText("got it"))), F.ParentManifest(peerWs, F.Grant(peerWs)), peerWs);
        var ws = node.Workspace("otel-peer-a");
        var model = Script(Resp(Call("p1", "SendToPeerWorker", new { name = "otel-peer-b", message = "hello" })), Resp(new ScriptText("sent")));
        await using var client = await node.StartAsync("otel-peer-a", model, F.ParentManifest(ws, F.Grant(ws)), ws);
        client.Send(new RegisterPeerMethod("otel-peer-b"));
        await client.NextAsync<PeerRegisteredEvent>();
        client.Run("tell the peer");
        await client.NextAsync<RunEndEvent>();

        var send = await capture.WaitAsync(a => a.DisplayName == "execute_tool SendToPeerWorker");
        var peerRun = await capture.WaitAsync(a => a.DisplayName == "invoke_agent otel-peer-b");
        Assert.Equal(send.TraceId, peerRun.TraceId);
        Assert.Equal(send.SpanId, peerRun.ParentSpanId);
        Assert.Equal("notify", peerRun.Tag(GenAi.RunTrigger));
    }
}
