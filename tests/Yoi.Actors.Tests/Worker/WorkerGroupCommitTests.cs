using System.Text.Json;
using Yoi.Actors.Engine;
using Yoi.Actors.Engine.Scripted;
using Yoi.Messages;
using static Yoi.Actors.Tests.Worker.Kit;

namespace Yoi.Actors.Tests.Worker;

/// <summary>Group commit of the engine's items (WorkerActor.OnCommitItem): items are written together at the next
/// durability point — before a tool with side effects runs, before the run's end is reported — or by the flush
/// timer; the journal order is the order things happened in.</summary>
[Collection(WorkerNodeCollection.Name)]
public sealed class WorkerGroupCommitTests(WorkerNodeFixture node)
{
    /// <summary>A tool with side effects that, when it runs, looks in the SQLite journal for its own call.</summary>
    private sealed class JournalLookingTool(WorkerNodeFixture node, string worker, string callId) : FakeTool("act")
    {
        public bool? CallWasInJournal { get; private set; }

        protected override Task<ToolOutput> Run(JsonElement input, CancellationToken ct)
        {
            CallWasInJournal = node.Journal(worker).Any(r => r.Json.Contains($"\"call_id\":\"{callId}\""));
            return Task.FromResult(new ToolOutput("acted"));
        }
    }

    [Fact]
    public async Task A_tool_with_side_effects_runs_only_once_its_call_is_in_the_journal()
    {
        var tool = new JournalLookingTool(node, "gc-barrier", "call-act");
        var model = Script(Resp(new ScriptToolCall("call-act", "act", "{}")), Resp(new ScriptText("done")));
        var (client, _) = await node.StartAsync("gc-barrier", model, [tool]);
        await using var _c = client;
        client.Run("go");
        await client.UntilStatusAsync(WorkerStatus.Idle);
        Assert.True(tool.CallWasInJournal, "the tool ran before its call was journaled");
    }

    [Fact]
    public async Task Every_LLM_call_starts_on_a_durable_history()
    {
        var model = new GatedModel(Script(Resp(new ScriptToolCall("call-echo", "echo", "{}")), Resp(new ScriptText("later")))).Hold(1);
        var (client, _) = await node.StartAsync("gc-llm", model, [new EchoTool { ReadOnly = true }]);
        await using var _c = client;
        client.Run("go");
        await model.Reached(1);
        var rows = node.Journal("gc-llm");
        Assert.Contains(rows, r => r.Json.Contains("\"kind\":\"assistant_item\"") && r.Json.Contains("\"call_id\":\"call-echo\""));
        Assert.Contains(rows, r => r.Json.Contains("\"kind\":\"tool_result\""));
        model.Release(1);
        await client.UntilStatusAsync(WorkerStatus.Idle);
    }

    [Fact]
    public async Task A_call_of_a_long_read_only_tool_is_written_within_the_group_commit_window()
    {
        // No durability point comes while the read-only tool runs: the flush timer writes its call.
        var tool = new GateTool("look") { ReadOnly = true };
        var model = Script(Resp(new ScriptToolCall("call-look", "look", "{}")), Resp(new ScriptText("done")));
        var (client, _) = await node.StartAsync("gc-window", model, [tool]);
        await using var _c = client;
        client.Run("go");
        await tool.Started;
        bool Written() => node.Journal("gc-window").Any(r => r.Json.Contains("\"call_id\":\"call-look\""));
        var deadline = DateTime.UtcNow + WorkerClient.Timeout;
        while (!Written() && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.True(Written(), "the call of a running read-only tool never reached the journal");
        tool.Release();
        await client.UntilStatusAsync(WorkerStatus.Idle);
    }

    [Fact]
    public async Task Run_end_is_reported_only_after_every_entry_of_the_run_is_in_the_journal()
    {
        var model = Script(Resp(new ScriptToolCall("c1", "echo", "{}")), Resp(new ScriptToolCall("c2", "echo", "{}")), Resp(new ScriptText("done")));
        var (client, _) = await node.StartAsync("gc-end", model, [new EchoTool()]);
        await using var _c = client;
        client.Run("go");
        await client.NextAsync<RunEndEvent>();
        // Read at once, before anything else can happen: the journal already holds the whole run, in order.
        var kinds = node.Journal("gc-end").Where(r => r.Manifest == "entry")
            .Select(r => JsonDocument.Parse(r.Json).RootElement.GetProperty("kind").GetString()).ToList();
        Assert.Equal(["segment_start", "invoke", "user_input", "assistant_item", "tool_result", "assistant_item", "tool_result",
            "assistant_item", "turn_end", "run_completed"], kinds.Where(k => k != "llm_usage").ToList());
    }
}
