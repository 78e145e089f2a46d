using System.Text.Json;
using Yoi.Actors.Engine.Scripted;
using Yoi.Actors.Worker;
using Yoi.Messages;
using static Yoi.Actors.Tests.Worker.Kit;

namespace Yoi.Actors.Tests.Worker;

/// <summary>reference-engine §9 "Journal and restore", "Interrupt, pause, cancel" and "Rewind" behaviours, adapted to
/// the Worker actor and its SQL journal: "the log" is the visible projection (a fresh attach's snapshot entries),
/// "replay" is <see cref="WorkerState"/>. The restart-bound items (34, 35, 37 through a node restart) are in
/// <see cref="WorkerRestartTests"/>.</summary>
[Collection(WorkerNodeCollection.Name)]
public sealed class WorkerJournalAcceptanceTests(WorkerNodeFixture node)
{
    private static readonly Guid Session = Guid.CreateVersion7();

    private static WorkerState Replay(params LogEntry[] entries)
    {
        var state = new WorkerState();
        state.Apply(new WorkerCreated(1, "w", Session, Guid.CreateVersion7(), JsonDocument.Parse("{}").RootElement));
        foreach (var e in entries) state.Apply(e);
        return state;
    }

    private static SegmentStartEntry Start() => new(Session, "sys", RequestConfig.Default, []);

    private static UserInputEntry Input(string text) => new([new TextSegment(text)]);

    // engine §9 #31
    [Fact]
    public async Task A_first_run_writes_exactly_the_reference_entry_kinds_and_the_rendered_system_prompt()
    {
        var model = Script(Resp(new ScriptText("hi"), new ScriptUsage(Input: 10, Output: 2)));
        var (client, _) = await node.StartAsync("ja-first-run", model, manifestExtra: """
            [engine]
            instruction = "You are the journal test worker."
            """);
        await using var _c = client;
        client.Send(new RunMethod([new TextSegment("first")]));
        await client.UntilStatusAsync(WorkerStatus.Idle);

        var entries = (await node.FreshSnapshotAsync("ja-first-run")).Entries;
        Assert.Equal(["segment_start", "invoke", "user_input", "assistant_item", "turn_end", "llm_usage", "run_completed"], Kinds(entries));
        Assert.Equal(InvokeKind.UserSend, ((InvokeEntry)entries[1]).Trigger);
        Assert.Equal(1UL, ((TurnEndEntry)entries[4]).TurnCount);
        Assert.Equal(new RunCompletedEntry(false, EngineResult.Finished) { Ts = entries[6].Ts }, entries[6]);
        var start = (SegmentStartEntry)entries[0];
        Assert.Equal("You are the journal test worker.", start.SystemPrompt);
        Assert.Equal(start.SystemPrompt, Assert.Single(model.Requests).SystemPrompt);
    }

    // engine §9 #34 (replay)
    [Fact]
    public void Replaying_a_tool_turn_rebuilds_history_and_turn_count()
    {
        var state = Replay(Start(), Input("Check weather"),
            new AssistantItemEntry(new ToolCallItem("call_1", "get_weather", """{"city":"Tokyo"}""")),
            new ToolResultEntry(new ToolResultItem("call_1", "Sunny, 22C")),
            new AssistantItemEntry(MessageItem.Text(Role.Assistant, "It's sunny")),
            new TurnEndEntry(1));
        Assert.Equal(4, state.History.Count);
        Assert.Equal("Check weather", Assert.IsType<MessageItem>(state.History[0]).PlainText);
        Assert.Equal("call_1", Assert.IsType<ToolCallItem>(state.History[1]).CallId);
        Assert.Equal("call_1", Assert.IsType<ToolResultItem>(state.History[2]).CallId);
        Assert.Equal("It's sunny", Assert.IsType<MessageItem>(state.History[3]).PlainText);
        Assert.Equal(1UL, state.TurnCount);
    }

    // engine §9 #35 (replay)
    [Fact]
    public void A_log_ending_without_a_terminal_entry_replays_as_interrupted_and_an_abandoned_one_does_not()
    {
        var dangling = Replay(Start(), new InvokeEntry(InvokeKind.UserSend), Input("go"),
            new AssistantItemEntry(new ToolCallItem("c1", "Read", "{}")));
        Assert.True(dangling.LastRunInterrupted);
        Assert.Equal("c1", Assert.Single(dangling.UnansweredToolCalls()).CallId);

        var abandoned = Replay(Start(), new InvokeEntry(InvokeKind.UserSend), Input("go"),
            new AssistantItemEntry(new ToolCallItem("c1", "Read", "{}")), new RunErroredEntry(true, "Cancelled"),
            new PausedTurnAbandonedEntry());
        Assert.False(abandoned.LastRunInterrupted);
    }

