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

/// <summary>reference-delegation §9 (1–36 as they apply to child actors) and the supervision/exactly-once additions.</summary>
[Collection(DelegationNodeCollection.Name)]
public sealed class DelegationTests(DelegationNodeFixture node)
{
    private static object Rule(string target, string permission = "write", bool recursive = true) => new { target, permission, recursive };

    private static ScriptedModelClient Idle(int n = 4) =>
        Script(Enumerable.Range(0, n).Select(i => Resp(new ScriptText($"ok {i}"))).ToArray());

    private async Task<(WorkerClient Client, string Ws)> Parent(string name, IModelClient model, Func<string, string> delegation, string workers = "enabled = true")
    {
        var ws = node.Workspace(name);
        var client = await node.StartAsync(name, model, F.ParentManifest(ws, delegation(ws), workers), ws);
        return (client, ws);
    }

    private async Task<DelegationToolReply> Spawn(string parent, string child, string task, params object[] scope) =>
        await node.ToolAsync(parent, "SpawnWorker", new { name = child, task, scope });

    // --- acceptance 1: startup requires a non-empty delegation scope when workers are enabled
    [Fact]
    public async Task Workers_feature_without_delegation_scope_fails_startup()
    {
        var ws = node.Workspace("d-nogrant");
        node.Models["d-nogrant"] = Idle();
        await using var c = node.Client();
        c.Attach("d-nogrant", F.ParentManifest(ws), ws);
        var rejected = await c.NextAsync<AttachRejected>();
        Assert.Contains("requires non-empty [[delegation_scope.allow]]", rejected.Error.Message);
    }

    // --- acceptance 2, 3, 4, 5, 6, 7
    [Fact]
    public async Task Delegation_check_uses_the_delegation_scope_only()
    {
        var (_, ws) = await Parent("d-check", Idle(), w => F.Grant(w, "read") + F.Grant(w + "/.worktree") + F.Grant(w + "/secret", "read", list: "deny"));
        var r = await Spawn("d-check", "c1", "t", Rule("/elsewhere"));
        Assert.Equal(ToolErrorKind.InvalidArgument, r.ErrorKind);
        Assert.Contains("outside this Worker's delegation scope grant", r.Error);
        r = await Spawn("d-check", "c1", "t", Rule(ws));
        Assert.Contains("outside this Worker's delegation scope grant", r.Error); // Write ws not granted (3)
        r = await Spawn("d-check", "c1", "t", Rule(ws, "read")); // deny Read ws/secret overlaps (5)
        Assert.Contains("outside this Worker's delegation scope grant", r.Error);
        r = await Spawn("d-check", "c1", "t");
        Assert.Contains("scope must not be empty", r.Error);
        r = await Spawn("d-check", "c1", "t", Rule("relative/x"));
        Assert.Contains("must be absolute", r.Error);
        r = await Spawn("d-check", "d-check", "t", Rule(ws + "/.worktree/t1"));
        Assert.Contains("collides with spawner's own name", r.Error);
        foreach (var profile in new[] { "./r.toml", "/x", "path:r", "a/b", "x.json" })
            Assert.Contains("registry selectors only", (await node.ToolAsync("d-check", "SpawnWorker",
                new { name = "c9", task = "t", scope = new[] { Rule(ws + "/.worktree/t1") }, profile })).Error);
        Assert.Contains("unsupported selector prefix", (await node.ToolAsync("d-check", "SpawnWorker",
            new { name = "c9", task = "t", scope = new[] { Rule(ws + "/.worktree/t1") }, profile = "foo:x" })).Error);
        Assert.Empty((await node.AllocationsAsync()).Where(a => a.Name.StartsWith("d-check/")));
    }

    [Fact]
    public void Non_recursive_grants_contain_only_the_same_non_recursive_request()
    {
        var grant = new Yoi.Actors.Scope.ScopeConfig([new ScopeRule("/ws", Permission.Write, false)], []);
        Assert.False(DelegationCheck.AllowsRule(grant, new ScopeRule("/ws/child", Permission.Write, false)));
        Assert.True(DelegationCheck.AllowsRule(grant, new ScopeRule("/ws", Permission.Write, false)));
        var recursive = new Yoi.Actors.Scope.ScopeConfig([new ScopeRule("/ws", Permission.Read), new ScopeRule("/ws/.worktree", Permission.Write)], []);
        Assert.True(DelegationCheck.AllowsRule(recursive, new ScopeRule("/ws/.worktree/t1", Permission.Write)));
        Assert.True(DelegationCheck.AllowsRule(recursive, new ScopeRule("/ws", Permission.Read)));
        Assert.False(DelegationCheck.AllowsRule(recursive, new ScopeRule("/ws", Permission.Write)));
    }

