using System.Text.Json;
using Akka.Actor;
using Yoi.Actors.Delegation;
using Yoi.Actors.Engine;
using Yoi.Actors.Engine.Scripted;
using Yoi.Actors.Tests.Worker;
using Yoi.Actors.Worker;
using Yoi.Messages;
using static Yoi.Actors.Tests.Worker.Kit;
using F = Yoi.Actors.Tests.Delegation.DelegationNodeFixture;

namespace Yoi.Actors.Tests.Delegation;

/// <summary>reference-delegation §9 acceptance 12, 15, 22, 23 and 30, as they apply to child actors.</summary>
[Collection(DelegationNodeCollection.Name)]
public sealed class DelegationRemainingAcceptanceTests(DelegationNodeFixture node)
{
    private static object Rule(string target, string permission = "write", bool recursive = true) => new { target, permission, recursive };

    private static ScriptedModelClient Texts(int n) => Script(Enumerable.Range(0, n).Select(i => Resp(new ScriptText($"ok {i}"))).ToArray());

    private Task<WorkerInspection> InspectAsync(string name) =>
        node.Region.Ask<WorkerInspection>((Func<IActorRef, object>)(a => new WorkerEnvelope(name, new InspectWorker(a))), TimeSpan.FromSeconds(5), CancellationToken.None);

    // --- acceptance 12: the `inherit` handoff. Name, scope = requested rules verbatim with no deny, model unchanged,
    // instruction replaced and every other engine field kept. Design deviation (§1.5 allows it): delegation_scope is
    // not emptied but attenuated to the requested rules, so the child may lend on at most what it holds.
    [Fact]
    public async Task Inherit_handoff_derives_the_child_manifest_from_the_spawner()
    {
        node.Models["dr-hand/c1"] = Script(Resp(new ScriptHang()));
        var ws = node.Workspace("dr-hand");
        Directory.CreateDirectory(ws + "/sub");
        var engine = """
            [engine]
            instruction = "parent instruction"
            max_turns = 7
            temperature = 0.25

            """;
        await using var client = await node.StartAsync("dr-hand", Texts(4), F.ParentManifest(ws, F.Grant(ws) + engine), ws);
        var requested = new[] { Rule(ws + "/sub"), Rule(ws, "read", false) };
        var r = await node.ToolAsync("dr-hand", "SpawnWorker", new { name = "c1", task = "t", scope = requested, profile = "inherit", instruction = "X" });
        Assert.Null(r.Error);

        using var parent = JsonDocument.Parse((await InspectAsync("dr-hand")).ManifestJson!);
        using var child = JsonDocument.Parse((await InspectAsync("dr-hand/c1")).ManifestJson!);
        var p = parent.RootElement;
        var c = child.RootElement;
        var manifest = Yoi.Actors.Manifest.WorkerManifest.FromJson(c);
        Assert.Equal("dr-hand/c1", manifest.Name);
        Assert.Equal(
            [new ScopeRule(ws + "/sub", Permission.Write, true), new ScopeRule(ws, Permission.Read, false)],
            manifest.Scope!.Allow);
        Assert.Empty(manifest.Scope.Deny);
        Assert.Equal(manifest.Scope.Allow, manifest.DelegationScope!.Allow);
        Assert.Empty(manifest.DelegationScope.Deny);
        Assert.Equal(p.GetProperty("model").GetRawText(), c.GetProperty("model").GetRawText());

        var parentEngine = Yoi.Actors.Manifest.WorkerManifest.FromJson(p).Engine;
        Assert.Equal("parent instruction", parentEngine.Instruction);
        Assert.Equal(7, parentEngine.MaxTurns);
        Assert.Equal("X", manifest.Engine.Instruction);
        Assert.Equal(
            JsonSerializer.Serialize(parentEngine with { Instruction = "X" }, Yoi.Messages.Json.YoiJson.Options),
            JsonSerializer.Serialize(manifest.Engine, Yoi.Messages.Json.YoiJson.Options));
    }