    // engine §9 #39
    [Fact]
    public async Task Worker_created_carries_the_session_and_segment_that_the_first_segment_start_uses()
    {
        var model = Script(Resp(new ScriptText("hi")));
        var (client, snapshot) = await node.StartAsync("ja-created-ids", model);
        await using var _c = client;
        Assert.Empty(snapshot.Entries); // segment pending: segment_start is written lazily at the first run
        var created = Parse(Assert.Single(node.Journal("ja-created-ids"), r => r.Manifest == "worker_created"));
        var session = created.GetProperty("session_id").GetGuid();
        var segment = created.GetProperty("segment_id").GetGuid();
        Assert.NotEqual(Guid.Empty, session);

        client.Run("first");
        await client.UntilStatusAsync(WorkerStatus.Idle);
        var entries = (await node.FreshSnapshotAsync("ja-created-ids")).Entries;
        Assert.Equal(session, Assert.IsType<SegmentStartEntry>(entries[0]).SessionId);
        client.Send(new ListRewindTargetsMethod());
        var targets = await client.NextAsync<RewindTargetsEvent>();
        Assert.Equal(segment, Assert.Single(targets.Targets).Id.SegmentId);
        Assert.Equal(model.Requests[0].CacheKey, segment.ToString());
    }

    // engine §9 #40
    [Fact]
    public async Task The_run_after_a_cancelled_tool_call_first_closes_it_and_writes_the_interrupt_note()
    {
        var tool = new GateTool("sleep");
        var model = Script(Resp(new ScriptToolCall("call-1", "sleep", "{}")), Resp(new ScriptText("ok")));
        var (client, _) = await node.StartAsync("ja-cancel-tool", model, [tool]);
        await using var _c = client;
        client.Run("start");
        await tool.Started;
        client.Send(new CancelMethod());
        var seen = await client.UntilStatusAsync(WorkerStatus.Idle);
        Assert.Contains(new ErrorEvent(ErrorCode.Internal, "Cancelled"), seen);
        await tool.Cancelled.WaitAsync(WorkerClient.Timeout);

        client.Run("next");
        await client.UntilStatusAsync(WorkerStatus.Idle);
        var entries = (await node.FreshSnapshotAsync("ja-cancel-tool")).Entries;
        var invoke = entries.Select((e, i) => (e, i)).Last(x => x.e is InvokeEntry).i;
        var closure = Assert.IsType<ToolResultEntry>(entries[invoke - 2]);
        Assert.Equal(new ToolResultItem("call-1", "[Interrupted by user]"), closure.Item);
        Assert.False(closure.Item.IsError);
        var note = Assert.IsType<SystemItemEntry>(entries[invoke - 1]);
        Assert.Equal(new InterruptSystemItem("[The previous turn was interrupted by the user. The user's next request follows.]"), note.Item);

        var lines = Requests.Lines(model.Requests[1]);
        var result = lines.IndexOf("tool_result call-1: [Interrupted by user]");
        Assert.True(result >= 0, string.Join("\n", lines));
        Assert.Equal("system: " + InterruptSystemItem.DefaultBody, lines[result + 1]);
        Assert.Equal(1, tool.Calls);
    }

    // engine §9 #41
    [Fact]
    public async Task Cancel_while_paused_writes_closure_note_and_abandon_and_the_next_run_no_second_note()
    {
        var tool = new GateTool("sleep");
        var model = Script(Resp(new ScriptToolCall("c1", "sleep", "{}")), Resp(new ScriptText("ok")));
        var (client, _) = await node.StartAsync("ja-paused-cancel", model, [tool]);
        await using var _c = client;
        client.Run("start");
        await tool.Started;
        client.Send(new PauseMethod());
        await client.UntilStatusAsync(WorkerStatus.Paused);
        client.Send(new CancelMethod());
        await client.UntilStatusAsync(WorkerStatus.Idle);

        var entries = (await node.FreshSnapshotAsync("ja-paused-cancel")).Entries;
        Assert.Equal(["tool_result", "system_item", "paused_turn_abandoned"], Kinds(entries.TakeLast(3)));
        Assert.Equal("[Interrupted by user]", ((ToolResultEntry)entries[^3]).Item.Summary);
        Assert.IsType<InterruptSystemItem>(((SystemItemEntry)entries[^2]).Item);

        client.Run("again");
        await client.UntilStatusAsync(WorkerStatus.Idle);
        entries = (await node.FreshSnapshotAsync("ja-paused-cancel")).Entries;
        Assert.Single(entries, e => e is SystemItemEntry { Item: InterruptSystemItem });
        Assert.Single(entries, e => e is ToolResultEntry);
    }

