using System.Text.Json;
using Akka.Actor;
using Yoi.Actors.Delegation;
using Yoi.Actors.Engine.Scripted;
using Yoi.Actors.Tests.Worker;
using Yoi.Actors.Worker;
using Yoi.Messages;
using static Yoi.Actors.Tests.Worker.Kit;
using F = Yoi.Actors.Tests.Delegation.DelegationNodeFixture;

namespace Yoi.Actors.Tests.Delegation;

/// <summary>reference-delegation §9.33–34 / §3.4: scope_sub_delegated goes up the tree (through each child's journaled
/// outbox); every ancestor records the descendant once, re-emits it as itself, and no notification reaches a model.</summary>
[Collection(DelegationNodeCollection.Name)]
public sealed class DelegationSubDelegationTests(DelegationNodeFixture node)
{
    private static object Rule(string target, string permission = "write", bool recursive = true) => new { target, permission, recursive };

    [Fact]
    public async Task Grandchildren_are_recorded_by_every_ancestor_once_and_are_addressable_there()
    {
        foreach (var n in new[] { "ds-a/b", "ds-a/b/c", "ds-a/b/c/d" }) node.Models[n] = Script(Resp(new ScriptHang()));
        var rootModel = Script(Resp(new ScriptText("unused")));
        var ws = node.Workspace("ds-a");
        Directory.CreateDirectory(ws + "/b/c");
        await using var client = await node.StartAsync("ds-a", rootModel, F.ParentManifest(ws, F.Grant(ws)), ws);

        Assert.Null((await node.ToolAsync("ds-a", "SpawnWorker", new { name = "b", task = "t", scope = new[] { Rule(ws + "/b") } })).Error);
        Assert.Null((await node.ToolAsync("ds-a/b", "SpawnWorker", new { name = "c", task = "t", scope = new[] { Rule(ws + "/b/c") } })).Error);
        await Until(() => Recorded("ds-a").Count == 1);
        // 33: the grandparent records C (spawned by B) with B as its callback; no notification
        var c = Assert.Single(Recorded("ds-a"));
        Assert.Equal("ds-a/b/c", c.GetProperty("name").GetString());
        Assert.Equal("ds-a/b", c.GetProperty("parent_worker").GetString());

        Assert.Null((await node.ToolAsync("ds-a/b/c", "SpawnWorker", new { name = "d", task = "t", scope = new[] { Rule(ws + "/b/c", "read") } })).Error);
        await Until(() => Recorded("ds-a").Count == 2);
        // B heard it from C (parent_worker C); A heard it re-emitted by B (34: parent_worker rewritten to B)
        var atB = Assert.Single(Recorded("ds-a/b"), r => r.GetProperty("name").GetString() == "ds-a/b/c/d");
        Assert.Equal("ds-a/b/c", atB.GetProperty("parent_worker").GetString());
        var atA = Assert.Single(Recorded("ds-a"), r => r.GetProperty("name").GetString() == "ds-a/b/c/d");
        Assert.Equal("ds-a/b", atA.GetProperty("parent_worker").GetString());
        Assert.Equal("read", atA.GetProperty("scope")[0].GetProperty("permission").GetString());

        // control-plane only: nothing queued for the models, nobody woken; loans unchanged at the ancestors
        Assert.DoesNotContain(node.JournalOf("ds-a"), r => r.Manifest == "notify_queued");
        Assert.DoesNotContain(node.JournalOf("ds-a/b"), r => r.Manifest == "notify_queued");
        Assert.Empty(rootModel.Requests);
        var inspection = await node.Region.Ask<Yoi.Actors.Worker.WorkerInspection>(
            (Func<IActorRef, object>)(a => new WorkerEnvelope("ds-a", new Yoi.Actors.Worker.InspectWorker(a))), TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.Equal(["ds-a/b"], inspection.Children);
        Assert.Single(inspection.Loans);

        // a duplicate leaves the record unchanged and goes no further
        node.Region.Tell(new WorkerEnvelope("ds-a", new ChildReport("ds-a/b", 1000, new ScopeSubDelegatedWorkerEvent("ds-a/b", "ds-a/b/c", "elsewhere", []))));
        await client.BarrierAsync();
        await Task.Delay(200);
        Assert.Equal(2, Recorded("ds-a").Count);
        Assert.Equal("ds-a/b", Recorded("ds-a").Single(r => r.GetProperty("name").GetString() == "ds-a/b/c").GetProperty("parent_worker").GetString());

        // visible and addressable at the root by their path below it
        var list = await node.ToolAsync("ds-a", "ListWorkers", new { });
        var names = JsonDocument.Parse(list.Content!).RootElement.EnumerateArray().Select(e => e.GetProperty("worker_name").GetString()).ToList();
        Assert.Equal(["b", "b/c", "b/c/d", "ds-a"], names);
        Assert.Equal("ds-a/b/c/d", (await node.ToolAsync("ds-a", "ReadWorkerOutput", new { name = "b/c/d" })).Content);

        // the root stops the grandchild directly: it stops, its own parent reclaims it, the root drops the record
        var stop = await node.ToolAsync("ds-a", "StopWorker", new { name = "b/c/d" });
        Assert.Equal($"stopped worker `b/c/d`; reclaimed scope: read:{ws}/b/c", stop.Summary);
        await Until(() => node.JournalOf("ds-a/b/c").Any(r => r.Manifest == "child_removed"));
        await Until(async () => !(await node.AllocationsAsync()).Any(a => a.Name == "ds-a/b/c/d"));
        Assert.Contains("no spawned worker named", (await node.ToolAsync("ds-a", "ReadWorkerOutput", new { name = "b/c/d" })).Error);
    }

    private List<JsonElement> Recorded(string worker) => node.JournalOf(worker)
        .Where(r => r.Manifest == "sub_delegation_recorded")
        .Select(r => JsonDocument.Parse(r.Json).RootElement.Clone())
        .ToList();

    private static Task Until(Func<bool> condition) => Until(() => Task.FromResult(condition()));

    private static async Task Until(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 100; i++)
        {
            if (await condition()) return;
            await Task.Delay(100);
        }
        Assert.Fail("condition not met within 10s");
    }
}
