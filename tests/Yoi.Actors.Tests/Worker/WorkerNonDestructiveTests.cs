using Yoi.Actors.Engine.Scripted;
using Yoi.Messages;
using static Yoi.Actors.Tests.Worker.Kit;

namespace Yoi.Actors.Tests.Worker;

/// <summary>Our deviation "nothing is destroyed" (spec README §"Where we go beyond" 2): rollback and rewind append an
/// <c>entries_discarded</c> marker; the visible projection drops the suffix, the journal rows stay.</summary>
[Collection(WorkerNodeCollection.Name)]
public sealed class WorkerNonDestructiveTests(WorkerNodeFixture node)
{
    [Fact]
    public async Task Rollback_hides_the_input_from_snapshots_but_the_journal_keeps_it()
    {
        var model = Script(Resp(new ScriptHang()));
        var (client, _) = await node.StartAsync("nd-rollback", model);
        await using var _c = client;
        client.Run("rollback me");
        await client.NextAsync<LlmCallStartEvent>();
        client.Send(new CancelMethod());
        Assert.Contains(new RunEndEvent(RunResult.RolledBack), await client.UntilStatusAsync(WorkerStatus.Idle));

        var snapshot = await node.FreshSnapshotAsync("nd-rollback");
        Assert.DoesNotContain("rollback me", Json(snapshot.Entries));
        var journal = node.Journal("nd-rollback");
        var input = Assert.Single(journal, r => r.Manifest == "entry" && r.Json.Contains("\"user_input\"") && r.Json.Contains("rollback me"));
        Assert.Single(journal, r => r.Manifest == "entry" && r.Json.Contains("\"invoke\"") && r.Seq == input.Seq - 1);
        var marker = Parse(Assert.Single(journal, r => r.Manifest == "entries_discarded"));
        Assert.Equal("rollback", marker.GetProperty("reason").GetString());
        Assert.Equal(snapshot.Entries.Count, marker.GetProperty("keep_entries").GetInt32());
        Assert.True(journal.Single(r => r.Manifest == "entries_discarded").Seq > input.Seq);
    }

    [Fact]
    public async Task Rewind_hides_the_suffix_from_snapshots_but_the_journal_keeps_it()
    {
        var model = Script(Resp(new ScriptText("one")), Resp(new ScriptText("two")));
        var (client, _) = await node.StartAsync("nd-rewind", model);
        await using var _c = client;
        client.Run("first message");
        await client.UntilStatusAsync(WorkerStatus.Idle);
        client.Run("second message");
        await client.UntilStatusAsync(WorkerStatus.Idle);
        client.Send(new ListRewindTargetsMethod());
        var listed = await client.NextAsync<RewindTargetsEvent>();
        var rowsBefore = node.Journal("nd-rewind");

        client.Send(new RewindToMethod(listed.Targets[0].Id, listed.HeadEntries));
        await client.NextAsync<RewindAppliedEvent>();
        await client.NextAsync<StatusEvent>(s => s.Status == WorkerStatus.Idle);

        var snapshot = await node.FreshSnapshotAsync("nd-rewind");
        Assert.DoesNotContain("second message", Json(snapshot.Entries));
        Assert.DoesNotContain("\"two\"", Json(snapshot.Entries));
        var rowsAfter = node.Journal("nd-rewind");
        Assert.Equal(rowsBefore, rowsAfter.Take(rowsBefore.Count)); // nothing rewritten or deleted
        var marker = Assert.Single(rowsAfter.Skip(rowsBefore.Count));
        Assert.Equal("entries_discarded", marker.Manifest);
        Assert.Equal("rewind", Parse(marker).GetProperty("reason").GetString());
        Assert.Equal(listed.Targets[0].TruncateEntries, Parse(marker).GetProperty("keep_entries").GetInt32());
        Assert.Contains(rowsAfter, r => r.Json.Contains("second message"));
    }
    /// <summary>Spec README "No lost notifications" (the reference loses them: §8.1 quirk).</summary>
    [Fact]
    public async Task A_notification_drained_into_a_rolled_back_run_is_requeued_for_the_next_run()
    {
        var model = Script(Resp(new ScriptHang()), Resp(new ScriptText("ok")));
        var (client, _) = await node.StartAsync("nd-requeue", model);
        await using var _c = client;
        client.Send(new NotifyMethod("do not lose me", AutoRun: false));
        client.Run("rolled back");
        await client.NextAsync<SystemItemEvent>();
        await client.NextAsync<LlmCallStartEvent>();
        client.Send(new CancelMethod());
        Assert.Contains(new RunEndEvent(RunResult.RolledBack), await client.UntilStatusAsync(WorkerStatus.Idle));
        Assert.DoesNotContain(await client.DrainAsync(Quiet), o => o is StatusEvent);
        Assert.DoesNotContain("do not lose me", Json((await node.FreshSnapshotAsync("nd-requeue")).Entries));

        client.Run("next");
        await client.UntilStatusAsync(WorkerStatus.Idle);
        var lines = Requests.Lines(model.Requests[1]);
        Assert.Equal("user: next", lines[0]);
        Assert.Single(lines, l => l.StartsWith("system: [Notification]\ndo not lose me"));
    }
}