    // engine §9 #42
    [Fact]
    public async Task A_run_cancelled_before_any_output_rolls_the_log_and_history_back()
    {
        var model = Script(Resp(new ScriptText("Hello", " World")), Resp(new ScriptHang()), Resp(new ScriptText("ok")));
        var (client, _) = await node.StartAsync("ja-rollback", model);
        await using var _c = client;
        client.Run("kept");
        await client.UntilStatusAsync(WorkerStatus.Idle);
        var before = Json((await node.FreshSnapshotAsync("ja-rollback")).Entries);

        client.Run("discarded");
        await client.NextAsync<LlmCallStartEvent>(l => l.LlmCall == 1);
        client.Send(new CancelMethod());
        Assert.Contains(new RunEndEvent(RunResult.RolledBack), await client.UntilStatusAsync(WorkerStatus.Idle));
        Assert.Equal(before, Json((await node.FreshSnapshotAsync("ja-rollback")).Entries));

        client.Run("after");
        await client.UntilStatusAsync(WorkerStatus.Idle);
        Assert.Equal(["user: kept", "assistant: Hello World", "user: after"], Requests.Lines(model.Requests[2]));
    }

    // engine §9 #43
    [Fact]
    public async Task A_user_pause_after_output_journals_run_errored_and_resume_writes_no_invoke_or_input()
    {
        var model = Script(Resp(new ScriptText("partial"), new ScriptHang()), Resp(new ScriptText("rest")));
        var (client, _) = await node.StartAsync("ja-pause-resume", model);
        await using var _c = client;
        await client.PauseDuringTextAsync();
        var paused = await node.FreshSnapshotAsync("ja-pause-resume");
        Assert.Equal(WorkerStatus.Paused, paused.Status);
        var errored = Assert.IsType<RunErroredEntry>(paused.Entries[^1]);
        Assert.True(errored.Interrupted);
        Assert.Equal("Cancelled", errored.Message);

        var mark = client.Mark();
        client.Send(new ResumeMethod());
        await client.UntilStatusAsync(WorkerStatus.Idle);
        Assert.DoesNotContain(client.Since(mark), o => o is InvokeStartEvent or UserMessageEvent);
        var entries = (await node.FreshSnapshotAsync("ja-pause-resume")).Entries;
        Assert.Single(entries, e => e is InvokeEntry);
        Assert.Single(entries, e => e is UserInputEntry);
        Assert.Equal(Json(paused.Entries), Json(entries.Take(paused.Entries.Count)));
        Assert.Equal(new RunCompletedEntry(false, EngineResult.Finished) { Ts = entries[^1].Ts }, entries[^1]);
    }

    // engine §9 #44 (exact reference log)
    [Fact]
    public void Rewind_targets_of_the_reference_log_are_newest_first_with_invoke_indices_and_warnings()
    {
        var segment = Guid.CreateVersion7();
        LogEntry[] withTool =
        [
            Start(), new InvokeEntry(InvokeKind.UserSend), Input("first message"), new TurnEndEntry(1),
            new InvokeEntry(InvokeKind.UserSend), Input("second message"), new TurnEndEntry(2),
            new ToolResultEntry(new ToolResultItem("c1", "done")),
        ];
        var listed = Rewind.ListTargets(withTool, segment);
        Assert.Equal(8, listed.HeadEntries);
        Assert.Equal(["second message", "first message"], listed.Targets.Select(t => t.Preview));
        Assert.Equal([2, 1], listed.Targets.Select(t => t.TurnIndex));
        Assert.Equal([4, 1], listed.Targets.Select(t => t.TruncateEntries));
        Assert.Equal([5, 2], listed.Targets.Select(t => t.Id.UserInputEntryIndex));
        Assert.All(listed.Targets, t =>
        {
            Assert.Equal(Rewind.SideEffectWarning, t.Warning);
            Assert.Equal(8, t.ExpectedHeadEntries);
            Assert.Equal(segment, t.Id.SegmentId);
            Assert.True(t.Eligible);
        });
        Assert.All(Rewind.ListTargets(withTool[..7], segment).Targets, t => Assert.Null(t.Warning));
    }

    /// <summary>Two user turns through the actor, the second with a tool call.</summary>
    private async Task<(WorkerClient Client, ScriptedModelClient Model)> TwoTurnsAsync(string name)
    {
        var model = Script(Resp(new ScriptText("one")), Resp(new ScriptToolCall("c1", "echo", """{"x":1}""")), Resp(new ScriptText("two")),
            Resp(new ScriptText("three")));
        var (client, _) = await node.StartAsync(name, model, [new EchoTool()]);
        client.Run("first message");
        await client.UntilStatusAsync(WorkerStatus.Idle);
        client.Run("second message");
        await client.UntilStatusAsync(WorkerStatus.Idle);
        return (client, model);
    }

