using Microsoft.Data.Sqlite;
using Yoi.Actors.Engine.Scripted;
using Yoi.Messages;
using static Yoi.Actors.Tests.Worker.Kit;

namespace Yoi.Actors.Tests.Worker;

/// <summary>Tests that restart the whole node get their own node (a restart would disturb the shared one).</summary>
[CollectionDefinition(Name)]
public sealed class WorkerRestartCollection : ICollectionFixture<WorkerNodeFixture>
{
    public const string Name = "worker-node-restart";
}

/// <summary>What survives a node restart on the same journal: durable Paused, the journaled notify buffer, snapshot-bound
/// recovery (our deviations, spec README), and reference-engine §9 items 34, 35 and 37 through the SQL journal.</summary>
[Collection(WorkerRestartCollection.Name)]
public sealed class WorkerRestartTests(WorkerNodeFixture node)
{
    // deviation (a), spec README "Paused is durable"
    [Fact]
    public async Task A_paused_worker_is_still_paused_after_a_restart_and_resume_finishes()
    {
        var model = Script(Resp(new ScriptText("partial..."), new ScriptHang()), Resp(new ScriptText("resumed output")));
        var (client, _) = await node.StartAsync("rs-paused", model);
        await client.PauseDuringTextAsync();
        await client.DisposeAsync();

        await node.RestartAsync();

        await using var fresh = node.Client();
        var snapshot = await fresh.AttachAsync("rs-paused");
        Assert.Equal(WorkerStatus.Paused, snapshot.Status);
        fresh.Send(new ResumeMethod());
        var seen = await fresh.UntilStatusAsync(WorkerStatus.Idle);
        AssertOrderedSubsequence(seen, new StatusEvent(WorkerStatus.Running), new TextDoneEvent("resumed output"),
            new RunEndEvent(RunResult.Finished), new StatusEvent(WorkerStatus.Idle));
        Assert.DoesNotContain(seen, o => o is ErrorEvent);
        Assert.Equal(["user: work"], Requests.Lines(model.Requests[1]));
    }

    // deviation (c), spec README "No lost notifications"
    [Fact]
    public async Task A_weak_notify_queued_before_a_restart_is_drained_into_the_first_run_after_it()
    {
        var model = Script(Resp(new ScriptText("ok")));
        var (client, _) = await node.StartAsync("rs-notify", model);
        client.Send(new NotifyMethod("survives restarts", AutoRun: false));
        await client.BarrierAsync();
        await client.DisposeAsync();
        Assert.Single(node.Journal("rs-notify"), r => r.Manifest == "notify_queued");

        await node.RestartAsync();

        await using var fresh = node.Client();
        await fresh.AttachAsync("rs-notify");
        Assert.Empty(model.Requests);
        fresh.Run("go");
        await fresh.UntilStatusAsync(WorkerStatus.Idle);
        var request = Assert.Single(model.Requests);
        Assert.Contains(Requests.Lines(request), l => l.StartsWith("system: [Notification]") && l.Contains("survives restarts"));
        Assert.Single(node.Journal("rs-notify"), r => r.Manifest == "notify_drained");
    }

    // deviation (d), spec README "Snapshots bound recovery"
    [Fact]
    public async Task A_worker_with_more_events_than_the_snapshot_interval_recovers_identical_entries_from_its_snapshot()
    {
        const string name = "rs-snapshot";
        var responses = Enumerable.Range(0, 6).Select(i => Resp(new ScriptText($"answer {i}"), new ScriptUsage(Input: 5, Output: 1))).ToArray();
        var model = new ScriptedModelClient(responses);
        var (client, _) = await node.StartAsync(name, model);
        for (var i = 0; i < 5; i++)
        {
            client.Run($"question {i}");
            await client.UntilStatusAsync(WorkerStatus.Idle);
        }
        client.Send(new NotifyMethod("pending across the restart", AutoRun: false));
        await client.BarrierAsync();
        await client.DisposeAsync();
        Assert.True(node.Journal(name).Count > 25);
        var before = await node.FreshSnapshotAsync(name);

        // Snapshot saves are asynchronous: wait until one is stored, then make the journal prefix it covers unreadable,
        // so the restored state can only come from the snapshot plus the events after it.
        var snapshotSeq = await WaitForSnapshotAsync(name);
        Assert.True(snapshotSeq >= 25);
        DeleteJournalPrefix(name, snapshotSeq);

        await node.RestartAsync();

        await using var fresh = node.Client();
        var after = await fresh.AttachAsync(name);
        Assert.Equal(Json(before.Entries), Json(after.Entries));
        Assert.Equal(WorkerStatus.Idle, after.Status);
        fresh.Run("question 5");
        await fresh.UntilStatusAsync(WorkerStatus.Idle);
        var lines = Requests.Lines(model.Requests[5]);
        Assert.Equal("user: question 0", lines[0]);
        Assert.Equal("user: question 5", lines[^2]); // the buffer is drained at the turn start, after the input
        Assert.StartsWith("system: [Notification]\npending across the restart", lines[^1]);
    }

