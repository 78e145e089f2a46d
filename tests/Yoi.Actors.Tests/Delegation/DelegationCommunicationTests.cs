using System.Text.Json;
using Akka.Actor;
using Yoi.Actors.Delegation;
using Yoi.Actors.Engine;
using Yoi.Actors.Engine.Scripted;
using Yoi.Actors.Tests.Worker;
using Yoi.Messages;
using static Yoi.Actors.Tests.Worker.Kit;
using F = Yoi.Actors.Tests.Delegation.DelegationNodeFixture;

namespace Yoi.Actors.Tests.Delegation;

/// <summary>reference-delegation §9 communication (18, 19, 20): SendToWorker and ReadWorkerOutput through the real tools,
/// called by the parent's model.</summary>
[Collection(DelegationNodeCollection.Name)]
public sealed class DelegationCommunicationTests(DelegationNodeFixture node)
{
    private static object Rule(string target, string permission = "write", bool recursive = true) => new { target, permission, recursive };

    private static ScriptToolCall Call(string id, string tool, object input) => new(id, tool, JsonSerializer.Serialize(input));

    // --- acceptance 18: a busy child answers already_running; SendToWorker fails, neither retried nor queued
    [Fact]
    public async Task SendToWorker_to_a_child_that_is_running_fails_with_already_running_and_is_not_queued()
    {
        node.Models["dc-busy/c1"] = Script(Resp(new ScriptHang()));
        var parentModel = Script(
            Resp(Call("s1", "SendToWorker", new { name = "c1", message = "more work" })),
            Resp(new ScriptText("noted")));
        var ws = node.Workspace("dc-busy");
        await using var client = await node.StartAsync("dc-busy", parentModel, F.ParentManifest(ws, F.Grant(ws)), ws);
        Assert.Null((await node.ToolAsync("dc-busy", "SpawnWorker", new { name = "c1", task = "the task", scope = new[] { Rule(ws, "read") } })).Error);
        await using var watch = node.Client();
        var snap = await watch.AttachAsync("dc-busy/c1");
        if (snap.Status != WorkerStatus.Running) await watch.UntilStatusAsync(WorkerStatus.Running);

        client.Run("send it more");
        var result = await client.NextAsync<ToolResultEvent>(t => t.Id == "s1");
        Assert.True(result.IsError);
        Assert.Contains("Execution failed:", result.Summary);
        Assert.Contains("worker `c1` is already running a turn; wait for it to finish and retry", result.Summary);
        await client.NextAsync<RunEndEvent>();

        // not queued, not retried: the child has only its task as user input and nothing in its notify buffer
        var child = await node.FreshSnapshot("dc-busy/c1");
        Assert.Equal(["the task"], UserInputs(child.Entries));
        Assert.Equal(WorkerStatus.Running, child.Status);
        Assert.Contains("already executing a turn", (await watch.NextAsync<ErrorEvent>(e => e.Code == ErrorCode.AlreadyRunning)).Message);
        Assert.Equal(2, parentModel.Requests.Count);
    }

    // --- acceptance 19: ReadWorkerOutput returns new assistant text joined by a blank line, then nothing new
    [Fact]
    public async Task ReadWorkerOutput_returns_new_assistant_text_once_then_reports_no_new_text()
    {
        node.Models["dc-read/c1"] = Script(
            Resp(new ScriptText("hi"), new ScriptToolCall("g1", "Glob", """{"pattern":"*.none"}""")),
            Resp(new ScriptText("still")));
        // the child's turn_ended wakes the parent, whose model reads twice
        var parentModel = Script(
            Resp(Call("r1", "ReadWorkerOutput", new { name = "c1" })),
            Resp(Call("r2", "ReadWorkerOutput", new { name = "c1" })),
            Resp(new ScriptText("read")));
        var ws = node.Workspace("dc-read");
        await using var client = await node.StartAsync("dc-read", parentModel, F.ParentManifest(ws, F.Grant(ws)), ws);
        Assert.Null((await node.ToolAsync("dc-read", "SpawnWorker", new { name = "c1", task = "say things", scope = new[] { Rule(ws, "read") } })).Error);

        var first = await client.NextAsync<ToolResultEvent>(t => t.Id == "r1");
        var second = await client.NextAsync<ToolResultEvent>(t => t.Id == "r2");
        await client.NextAsync<RunEndEvent>();

        var child = await node.FreshSnapshot("dc-read/c1");
        Assert.Single(UserInputs(child.Entries));
        Assert.Equal(2, child.Entries.OfType<AssistantItemEntry>().Count(e => e.Item is MessageItem { Role: Role.Assistant }));

        Assert.False(first.IsError, first.Summary);
        Assert.Equal("worker `c1`: 3 new line(s) of assistant text", first.Summary);
        Assert.Equal("hi\n\nstill", first.Output);
        Assert.False(second.IsError, second.Summary);
        Assert.Equal("worker `c1` running; no new assistant text", second.Summary);
        Assert.Null(second.Output);
    }

    // --- acceptance 20 (and the Io branch of 18): a registered child that is not there. ReadWorkerOutput succeeds with
    // "stopped (unreachable)"; SendToWorker fails with ExecutionFailed "send to `<n>`". The Worker side resolves the
    // name to a child that does not exist (what a stopped child looks like to the tool between resolution and attach).
    [Fact]
    public async Task Tools_report_an_unreachable_child_read_succeeds_and_send_fails()
    {
        var worker = node.System.ActorOf(Props.Create(() => new ResolvesTo("dc-gone/c1")));
        var tools = DelegationTools.Create(worker, node.System, new WorkerName("dc-gone"));
        var read = tools.Single(t => t.Name == "ReadWorkerOutput");
        var send = tools.Single(t => t.Name == "SendToWorker");
        var ctx = new ToolCallContext("x", "b", 0);
        var ct = TestContext.Current.CancellationToken;

        var output = await read.ExecuteAsync(JsonSerializer.SerializeToElement(new { name = "c1" }), ctx, ct);
        Assert.Equal("worker `c1` is stopped (unreachable)", output.Summary);
        Assert.Null(output.Content);

        var e = await Assert.ThrowsAsync<ToolException>(() => send.ExecuteAsync(JsonSerializer.SerializeToElement(new { name = "c1", message = "hi" }), ctx, ct));
        Assert.Equal(ToolErrorKind.ExecutionFailed, e.Kind);
        Assert.StartsWith("send to `c1`:", e.Message);
        worker.Tell(PoisonPill.Instance);
    }

    /// <summary>Stands in for a parent Worker whose registry resolves every name to <paramref name="child"/>.</summary>
    private sealed class ResolvesTo : ReceiveActor
    {
        public ResolvesTo(string child) => Receive<ResolveWorkerRequest>(_ => Sender.Tell(new DelegationToolReply("", child)));
    }
}