    // engine §9 #44 (through the actor)
    [Fact]
    public async Task Rewind_targets_of_a_worker_point_at_each_invoke_and_warn_about_tool_work()
    {
        var (client, _) = await TwoTurnsAsync("ja-targets");
        await using var _c = client;
        client.Send(new ListRewindTargetsMethod());
        var listed = await client.NextAsync<RewindTargetsEvent>();
        var entries = (await node.FreshSnapshotAsync("ja-targets")).Entries;
        Assert.Equal(entries.Count, listed.HeadEntries);
        Assert.Equal(["second message", "first message"], listed.Targets.Select(t => t.Preview));
        Assert.Equal([2, 1], listed.Targets.Select(t => t.TurnIndex));
        var invokes = entries.Select((e, i) => (e, i)).Where(x => x.e is InvokeEntry).Select(x => x.i).Reverse().ToList();
        Assert.Equal(invokes, listed.Targets.Select(t => t.TruncateEntries));
        Assert.All(listed.Targets, t => Assert.Equal(Rewind.SideEffectWarning, t.Warning));
        Assert.All(listed.Targets, t => Assert.Equal(entries[t.Id.UserInputEntryIndex].Ts, t.TimestampMs));

        var plain = Script(Resp(new ScriptText("one")), Resp(new ScriptText("two")));
        var (other, _) = await node.StartAsync("ja-targets-plain", plain);
        await using var _o = other;
        other.Run("a");
        await other.UntilStatusAsync(WorkerStatus.Idle);
        other.Run("b");
        await other.UntilStatusAsync(WorkerStatus.Idle);
        other.Send(new ListRewindTargetsMethod());
        Assert.All((await other.NextAsync<RewindTargetsEvent>()).Targets, t => Assert.Null(t.Warning));
    }

    // engine §9 #45
    [Fact]
    public async Task Rewind_to_the_newest_target_keeps_the_prefix_and_rebuilds_history_and_turn_count()
    {
        var (client, model) = await TwoTurnsAsync("ja-rewind-apply");
        await using var _c = client;
        client.Send(new ListRewindTargetsMethod());
        var listed = await client.NextAsync<RewindTargetsEvent>();
        var newest = listed.Targets[0];
        var before = (await node.FreshSnapshotAsync("ja-rewind-apply")).Entries;

        client.Send(new RewindToMethod(newest.Id, listed.HeadEntries));
        var applied = await client.NextAsync<RewindAppliedEvent>();
        await client.NextAsync<StatusEvent>(s => s.Status == WorkerStatus.Idle);
        Assert.Equal([new TextSegment("second message")], applied.Input);
        Assert.Equal(new RewindSummary(newest.TruncateEntries, listed.HeadEntries - newest.TruncateEntries, true), applied.Summary);
        Assert.Equal(Json(before.Take(newest.TruncateEntries)), Json(applied.Entries));
        Assert.Equal(Json(applied.Entries), Json((await node.FreshSnapshotAsync("ja-rewind-apply")).Entries));

        client.Run("third");
        var seen = await client.UntilStatusAsync(WorkerStatus.Idle);
        Assert.Equal(new TurnStartEvent(1), seen.OfType<TurnStartEvent>().First()); // turn_count replayed to 1
        Assert.Equal(["user: first message", "assistant: one", "user: third"], Requests.Lines(model.Requests[^1]));
    }

    // engine §9 #46
    [Fact]
    public async Task Rewind_to_with_targets_listed_before_new_entries_fails_and_changes_nothing()
    {
        var model = Script(Resp(new ScriptText("one")), Resp(new ScriptText("two")));
        var (client, _) = await node.StartAsync("ja-rewind-stale", model);
        await using var _c = client;
        client.Run("first");
        await client.UntilStatusAsync(WorkerStatus.Idle);
        client.Send(new ListRewindTargetsMethod());
        var listed = await client.NextAsync<RewindTargetsEvent>();
        client.Run("second");
        await client.UntilStatusAsync(WorkerStatus.Idle);
        var before = (await node.FreshSnapshotAsync("ja-rewind-stale")).Entries;
        Assert.True(before.Count > listed.HeadEntries);

        client.Send(new RewindToMethod(listed.Targets[0].Id, listed.HeadEntries));
        var error = await client.NextAsync<ErrorEvent>();
        Assert.Equal(new ErrorEvent(ErrorCode.InvalidRequest,
            $"session head changed since picker opened (expected {listed.HeadEntries}, current {before.Count})"), error);
        Assert.Equal(Json(before), Json((await node.FreshSnapshotAsync("ja-rewind-stale")).Entries));
        Assert.DoesNotContain(node.Journal("ja-rewind-stale"), r => r.Manifest == "entries_discarded");
    }
}