    private async Task<long> WaitForSnapshotAsync(string name)
    {
        var deadline = DateTime.UtcNow + WorkerClient.Timeout;
        while (true)
        {
            await using (var connection = new SqliteConnection($"Data Source={Path.Combine(node.Home, "yoi-snapshots.db")};Pooling=False"))
            {
                connection.Open();
                using var cmd = connection.CreateCommand();
                cmd.CommandText = "SELECT MAX(sequence_number) FROM snapshot WHERE persistence_id = $p";
                cmd.Parameters.AddWithValue("$p", "worker|" + name);
                if (cmd.ExecuteScalar() is long seq) return seq;
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException("no snapshot was saved");
            await Task.Delay(50);
        }
    }

    private void DeleteJournalPrefix(string name, long upTo)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(node.Home, "yoi.db")};Pooling=False");
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "DELETE FROM journal WHERE persistence_id = $p AND sequence_number <= $s";
        cmd.Parameters.AddWithValue("$p", "worker|" + name);
        cmd.Parameters.AddWithValue("$s", upTo);
        Assert.Equal((int)upTo, cmd.ExecuteNonQuery());
    }

    // engine §9 #34 through the journal
    [Fact]
    public async Task History_and_turn_count_are_rebuilt_from_the_journal_after_a_restart()
    {
        var model = Script(Resp(new ScriptToolCall("call_1", "echo", """{"city":"Tokyo"}""")), Resp(new ScriptText("It's sunny")),
            Resp(new ScriptText("again")));
        var (client, _) = await node.StartAsync("rs-replay", model, [new EchoTool()]);
        client.Run("Check weather");
        await client.UntilStatusAsync(WorkerStatus.Idle);
        await client.DisposeAsync();

        await node.RestartAsync();

        await using var fresh = node.Client();
        await fresh.AttachAsync("rs-replay");
        fresh.Run("and tomorrow?");
        var seen = await fresh.UntilStatusAsync(WorkerStatus.Idle);
        Assert.Equal(new TurnStartEvent(2), seen.OfType<TurnStartEvent>().First());
        Assert.Equal(
        [
            "user: Check weather",
            """tool_call call_1 echo {"city":"Tokyo"}""",
            """tool_result call_1: echo {"city":"Tokyo"}""",
            "assistant: It's sunny",
            "user: and tomorrow?",
        ], Requests.Lines(model.Requests[2]));
    }

    // engine §9 #35 through the journal (and spec README "Failover": the interrupted run is closed by the next run)
    [Fact]
    public async Task A_run_cut_off_by_a_restart_restores_interrupted_and_the_next_run_closes_the_dangling_call()
    {
        var tool = new GateTool("sleep");
        var model = Script(Resp(new ScriptToolCall("call_cut", "sleep", "{}")), Resp(new ScriptText("fresh start")));
        var (client, _) = await node.StartAsync("rs-cut", model, [tool]);
        client.Run("long job");
        await tool.Started;
        await client.DisposeAsync();

        await node.RestartAsync();
        await tool.Cancelled.WaitAsync(WorkerClient.Timeout); // the stopped Worker's tool did not keep running

        await using var fresh = node.Client();
        var snapshot = await fresh.AttachAsync("rs-cut");
        Assert.Equal(WorkerStatus.Idle, snapshot.Status);
        Assert.IsType<ToolCallItem>(Assert.IsType<AssistantItemEntry>(snapshot.Entries[^1]).Item);
        fresh.Run("next");
        await fresh.UntilStatusAsync(WorkerStatus.Idle);
        var lines = Requests.Lines(model.Requests[1]);
        Assert.Equal(
        [
            "user: long job",
            "tool_call call_cut sleep {}",
            "tool_result call_cut: [Interrupted by user]",
            "system: " + InterruptSystemItem.DefaultBody,
            "user: next",
        ], lines);
        Assert.Equal(1, tool.Calls); // closed, not re-executed
    }

    // engine §9 #37 through the journal
    [Fact]
    public async Task An_image_tool_result_and_signed_encrypted_reasoning_survive_a_restart_field_by_field()
    {
        var model = Script(
            Resp(new ScriptThinking(["th", "ink"], Signature: "SIG-1", EncryptedContent: "ENC-1"), new ScriptToolCall("c_img", "image", "{}")),
            Resp(new ScriptText("seen")),
            Resp(new ScriptText("again")));
        var (client, _) = await node.StartAsync("rs-roundtrip", model, [new ImageTool()]);
        client.Run("look");
        await client.UntilStatusAsync(WorkerStatus.Idle);
        await client.DisposeAsync();

        await node.RestartAsync();

        await using var fresh = node.Client();
        var entries = (await fresh.AttachAsync("rs-roundtrip")).Entries;
        AssertRoundTrip(entries.OfType<AssistantItemEntry>().Select(a => a.Item).OfType<ReasoningItem>().Single(),
            entries.OfType<ToolResultEntry>().Single().Item);

        fresh.Run("again");
        await fresh.UntilStatusAsync(WorkerStatus.Idle);
        var items = model.Requests[2].Items;
        AssertRoundTrip(items.OfType<ReasoningItem>().Single(), items.OfType<ToolResultItem>().Single());
    }

    private static void AssertRoundTrip(ReasoningItem reasoning, ToolResultItem result)
    {
        Assert.Equal("think", reasoning.Text);
        Assert.Equal("SIG-1", reasoning.Signature);
        Assert.Equal("ENC-1", reasoning.EncryptedContent);
        Assert.True(reasoning.Summary is null or { Count: 0 });
        Assert.Equal("c_img", result.CallId);
        Assert.Equal("captured screenshot", result.Summary);
        Assert.Equal("pixels follow", result.Content);
        Assert.False(result.IsError);
        var image = Assert.Single(result.Attachments!);
        Assert.Equal("image", image.Kind);
        Assert.Equal("image/png", image.MimeType);
        Assert.Equal(ImageTool.Png, Convert.FromBase64String(image.Data));
    }
}
