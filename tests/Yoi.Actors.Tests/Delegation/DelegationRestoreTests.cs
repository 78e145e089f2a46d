using System.Text.Json;
using Akka.Actor;
using Microsoft.Data.Sqlite;
using Yoi.Actors.Engine.Scripted;
using Yoi.Actors.Tests.Worker;
using Yoi.Actors.Worker;
using Yoi.Messages;
using static Yoi.Actors.Tests.Worker.Kit;
using F = Yoi.Actors.Tests.Delegation.DelegationNodeFixture;

namespace Yoi.Actors.Tests.Delegation;

/// <summary>reference-delegation §9.36 / §1.8: restore-time reclaim of unreachable children.</summary>
[Collection(DelegationNodeCollection.Name)]
public sealed class DelegationRestoreTests(DelegationNodeFixture node)
{
    private static object Rule(string target, string permission = "write", bool recursive = true) => new { target, permission, recursive };

    // --- acceptance 36: after a node restart, P re-creates c1 (reachable) and c2 whose state is gone (unreachable):
    // c2 is pruned (reclaimed, its write loan returned), c1 kept, and P's next turn sees the weak notice; no auto-run.
    [Fact]
    public async Task A_restored_parent_prunes_children_whose_state_is_missing_and_tells_its_next_turn()
    {
        node.Models["dr-p/c1"] = Script(Resp(new ScriptText("c1 done")));
        node.Models["dr-p/c2"] = Script(Resp(new ScriptHang()));
        var parentModel = Script(
            Resp(new ScriptText("noted")), // c1's turn_ended, before the restart
            Resp(new ScriptToolCall("w1", "Write", """{"file_path":"b/f.txt","content":"mine again"}""")),
            Resp(new ScriptText("done")));
        var ws = node.Workspace("dr-p");
        Directory.CreateDirectory(ws + "/b");
        await using (var first = await node.StartAsync("dr-p", parentModel, F.ParentManifest(ws, F.Grant(ws)), ws))
        {
            Assert.Null((await node.ToolAsync("dr-p", "SpawnWorker", new { name = "c1", task = "t1", scope = new[] { Rule(ws, "read") } })).Error);
            Assert.Null((await node.ToolAsync("dr-p", "SpawnWorker", new { name = "c2", task = "t2", scope = new[] { Rule(ws + "/b") } })).Error);
            Assert.Single((await Inspect("dr-p")).Loans);
            await first.NextAsync<RunEndEvent>(); // the notification turn for c1's turn_ended
        }

        await node.RestartAsync();
        DeleteState("dr-p/c2"); // c2's durable state is gone: missing at restore
        var c1Before = node.JournalOf("dr-p/c1").Count;

        await using var client = node.Client();
        await client.AttachAsync("dr-p");
        var queuedBefore = node.JournalOf("dr-p").Count(r => r.Manifest == "notify_queued");
        for (var i = 0; i < 50 && node.JournalOf("dr-p").Count(r => r.Manifest == "notify_queued") == queuedBefore; i++) await Task.Delay(100);

        var journal = node.JournalOf("dr-p");
        var removed = Assert.Single(journal, r => r.Manifest == "child_removed");
        Assert.Contains("dr-p/c2", removed.Json);
        var notice = journal.Last(r => r.Manifest == "notify_queued");
        var entry = JsonDocument.Parse(notice.Json).RootElement.GetProperty("entry");
        Assert.StartsWith("Restored Worker state contained", entry.GetProperty("message").GetString());
        Assert.False(entry.GetProperty("auto_run").GetBoolean());

        var inspection = await Inspect("dr-p");
        Assert.Equal(["dr-p/c1"], inspection.Children); // c1 kept unchanged
        Assert.Empty(inspection.Loans); // c2's write loan returned
        Assert.Contains(await node.AllocationsAsync(), a => a.Name == "dr-p/c1");
        Assert.DoesNotContain(await node.AllocationsAsync(), a => a.Name == "dr-p/c2");
        Assert.Equal(c1Before, node.JournalOf("dr-p/c1").Count);
        Assert.Single(parentModel.Requests); // not woken by the weak notice
        Assert.Equal(WorkerStatus.Idle, (await node.FreshSnapshot("dr-p")).Status);

        // the next turn carries the notice, and ws/b is writable for P again
        client.Run("continue");
        var write = await client.NextAsync<ToolResultEvent>(t => t.Id == "w1");
        Assert.False(write.IsError, write.Summary);
        await client.NextAsync<RunEndEvent>();
        Assert.Contains(Requests.Lines(parentModel.Requests[1]), l => l.Contains("Restored Worker state contained missing or unreachable delegated child Workers"));
        Assert.Equal("mine again", File.ReadAllText(ws + "/b/f.txt"));
    }

    private Task<WorkerInspection> Inspect(string name) =>
        node.Region.Ask<WorkerInspection>((Func<IActorRef, object>)(a => new WorkerEnvelope(name, new InspectWorker(a))), TimeSpan.FromSeconds(5), CancellationToken.None);

    private void DeleteState(string name)
    {
        foreach (var (file, table) in new[] { ("yoi.db", "journal"), ("yoi-snapshots.db", "snapshot") })
        {
            using var connection = new SqliteConnection($"Data Source={Path.Combine(node.Home, file)};Pooling=False");
            connection.Open();
            using var cmd = connection.CreateCommand();
            cmd.CommandText = $"DELETE FROM {table} WHERE persistence_id = $p";
            cmd.Parameters.AddWithValue("$p", "worker|" + name);
            cmd.ExecuteNonQuery();
        }
    }
}