    // --- acceptance 9: cwd checks
    [Fact]
    public async Task Spawn_cwd_must_be_absolute_existing_a_directory_and_readable_under_the_requested_rules()
    {
        var (_, ws) = await Parent("d-cwd", Idle(), w => F.Grant(w));
        Directory.CreateDirectory(ws + "/sub");
        File.WriteAllText(ws + "/file.txt", "x");
        async Task<string?> Cwd(string cwd) => (await node.ToolAsync("d-cwd", "SpawnWorker",
            new { name = "c1", task = "t", scope = new[] { Rule(ws + "/sub") }, cwd })).Error;
        Assert.Contains("must be absolute", await Cwd("rel"));
        Assert.Contains("does not exist", await Cwd(ws + "/missing"));
        Assert.Contains("must be a directory", await Cwd(ws + "/file.txt"));
        Assert.Contains("outside the child's delegated readable scope", await Cwd(ws));
    }

    // --- core end to end: spawn, loans, the child's turn_ended wakes the parent, stop reclaims (11, 13, 14, 29, 31, 32)
    [Fact]
    public async Task Spawned_child_runs_its_task_holds_a_write_loan_and_its_turn_end_wakes_the_parent()
    {
        var child = new GatedModel(Script(Resp(new ScriptText("child done")))).Hold(0);
        node.Models["d-e2e/c1"] = child;
        var parentModel = Script(Resp(new ScriptText("noted")), Resp(new ScriptText("after stop")));
        var (client, ws) = await Parent("d-e2e", parentModel, w => F.Grant(w));
        Directory.CreateDirectory(ws + "/sub");
        File.WriteAllText(ws + "/sub/f.txt", "old");

        var r = await Spawn("d-e2e", "c1", "do the task", Rule(ws + "/sub"));
        Assert.Null(r.Error);
        Assert.Equal("spawned worker `c1` listening on d-e2e/c1", r.Summary);
        await child.Reached(0);
        var first = Assert.Single(child.Requests);
        Assert.Contains("user: do the task", Requests.Lines(first));

        // the loan: the parent's own scope is read-only there, elsewhere still writable; Bash is refused
        var tools = Yoi.Actors.Tools.BuiltinTools.WorkspaceFor(Yoi.Actors.Manifest.ManifestLoader.Parse(F.ParentManifest(ws, F.Grant(ws)), ws),
            new FixedLoans([new ScopeRule(ws + "/sub", Permission.Write)]))!;
        Assert.Equal(Yoi.Actors.Scope.Access.Read, tools.Policy().PermissionAt(ws + "/sub/f.txt"));
        var inspection = await node.Region.Ask<WorkerInspection>((Func<IActorRef, object>)(a => new WorkerEnvelope("d-e2e", new InspectWorker(a))), TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.Equal(["d-e2e/c1"], inspection.Children);
        Assert.Single(inspection.Loans);
        var journal = node.JournalOf("d-e2e");
        Assert.Single(journal, row => row.Manifest == "child_spawned");
        Assert.NotEmpty(node.JournalOf("d-e2e/c1")); // persistence id worker|d-e2e/c1
        var alloc = Assert.Single(await node.AllocationsAsync(), a => a.Name == "d-e2e/c1");
        Assert.Equal("d-e2e", alloc.DelegatedFrom);

        child.Release(0);
        // turn_ended → notification turn in the parent
        await client.NextAsync<SystemItemEvent>(s => s.Item is WorkerEventSystemItem { Event: TurnEndedWorkerEvent { WorkerName: "d-e2e/c1" } });
        await client.NextAsync<RunEndEvent>(e => e.Result == RunResult.Finished);
        Assert.Contains(Requests.Lines(parentModel.Requests[0]), l => l.Contains("[Notification]") && l.Contains("worker `d-e2e/c1` finished a turn"));

        var stop = await node.ToolAsync("d-e2e", "StopWorker", new { name = "c1" });
        Assert.Equal($"stopped worker `c1`; reclaimed scope: write:{ws}/sub", stop.Summary);
        await client.NextAsync<SystemItemEvent>(s => s.Item is WorkerEventSystemItem { Event: ShutDownWorkerEvent });
        Assert.DoesNotContain(await node.AllocationsAsync(), a => a.Name == "d-e2e/c1");
        var after = await node.Region.Ask<WorkerInspection>((Func<IActorRef, object>)(a => new WorkerEnvelope("d-e2e", new InspectWorker(a))), TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.Empty(after.Children);
        Assert.Empty(after.Loans);
        // exactly one report recorded
        Assert.Single(node.JournalOf("d-e2e"), row => row.Manifest == "child_report_received");
        Assert.Contains("no spawned worker named `c1`", (await node.ToolAsync("d-e2e", "StopWorker", new { name = "c1" })).Error);
        await client.DisposeAsync();
    }

    // --- loans through the real tools: Write read-only and Bash refused while lent, restored after the child stops (13, 21)
    [Fact]
    public async Task The_parents_write_and_bash_are_refused_on_a_loan_until_the_child_stops()
    {
        node.Models["d-loan/c1"] = Script(Resp(new ScriptHang()));
        var parentModel = Script(
            Resp(new ScriptToolCall("w1", "Write", """{"file_path":"sub/new.txt","content":"x"}"""), new ScriptToolCall("b1", "Bash", """{"command":"true"}""")),
            Resp(new ScriptText("done")),
            Resp(new ScriptToolCall("w2", "Write", """{"file_path":"sub/new.txt","content":"y"}""")),
            Resp(new ScriptText("done2")),
            Resp(new ScriptText("spare")), Resp(new ScriptText("spare")));
        var (client, ws) = await Parent("d-loan", parentModel, w => F.Grant(w));
        Directory.CreateDirectory(ws + "/sub");
        Assert.Null((await Spawn("d-loan", "c1", "work", Rule(ws + "/sub"))).Error);
        client.Run("try to write");
        var results = new List<ToolResultEvent>();
        results.Add(await client.NextAsync<ToolResultEvent>());
        results.Add(await client.NextAsync<ToolResultEvent>());
        Assert.Contains(results, t => t.IsError && t.Summary.Contains("read-only"));
        Assert.Contains(results, t => t.IsError && t.Summary.Contains("child holds a write delegation"));
        await client.UntilStatusAsync(WorkerStatus.Idle);
        Assert.Null((await node.ToolAsync("d-loan", "StopWorker", new { name = "c1" })).Error);
        // the shut_down notification turn: the loan is back, the same Write now succeeds
        await client.NextAsync<SystemItemEvent>(s => s.Item is WorkerEventSystemItem { Event: ShutDownWorkerEvent });
        var ok = await client.NextAsync<ToolResultEvent>(t => t.Id == "w2");
        Assert.False(ok.IsError, ok.Summary);
        Assert.Equal("y", File.ReadAllText(ws + "/sub/new.txt"));
        await client.DisposeAsync();
    }

    // --- acceptance 8 and 16: duplicate names and sibling/cross-tree write conflicts
    [Fact]
    public async Task Overlapping_write_loans_conflict_across_siblings_and_trees_read_does_not()
    {
        node.Models["d-conf/c1"] = Script(Resp(new ScriptHang()));
        node.Models["d-conf/c2"] = Script(Resp(new ScriptHang()));
        node.Models["d-conf2/o1"] = Script(Resp(new ScriptHang()));
        var (_, ws) = await Parent("d-conf", Idle(), w => F.Grant(w));
        Directory.CreateDirectory(ws + "/x/y");
        Assert.Null((await Spawn("d-conf", "c1", "t", Rule(ws + "/x"))).Error);
        var dup = await Spawn("d-conf", "c1", "t", Rule(ws + "/x/y", "read"));
        Assert.Contains("already allocated", dup.Error);
        var conflict = await Spawn("d-conf", "c2", "t", Rule(ws + "/x/y"));
        Assert.Contains("conflicts with worker allocation `d-conf/c1`", conflict.Error);
        Assert.Null((await Spawn("d-conf", "c2", "t", Rule(ws + "/x", "read"))).Error);
        // another tree that may delegate the same folder
        var ws2 = node.Workspace("d-conf2");
        node.Models["d-conf2"] = Idle();
        await using var other = await node.StartAsync("d-conf2", node.Models["d-conf2"], F.ParentManifest(ws2, F.Grant(ws)), ws2);
        var cross = await Spawn("d-conf2", "o1", "t", Rule(ws + "/x/y"));
        Assert.Contains("conflicts with worker allocation `d-conf/c1`", cross.Error);
    }

    // --- depth and fan-out limits
    [Fact]
    public async Task Fan_out_and_depth_limits_refuse_spawns()
    {
        var (_, ws) = await Parent("d-lim", Idle(), w => F.Grant(w), "enabled = true\nmax_children = 2\nmax_depth = 1");
        foreach (var n in new[] { "a", "b", "c" }) node.Models["d-lim/" + n] = Script(Resp(new ScriptHang()));
        Assert.Null((await Spawn("d-lim", "a", "t", Rule(ws, "read"))).Error);
        Assert.Null((await Spawn("d-lim", "b", "t", Rule(ws, "read"))).Error);
        Assert.Contains("max_children", (await Spawn("d-lim", "c", "t", Rule(ws, "read"))).Error);
        // the child (depth 1) may not spawn with max_depth = 1
        node.Models["d-lim/a/g"] = Idle();
        var deep = await Spawn("d-lim/a", "g", "t", Rule(ws, "read"));
        Assert.Contains("max_depth", deep.Error);
    }

    // --- start failure (the adapted "socket did not appear"): no record, no allocation
    [Fact]
    public async Task A_child_that_cannot_start_leaves_no_record_and_no_allocation()
    {
        var (_, ws) = await Parent("d-fail", Idle(), w => F.Grant(w));
        var r = await Spawn("d-fail", "c1", "t", Rule(ws)); // no model registered for d-fail/c1
        Assert.Equal(ToolErrorKind.ExecutionFailed, r.ErrorKind);
        Assert.Contains("did not start", r.Error);
        Assert.DoesNotContain(node.JournalOf("d-fail"), row => row.Manifest == "child_spawned");
        Assert.DoesNotContain(await node.AllocationsAsync(), a => a.Name == "d-fail/c1");
    }

    // --- attach by full name, ReadWorkerOutput-equivalent snapshot, unknown names (17)
    [Fact]
    public async Task A_client_attaches_to_a_child_by_full_name_and_unknown_children_do_not_exist()
    {
        node.Models["d-att/c1"] = Script(Resp(new ScriptText("hi")), Resp(new ScriptText("second")));
        var (_, ws) = await Parent("d-att", Idle(), w => F.Grant(w));
        Assert.Null((await Spawn("d-att", "c1", "first", Rule(ws, "read"))).Error);
        await using var c = node.Client();
        var snap = await c.AttachAsync("d-att/c1");
        Assert.Equal("d-att/c1", snap.Greeting.WorkerName);
        if (snap.Status != WorkerStatus.Idle) await c.UntilStatusAsync(WorkerStatus.Idle);
        c.Run("more");
        await c.NextAsync<TextDoneEvent>(t => t.Text == "second");
        await using var none = node.Client();
        none.Attach("d-att/zz");
        Assert.Contains("does not exist", (await none.NextAsync<AttachRejected>()).Error.Message);
        foreach (var tool in new[] { "SendToWorker", "ReadWorkerOutput", "StopWorker" })
            Assert.Contains("no spawned worker named `zz`", (await node.ToolAsync("d-att", tool, new { name = "zz", message = "x" })).Error);
    }

    // --- child crash → restart from its journal; the parent is told; the limit stops it and reclaims the loan
    [Fact]
    public async Task A_crashing_child_restarts_from_its_journal_then_stops_at_the_limit_and_its_loan_is_reclaimed()
    {
        node.Models["d-crash/c1"] = Script(Resp(new ScriptText("child ok")), Resp(new ScriptText("again")));
        var parentModel = Script(Enumerable.Range(0, 12).Select(i => Resp(new ScriptText($"p{i}"))).ToArray());
        var (client, ws) = await Parent("d-crash", parentModel, w => F.Grant(w));
        Directory.CreateDirectory(ws + "/sub");
        Assert.Null((await Spawn("d-crash", "c1", "t", Rule(ws + "/sub"))).Error);
        await client.NextAsync<SystemItemEvent>(s => s.Item is WorkerEventSystemItem { Event: TurnEndedWorkerEvent });
        var before = (await node.FreshSnapshot("d-crash/c1")).Entries.Count;

        node.Region.Tell(new WorkerEnvelope("d-crash/c1", new InjectWorkerFailure("test")));
        await client.NextAsync<SystemItemEvent>(s => s.Item is WorkerEventSystemItem { Event: ErroredWorkerEvent e } && e.Message.Contains("restarted"));
        Assert.Equal(before, (await node.FreshSnapshot("d-crash/c1")).Entries.Count); // recovered from its journal

        // one failure at a time (each after the previous restart was reported) until the limit stops it
        for (var i = 1; i < WorkerActor.ChildRestartLimit; i++)
        {
            node.Region.Tell(new WorkerEnvelope("d-crash/c1", new InjectWorkerFailure("again " + i)));
            await client.NextAsync<SystemItemEvent>(s => s.Item is WorkerEventSystemItem { Event: ErroredWorkerEvent e } && e.Message.Contains("again " + i));
            await node.FreshSnapshot("d-crash/c1"); // restarted and recovered
        }
        node.Region.Tell(new WorkerEnvelope("d-crash/c1", new InjectWorkerFailure("last")));
        await client.NextAsync<SystemItemEvent>(s => s.Item is WorkerEventSystemItem { Event: ErroredWorkerEvent e } && e.Message.Contains("restart limit reached"));
        // shut_down is queued for the model; it may arrive while the parent's notification turn for the errored is past
        // its last drain, and worker events never start a follow-up turn (reference-protocol §8.1): it waits in the buffer
        for (var i = 0; i < 100 && !node.JournalOf("d-crash").Any(r => r.Manifest == "notify_queued" && r.Json.Contains("shut_down")); i++)
            await Task.Delay(100);
        Assert.Single(node.JournalOf("d-crash"), r => r.Manifest == "notify_queued" && r.Json.Contains("shut_down"));
        Assert.DoesNotContain(await node.AllocationsAsync(), a => a.Name == "d-crash/c1");
        Assert.Single(node.JournalOf("d-crash"), row => row.Manifest == "child_removed");
        await client.DisposeAsync();
    }

    // --- parent restart mid-child-run: the child's report still arrives exactly once
    [Fact]
    public async Task A_parent_that_restarts_while_its_child_runs_still_gets_the_report_exactly_once()
    {
        // The Shard restarts a failed entity (default strategy); the parent keeps its children (PreRestart override),
        // but Akka restarts a restarting parent's surviving children (ActorCell.FinishRecreate), so the child's run is
        // interrupted like after its own crash and, with resume_on_recovery, resumed: one turn_ended arrives.
        var child = new GatedModel(Script(Resp(new ScriptText("child partial")), Resp(new ScriptText("child done")))).Hold(0);
        node.Models["d-prs/c1"] = child;
        var parentModel = Script(Enumerable.Range(0, 4).Select(i => Resp(new ScriptText($"p{i}"))).ToArray());
        var (client, ws) = await Parent("d-prs", parentModel, w => F.Grant(w) + "[session]\nresume_on_recovery = true\n");
        Assert.Null((await Spawn("d-prs", "c1", "t", Rule(ws, "read"))).Error);
        await child.Reached(0);
        node.Region.Tell(new WorkerEnvelope("d-prs", new InjectWorkerFailure("parent crash")));
        await Task.Delay(500);
        child.Release(0);
        await using var fresh = node.Client();
        await fresh.AttachAsync("d-prs");
        // The report of the child's resumed run reaches the restarted parent once, as turn_ended.
        for (var i = 0; i < 50 && !node.JournalOf("d-prs").Any(r => r.Manifest == "child_report_received"); i++) await Task.Delay(200);
        await Task.Delay(500);
        var queued = Assert.Single(node.JournalOf("d-prs"), r => r.Manifest == "notify_queued");
        Assert.Contains("turn_ended", queued.Json);
        Assert.DoesNotContain("errored", queued.Json);
        Assert.Contains(node.JournalOf("d-prs/c1"), r => r.Manifest == "run_resumed");
        // a redelivery of the same report (as after a lost ack) is dropped
        var id = JsonDocument.Parse(Assert.Single(node.JournalOf("d-prs"), r => r.Manifest == "child_report_received").Json).RootElement.GetProperty("delivery_id").GetInt64();
        node.Region.Tell(new WorkerEnvelope("d-prs", new ChildReport("d-prs/c1", id, new TurnEndedWorkerEvent("d-prs/c1"))));
        await fresh.BarrierAsync();
        Assert.Single(node.JournalOf("d-prs"), r => r.Manifest == "child_report_received");
        Assert.Single(node.JournalOf("d-prs"), r => r.Manifest == "notify_queued");
        await Task.Delay(300);
        Assert.DoesNotContain(node.JournalOf("d-prs/c1").Select(r => r.Manifest).Where(m => m == "report_queued").Skip(1), _ => true);
        Assert.Contains(node.JournalOf("d-prs/c1"), r => r.Manifest == "report_delivered");
        await client.DisposeAsync();
    }

    // --- parent restart mid-child-run without resume_on_recovery: the interrupted run is reported once, as errored
    [Fact]
    public async Task A_childs_run_interrupted_by_its_parents_restart_and_not_resumed_is_reported_once()
    {
        var child = new GatedModel(Script(Resp(new ScriptText("never")))).Hold(0);
        node.Models["d-pri/c1"] = child;
        var parentModel = Script(Enumerable.Range(0, 4).Select(i => Resp(new ScriptText($"p{i}"))).ToArray());
        var (client, ws) = await Parent("d-pri", parentModel, w => F.Grant(w));
        Assert.Null((await Spawn("d-pri", "c1", "t", Rule(ws, "read"))).Error);
        await child.Reached(0);
        node.Region.Tell(new WorkerEnvelope("d-pri", new InjectWorkerFailure("parent crash")));
        for (var i = 0; i < 50 && !node.JournalOf("d-pri").Any(r => r.Manifest == "notify_queued"); i++) await Task.Delay(200);
        var queued = Assert.Single(node.JournalOf("d-pri"), r => r.Manifest == "notify_queued");
        Assert.Contains("errored", queued.Json);
        Assert.Contains(DelegationState.InterruptedReport, queued.Json);
        // another restart of the parent (the child restarts with it): the same interruption is not reported again
        node.Region.Tell(new WorkerEnvelope("d-pri", new InjectWorkerFailure("again")));
        await Task.Delay(1000);
        await node.FreshSnapshot("d-pri/c1");
        Assert.Single(node.JournalOf("d-pri"), r => r.Manifest == "notify_queued");
        Assert.Single(node.JournalOf("d-pri/c1"), r => r.Manifest == "report_queued");
        child.Release(0);
        await client.DisposeAsync();
    }

    // --- upward rules: notification turns of a child are silent; top-level Workers report nothing (29, 35)
    [Fact]
    public async Task A_childs_notification_turn_sends_no_report()
    {
        node.Models["d-quiet/c1"] = Script(Resp(new ScriptText("task")), Resp(new ScriptText("notified")));
        var (client, ws) = await Parent("d-quiet", Script(Enumerable.Range(0, 4).Select(i => Resp(new ScriptText($"p{i}"))).ToArray()), w => F.Grant(w));
        Assert.Null((await Spawn("d-quiet", "c1", "t", Rule(ws, "read"))).Error);
        await client.NextAsync<SystemItemEvent>(s => s.Item is WorkerEventSystemItem { Event: TurnEndedWorkerEvent });
        await using var c = node.Client();
        await c.AttachAsync("d-quiet/c1");
        c.Send(new NotifyMethod("ping", true));
        await c.NextAsync<RunEndEvent>();
        await Task.Delay(500);
        Assert.Single(node.JournalOf("d-quiet/c1"), r => r.Manifest == "report_queued");
        await client.DisposeAsync();
    }

    // --- discovery: list_workers, restore_worker, register_peer, SendToPeerWorker (23, 24, 27, 28)
    [Fact]
    public async Task Discovery_lists_self_children_and_peers_and_peer_messages_are_notifications()
    {
        node.Models["d-disc/c1"] = Script(Resp(new ScriptHang()));
        var (client, ws) = await Parent("d-disc", Idle(), w => F.Grant(w));
        var peerModel = Script(Resp(new ScriptText("got it")));
        var peerWs = node.Workspace("d-peer");
        await using var peer = await node.StartAsync("d-peer", peerModel, F.ParentManifest(peerWs, F.Grant(peerWs)), peerWs);
        Assert.Null((await Spawn("d-disc", "c1", "t", Rule(ws, "read"))).Error);

        client.Send(new RegisterPeerMethod("d-disc"));
        Assert.Contains("peer of itself", (await client.NextAsync<ErrorEvent>()).Message);
        client.Send(new RegisterPeerMethod("d-ghost"));
        Assert.Contains("does not exist", (await client.NextAsync<ErrorEvent>()).Message);
        client.Send(new RegisterPeerMethod("d-peer"));
        await client.NextAsync<PeerRegisteredEvent>();

        var list = await node.ToolAsync("d-disc", "ListWorkers", new { });
        var names = JsonDocument.Parse(list.Content!).RootElement.EnumerateArray().Select(e => e.GetProperty("worker_name").GetString()).ToList();
        Assert.Equal(["c1", "d-disc", "d-peer"], names);
        Assert.Equal("3 visible worker(s)", list.Summary);

        // 24: a Worker in the store that is not visible vs. no state at all (checked first)
        var hiddenWs = node.Workspace("d-hidden");
        await using (await node.StartAsync("d-hidden", Idle(), F.ParentManifest(hiddenWs, F.Grant(hiddenWs)), hiddenWs)) { }
        client.Send(new RestoreWorkerMethod("d-hidden"));
        Assert.Contains("worker `d-hidden` is not visible to this Worker", (await client.NextAsync<ErrorEvent>()).Message);
        client.Send(new RestoreWorkerMethod("d-ghost"));
        Assert.Contains("worker state missing for `d-ghost`", (await client.NextAsync<ErrorEvent>()).Message);
        var ghost = await node.ToolAsync("d-disc", "RestoreWorker", new { name = "d-ghost" });
        Assert.Equal(ToolErrorKind.InvalidArgument, ghost.ErrorKind);
        Assert.Contains("worker state missing", ghost.Error);
        Assert.Contains("not visible", (await node.ToolAsync("d-disc", "RestoreWorker", new { name = "d-hidden" })).Error);
        client.Send(new RestoreWorkerMethod("c1"));
        Assert.Equal("already_live", (await client.NextAsync<WorkerRestoredEvent>()).Result.GetProperty("action").GetString());

        Assert.Contains("not as a peer", (await node.ToolAsync("d-disc", "SendToPeerWorker", new { name = "c1", message = "x" })).Error);
        Assert.Equal("sent peer message to `d-peer`", (await node.ToolAsync("d-disc", "SendToPeerWorker", new { name = "d-peer", message = "hello" })).Summary);
        await peer.NextAsync<RunEndEvent>();
        Assert.Contains(Requests.Lines(peerModel.Requests[0]), l => l.Contains("[Peer message from `d-disc`]\nhello"));
        // reciprocal
        var peerList = await node.ToolAsync("d-peer", "ListWorkers", new { });
        Assert.Contains("d-disc", peerList.Content);
        await client.DisposeAsync();
    }

    private sealed class FixedLoans(IReadOnlyList<ScopeRule> rules) : Yoi.Actors.Scope.IWriteLoans
    {
        public bool AnyWriteLoan => rules.Count > 0;
        public IReadOnlyList<ScopeRule> LoanedWriteRules => rules;
    }
}

public static class DelegationKit
{
    public static List<JournalRow> JournalOf(this DelegationNodeFixture node, string name)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(node.Home, "yoi.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT sequence_number, manifest, message FROM journal WHERE persistence_id = $p ORDER BY sequence_number";
        cmd.Parameters.AddWithValue("$p", "worker|" + name);
        using var reader = cmd.ExecuteReader();
        var rows = new List<JournalRow>();
        while (reader.Read())
            rows.Add(new JournalRow(reader.GetInt64(0), reader.GetString(1),
                reader.GetValue(2) is byte[] b ? System.Text.Encoding.UTF8.GetString(b) : Convert.ToString(reader.GetValue(2)) ?? ""));
        return rows;
    }

    public static async Task<SnapshotEvent> FreshSnapshot(this DelegationNodeFixture node, string name)
    {
        await using var c = node.Client();
        return await c.AttachAsync(name);
    }
}