    // --- acceptance 15, adapted: there is no socket and no 10 s wait; a child that cannot start fails the spawn at once
    // with ExecutionFailed carrying the cause (the analogue of the child's stderr), and leaves no allocation, no registry
    // record and the spawner's scope unchanged (its own Write on the requested path still works).
    [Fact]
    public async Task A_child_that_cannot_start_reports_its_cause_and_leaves_the_spawners_scope_unchanged()
    {
        var parentModel = Script(
            Resp(new ScriptToolCall("w1", "Write", """{"file_path":"sub/new.txt","content":"mine"}""")),
            Resp(new ScriptText("done")));
        var ws = node.Workspace("dr-boom");
        Directory.CreateDirectory(ws + "/sub");
        await using var client = await node.StartAsync("dr-boom", parentModel, F.ParentManifest(ws, F.Grant(ws)), ws);

        // no model is registered for dr-boom/c1: the child's start throws
        var r = await node.ToolAsync("dr-boom", "SpawnWorker", new { name = "c1", task = "t", scope = new[] { Rule(ws + "/sub") } });
        Assert.Equal(ToolErrorKind.ExecutionFailed, r.ErrorKind);
        Assert.Contains("spawned worker `c1` did not start", r.Error);
        Assert.Contains("no model registered for dr-boom/c1", r.Error);

        Assert.DoesNotContain(await node.AllocationsAsync(), a => a.Name == "dr-boom/c1");
        Assert.DoesNotContain(node.JournalOf("dr-boom"), row => row.Manifest == "child_spawned");
        var inspection = await InspectAsync("dr-boom");
        Assert.Empty(inspection.Children);
        Assert.Empty(inspection.Loans);
        Assert.Contains("no spawned worker named `c1`", (await node.ToolAsync("dr-boom", "StopWorker", new { name = "c1" })).Error);

        client.Run("write it");
        var write = await client.NextAsync<ToolResultEvent>(t => t.Id == "w1");
        Assert.False(write.IsError, write.Summary);
        Assert.Equal("mine", File.ReadAllText(ws + "/sub/new.txt"));
        await client.NextAsync<RunEndEvent>();

        // the name is free again: a later spawn with a model succeeds
        node.Models["dr-boom/c1"] = Script(Resp(new ScriptHang()));
        Assert.Null((await node.ToolAsync("dr-boom", "SpawnWorker", new { name = "c1", task = "t", scope = new[] { Rule(ws + "/sub", "read") } })).Error);
    }

    // --- acceptance 22: a deny already in the spawner's own manifest survives the child's stop. The loan is a separate
    // layer (the registry's write loans), so the stop removes only the loan, never the manifest's deny.
    [Fact]
    public async Task Stopping_a_child_keeps_a_deny_that_was_in_the_spawners_own_manifest()
    {
        node.Models["dr-deny/c1"] = Script(Resp(new ScriptHang()));
        var parentModel = Script(
            Resp(new ScriptToolCall("w1", "Write", """{"file_path":"sub/f.txt","content":"x"}""")),
            Resp(new ScriptText("done")),
            Resp(new ScriptText("spare")), Resp(new ScriptText("spare")), Resp(new ScriptText("spare")));
        var ws = node.Workspace("dr-deny");
        Directory.CreateDirectory(ws + "/sub");
        var deny = $"""
            [[scope.deny]]
            target = "{ws}/sub"
            permission = "write"

            """;
        await using var client = await node.StartAsync("dr-deny", parentModel, F.ParentManifest(ws, F.Grant(ws) + deny), ws);
        Assert.Null((await node.ToolAsync("dr-deny", "SpawnWorker", new { name = "c1", task = "t", scope = new[] { Rule(ws + "/sub") } })).Error);
        Assert.Single((await InspectAsync("dr-deny")).Loans);

        var stop = await node.ToolAsync("dr-deny", "StopWorker", new { name = "c1" });
        Assert.Equal($"stopped worker `c1`; reclaimed scope: write:{ws}/sub", stop.Summary);
        var after = await InspectAsync("dr-deny");
        Assert.Empty(after.Children);
        Assert.Empty(after.Loans);
        Assert.DoesNotContain(await node.AllocationsAsync(), a => a.Name == "dr-deny/c1");

        // the stop's notification turn: the parent's Write on the formerly lent path is still refused by its own deny
        var write = await client.NextAsync<ToolResultEvent>(t => t.Id == "w1");
        Assert.True(write.IsError);
        Assert.Contains("read-only", write.Summary);
        Assert.False(File.Exists(ws + "/sub/f.txt"));
    }

    // --- acceptance 23: ListWorkers lists exactly self, the children and the peers, sorted, with their reasons and
    // liveness; other Workers in the store are not listed. (A registered-but-dead child has no counterpart: a child
    // actor that stops is removed from the registry by its Terminated, and one unreachable at restore is pruned.)
    [Fact]
    public async Task ListWorkers_lists_self_children_and_peers_sorted_with_reasons_and_liveness()
    {
        node.Models["dr-list/c1"] = Script(Resp(new ScriptHang()));
        node.Models["dr-list/c2"] = Script(Resp(new ScriptHang()));
        var ws = node.Workspace("dr-list");
        await using var client = await node.StartAsync("dr-list", Texts(4), F.ParentManifest(ws, F.Grant(ws)), ws);
        var qWs = node.Workspace("dr-list-q");
        await using var q = await node.StartAsync("dr-list-q", Texts(2), F.ParentManifest(qWs, F.Grant(qWs)), qWs);
        var hiddenWs = node.Workspace("dr-list-hidden");
        await using (await node.StartAsync("dr-list-hidden", Texts(1), F.ParentManifest(hiddenWs, F.Grant(hiddenWs)), hiddenWs)) { }

        Assert.Null((await node.ToolAsync("dr-list", "SpawnWorker", new { name = "c1", task = "t", scope = new[] { Rule(ws, "read") } })).Error);
        Assert.Null((await node.ToolAsync("dr-list", "SpawnWorker", new { name = "c2", task = "t", scope = new[] { Rule(ws, "read") } })).Error);
        client.Send(new RegisterPeerMethod("dr-list-q"));
        await client.NextAsync<PeerRegisteredEvent>();

        var list = await node.ToolAsync("dr-list", "ListWorkers", new { });
        Assert.Null(list.Error);
        Assert.Equal("4 visible worker(s)", list.Summary);
        var items = JsonDocument.Parse(list.Content!).RootElement.EnumerateArray().ToList();
        Assert.Equal(["c1", "c2", "dr-list", "dr-list-q"], items.Select(i => i.GetProperty("worker_name").GetString()));
        Assert.Equal(["spawned_child", "spawned_child", "self_worker", "peer"], items.Select(i => i.GetProperty("visibility").GetString()));
        Assert.All(items, i => Assert.True(i.GetProperty("live").GetProperty("reachable").GetBoolean()));
        Assert.Equal("dr-list/c1", items[0].GetProperty("full_name").GetString());
        var delegated = Assert.Single(items[0].GetProperty("comm_registry").GetProperty("scope_delegated").EnumerateArray());
        Assert.Equal(ws, delegated.GetProperty("target").GetString());
        Assert.Equal("read", delegated.GetProperty("permission").GetString());
        Assert.Equal(2, items[2].GetProperty("spawned_children").GetProperty("count").GetInt32());
        Assert.DoesNotContain(items, i => i.GetProperty("worker_name").GetString() == "dr-list-hidden");

        // a stopped child leaves the list (no registered-but-dead entry survives)
        Assert.Null((await node.ToolAsync("dr-list", "StopWorker", new { name = "c2" })).Error);
        var again = JsonDocument.Parse((await node.ToolAsync("dr-list", "ListWorkers", new { })).Content!).RootElement;
        Assert.Equal(["c1", "dr-list", "dr-list-q"], again.EnumerateArray().Select(i => i.GetProperty("worker_name").GetString()));
    }

    // --- acceptance 30: a parent-originated turn that fails with a provider error reports errored{worker_name, message};
    // a turn that ends Paused reports nothing.
    [Fact]
    public async Task A_provider_error_in_a_run_turn_reports_errored_and_a_pause_reports_nothing()
    {
        node.Models["dr-err/c1"] = Script(Resp(new ScriptOpenError(400, "provider said boom", Retryable: false)));
        node.Models["dr-err/c2"] = Script(Resp(new ScriptDelay(1500), new ScriptText("partial"), new ScriptHang()));
        var parentModel = Texts(6);
        var ws = node.Workspace("dr-err");
        await using var client = await node.StartAsync("dr-err", parentModel, F.ParentManifest(ws, F.Grant(ws)), ws);

        Assert.Null((await node.ToolAsync("dr-err", "SpawnWorker", new { name = "c1", task = "fail please", scope = new[] { Rule(ws, "read") } })).Error);
        var item = await client.NextAsync<SystemItemEvent>(s => s.Item is WorkerEventSystemItem { Event: ErroredWorkerEvent });
        var errored = (ErroredWorkerEvent)((WorkerEventSystemItem)item.Item).Event;
        Assert.Equal("dr-err/c1", errored.WorkerName);
        Assert.Contains("provider said boom", errored.Message);
        await client.NextAsync<RunEndEvent>();
        Assert.Single(node.JournalOf("dr-err/c1"), row => row.Manifest == "report_queued");

        Assert.Null((await node.ToolAsync("dr-err", "SpawnWorker", new { name = "c2", task = "then pause", scope = new[] { Rule(ws, "read") } })).Error);
        await using var watch = node.Client();
        await watch.AttachAsync("dr-err/c2");
        await watch.NextAsync<TextDoneEvent>(t => t.Text == "partial"); // committed text, so the pause keeps the turn
        watch.Send(new PauseMethod());
        await watch.NextAsync<RunEndEvent>(e => e.Result == RunResult.Paused);
        await Task.Delay(500);
        Assert.DoesNotContain(node.JournalOf("dr-err/c2"), row => row.Manifest == "report_queued");
        Assert.DoesNotContain(client.Seen, o => o is SystemItemEvent { Item: WorkerEventSystemItem { Event: TurnEndedWorkerEvent { WorkerName: "dr-err/c2" } or ErroredWorkerEvent { WorkerName: "dr-err/c2" } } });
    }
}
