using Yoi.Actors.Engine.Scripted;
using Yoi.Actors.Worker;
using Yoi.Messages;
using static Yoi.Actors.Tests.Worker.Kit;

namespace Yoi.Actors.Tests.Worker;

/// <summary>reference-protocol §10 acceptance behaviours, against a real node. "Log"/"mirror" are read as the
/// snapshot entries of a fresh attach (the journal projection). Items 14, 15, 16, 27 and 28 are in
/// <see cref="WorkerStateTableTests"/>.</summary>
[Collection(WorkerNodeCollection.Name)]
public sealed class WorkerProtocolAcceptanceTests(WorkerNodeFixture node)
{
    // §10 #11
    [Fact]
    public async Task A_new_client_gets_the_buffered_alerts_oldest_first_then_exactly_one_snapshot()
    {
        var model = Script(Resp(new ScriptText("ok")));
        var (a, _) = await node.StartAsync("pa-alert-replay", model);
        await using var _a = a;
        a.Send(new CompactMethod());
        a.Send(new RunMethod([new UnknownSegment(), new TextSegment("x")]));
        await a.UntilStatusAsync(WorkerStatus.Idle);
        a.Send(new CompactMethod());
        await a.BarrierAsync();
        var live = a.Seen.OfType<AlertEvent>().ToList();
        Assert.Equal([AlertSource.Compactor, AlertSource.Worker, AlertSource.Compactor], live.Select(x => x.Source));

        await using var b = node.Client();
        b.Attach("pa-alert-replay");
        var prefix = new List<object>();
        while (prefix.LastOrDefault() is not SnapshotEvent) prefix.Add(await b.NextAsync<object>());
        Assert.Equal(live.Cast<object>(), prefix.SkipLast(1));
        b.Send(new ListCompletionsMethod(CompletionKind.File, "zz/"));
        var after = await b.DrainAsync(Quiet);
        Assert.DoesNotContain(after, o => o is SnapshotEvent);
    }

    // §10 #12
    [Fact]
    public async Task Attaching_mid_run_gives_a_running_snapshot_with_the_user_input_first()
    {
        var model = Script(Resp(new ScriptHang()));
        var (a, _) = await node.StartAsync("pa-attach-running", model);
        await using var _a = a;
        a.Run("hello in-flight");
        await a.NextAsync<LlmCallStartEvent>();

        await using var b = node.Client();
        b.Attach("pa-attach-running");
        object first;
        do first = await b.NextAsync<object>(); while (first is AlertEvent);
        var snapshot = Assert.IsType<SnapshotEvent>(first);
        Assert.Equal(WorkerStatus.Running, snapshot.Status);
        var input = Assert.Single(snapshot.Entries.OfType<UserInputEntry>());
        Assert.Equal("hello in-flight", Segment.FlattenAll(input.Segments));

        a.Send(new CancelMethod());
        await a.UntilStatusAsync(WorkerStatus.Idle);
    }

    // §10 #13
    [Fact]
    public async Task A_run_emits_running_turn_text_turn_end_run_end_then_idle()
    {
        var model = Script(Resp(new ScriptText("Hello", " World")));
        var (client, _) = await node.StartAsync("pa-run-order", model);
        await using var _c = client;
        client.Run("Hi");
        var seen = await client.UntilStatusAsync(WorkerStatus.Idle);
        AssertOrderedSubsequence(seen,
            new StatusEvent(WorkerStatus.Running), new TurnStartEvent(0), new TextDeltaEvent("Hello"), new TextDeltaEvent(" World"),
            new TextDoneEvent("Hello World"), new TurnEndEvent(0), new RunEndEvent(RunResult.Finished), new StatusEvent(WorkerStatus.Idle));
        Assert.Equal([WorkerStatus.Running, WorkerStatus.Idle], seen.OfType<StatusEvent>().Select(s => s.Status));
        Assert.DoesNotContain(await client.DrainAsync(Quiet), o => o is StatusEvent);
        Assert.Equal(WorkerStatus.Idle, (await node.FreshSnapshotAsync("pa-run-order")).Status);
    }

    // §10 #17
    [Fact]
    public async Task Paste_segments_are_committed_unchanged_and_flattened_without_chip_labels()
    {
        var model = Script(Resp(new ScriptText("ok")));
        var (client, _) = await node.StartAsync("pa-paste", model);
        await using var _c = client;
        Segment[] input = [new TextSegment("see "), new PasteSegment(7, 11, 2, "line1\nline2"), new TextSegment(" thanks")];
        client.Send(new RunMethod(input));
        await client.UntilStatusAsync(WorkerStatus.Idle);

        var message = Assert.Single(client.Seen.OfType<UserMessageEvent>());
        Assert.Equal(input, message.Segments);
        var entry = Assert.Single((await node.FreshSnapshotAsync("pa-paste")).Entries.OfType<UserInputEntry>());
        Assert.Equal(input, entry.Segments);
        var request = Assert.Single(model.Requests);
        var users = request.Items.OfType<MessageItem>().Where(m => m.Role == Role.User).ToList();
        Assert.Equal("see line1\nline2 thanks", Assert.Single(users).PlainText);
        Assert.DoesNotContain("[Clipboard", Requests.Text(request));
    }

    // §10 #21
    [Fact]
    public async Task Notify_auto_run_on_an_idle_worker_runs_one_notification_turn()
    {
        var model = Script(Resp(new ScriptText("noted")));
        var (client, _) = await node.StartAsync("pa-notify-auto", model);
        await using var _c = client;
        client.Send(new NotifyMethod("turn finished"));
        var seen = await client.UntilStatusAsync(WorkerStatus.Idle);
        AssertOrderedSubsequence(seen, new StatusEvent(WorkerStatus.Running), new InvokeStartEvent(InvokeKind.Notify),
            new RunEndEvent(RunResult.Finished), new StatusEvent(WorkerStatus.Idle));
        Assert.DoesNotContain(seen, o => o is UserMessageEvent);
        await client.DrainAsync(Quiet);

        var request = Assert.Single(model.Requests);
        Assert.Contains(Requests.Lines(request), l => l.StartsWith("system: [Notification]") && l.Contains("turn finished"));
        var item = Assert.Single((await node.FreshSnapshotAsync("pa-notify-auto")).Entries.OfType<SystemItemEntry>());
        var notification = Assert.IsType<NotificationSystemItem>(item.Item);
        Assert.Equal("turn finished", notification.Message);
        Assert.Contains(seen, o => o is SystemItemEvent { Item: NotificationSystemItem { Message: "turn finished" } });
    }

    // §10 #22
    [Fact]
    public async Task Notify_without_auto_run_only_queues_and_the_next_run_carries_it()
    {
        var model = Script(Resp(new ScriptText("ok")));
        var (client, _) = await node.StartAsync("pa-notify-weak", model);
        await using var _c = client;
        client.Send(new NotifyMethod("quiet news", AutoRun: false));
        await client.BarrierAsync();
        Assert.Empty(await client.DrainAsync(TimeSpan.FromMilliseconds(100)));
        Assert.Empty(model.Requests);
        Assert.DoesNotContain(client.Seen, o => o is StatusEvent);

        client.Run("go");
        await client.UntilStatusAsync(WorkerStatus.Idle);
        var request = Assert.Single(model.Requests);
        Assert.Contains(Requests.Lines(request), l => l.StartsWith("system: [Notification]") && l.Contains("quiet news"));
    }

    // §10 #23
    [Fact]
    public async Task An_agent_visible_worker_event_on_an_idle_worker_runs_a_notification_turn()
    {
        var model = Script(Resp(new ScriptText("ok")));
        var (client, _) = await node.StartAsync("pa-worker-event", model);
        await using var _c = client;
        client.Send(new WorkerEventMethod(new TurnEndedWorkerEvent("child")));
        var seen = await client.UntilStatusAsync(WorkerStatus.Idle);
        AssertOrderedSubsequence(seen, new InvokeStartEvent(InvokeKind.WorkerEvent), new TurnStartEvent(0), new TurnEndEvent(0));
        var item = Assert.Single(seen.OfType<SystemItemEvent>());
        var we = Assert.IsType<WorkerEventSystemItem>(item.Item);
        Assert.Equal("child", Assert.IsType<TurnEndedWorkerEvent>(we.Event).WorkerName);
        var text = Requests.Text(Assert.Single(model.Requests));
        Assert.Contains("[Notification]", text);
        Assert.Contains("child", text);
        Assert.Contains("finished a turn", text);
    }

    // §10 #24
    [Fact]
    public async Task A_control_plane_worker_event_does_nothing()
    {
        var model = Script(Resp(new ScriptText("ok")));
        var (client, _) = await node.StartAsync("pa-scope-event", model);
        await using var _c = client;
        client.Send(new WorkerEventMethod(new ScopeSubDelegatedWorkerEvent("pa-scope-event", "sub", "/tmp/sub.sock",
            [new ScopeRule("/tmp", Permission.Read)])));
        await client.BarrierAsync();
        Assert.Empty(await client.DrainAsync(TimeSpan.FromMilliseconds(100)));
        Assert.Empty(model.Requests);
        Assert.Empty((await node.FreshSnapshotAsync("pa-scope-event")).Entries);
        Assert.DoesNotContain(node.Journal("pa-scope-event"), r => r.Manifest == "notify_queued");
    }

    // §10 #25
    [Fact]
    public async Task Notify_auto_run_during_a_run_is_accepted_and_starts_a_follow_up_turn_without_idle()
    {
        var model = new GatedModel(Script(Resp(new ScriptText("Hello", " World")), Resp(new ScriptText("ack")))).Hold(0);
        var (client, _) = await node.StartAsync("pa-notify-followup", model);
        await using var _c = client;
        client.Run("work");
        await model.Reached(0);
        client.Send(new NotifyMethod("ping"));
        await client.BarrierAsync();
        model.Release(0);
        var mark = client.Mark();
        await client.NextAsync<RunEndEvent>();
        await client.NextAsync<RunEndEvent>();
        await client.NextAsync<StatusEvent>(s => s.Status == WorkerStatus.Idle);
        var seen = client.Seen;
        Assert.DoesNotContain(seen, o => o is ErrorEvent);
        AssertOrderedSubsequence(client.Since(mark), new RunEndEvent(RunResult.Finished), new StatusEvent(WorkerStatus.Running),
            new InvokeStartEvent(InvokeKind.Notify), new RunEndEvent(RunResult.Finished), new StatusEvent(WorkerStatus.Idle));
        // Only the very last status is Idle (like the reference, N4, the follow-up may repeat status(running)).
        var statuses = seen.OfType<StatusEvent>().Select(s => s.Status).ToList();
        Assert.Equal(WorkerStatus.Idle, statuses[^1]);
        Assert.All(statuses.SkipLast(1), s => Assert.Equal(WorkerStatus.Running, s));
        Assert.Equal(2, model.Requests.Count);
        Assert.DoesNotContain("ping", Requests.Text(model.Requests[0]));
        Assert.Contains(Requests.Lines(model.Requests[1]), l => l.StartsWith("system: [Notification]") && l.Contains("ping"));
    }

    // §10 #26 (first half)
    [Fact]
    public async Task A_worker_event_arriving_in_the_last_llm_call_stays_buffered_without_a_follow_up()
    {
        var model = new GatedModel(Script(Resp(new ScriptText("Hello")), Resp(new ScriptText("later")))).Hold(0);
        var (client, _) = await node.StartAsync("pa-event-buffered", model);
        await using var _c = client;
        client.Run("work");
        await model.Reached(0);
        client.Send(new WorkerEventMethod(new TurnEndedWorkerEvent("kid")));
        await client.BarrierAsync();
        model.Release(0);
        await client.UntilStatusAsync(WorkerStatus.Idle);
        Assert.DoesNotContain(await client.DrainAsync(TimeSpan.FromMilliseconds(300)), o => o is StatusEvent);
        Assert.DoesNotContain(client.Seen, o => o is ErrorEvent);
        Assert.Single(model.Requests);

        var journal = node.Journal("pa-event-buffered");
        Assert.Single(journal, r => r.Manifest == "notify_queued");
        Assert.DoesNotContain(journal, r => r.Manifest == "notify_drained");

        client.Run("next");
        await client.UntilStatusAsync(WorkerStatus.Idle);
        Assert.Single(Requests.Lines(model.Requests[1]), l => l.Contains("worker `kid` finished a turn"));
    }

    // §10 #26 (second half)
    [Fact]
    public async Task A_control_plane_worker_event_during_a_run_is_not_buffered()
    {
        var model = new GatedModel(Script(Resp(new ScriptText("Hello")), Resp(new ScriptText("later")))).Hold(0);
        var (client, _) = await node.StartAsync("pa-event-notbuffered", model);
        await using var _c = client;
        client.Run("work");
        await model.Reached(0);
        client.Send(new WorkerEventMethod(new ScopeSubDelegatedWorkerEvent("p", "s", "/tmp/s.sock", [])));
        await client.BarrierAsync();
        model.Release(0);
        await client.UntilStatusAsync(WorkerStatus.Idle);
        Assert.DoesNotContain(client.Seen, o => o is ErrorEvent);
        Assert.DoesNotContain(node.Journal("pa-event-notbuffered"), r => r.Manifest == "notify_queued");
        client.Run("next");
        await client.UntilStatusAsync(WorkerStatus.Idle);
        Assert.DoesNotContain("[Notification]", Requests.Text(model.Requests[1]));
    }

    // §10 #31
    [Fact]
    public async Task Pause_mid_stream_then_resume_finishes_with_only_the_resumed_output_in_history()
    {
        var model = Script(Resp(new ScriptText("partial..."), new ScriptHang()), Resp(new ScriptText("resumed output")));
        var (client, _) = await node.StartAsync("pa-pause-resume", model);
        await using var _c = client;
        await client.PauseDuringTextAsync();
        Assert.DoesNotContain(client.Seen, o => o is ErrorEvent);

        client.Send(new ResumeMethod());
        var seen = await client.UntilStatusAsync(WorkerStatus.Idle);
        AssertOrderedSubsequence(seen, new StatusEvent(WorkerStatus.Running), new RunEndEvent(RunResult.Finished), new StatusEvent(WorkerStatus.Idle));
        Assert.DoesNotContain(client.Seen, o => o is ErrorEvent);

        var entries = (await node.FreshSnapshotAsync("pa-pause-resume")).Entries;
        var history = entries.Where(e => e is UserInputEntry or AssistantItemEntry or ToolResultEntry or SystemItemEntry).ToList();
        Assert.Equal(["user_input", "assistant_item"], Kinds(history));
        var assistant = Assert.IsType<MessageItem>(((AssistantItemEntry)history[1]).Item);
        Assert.Equal("resumed output", assistant.PlainText);
        Assert.Equal(["user: work"], Requests.Lines(model.Requests[1]));
    }

    // §10 #32
    [Fact]
    public async Task A_run_after_a_pause_during_a_tool_closes_the_orphan_call_before_the_new_input()
    {
        var tool = new GateTool("sleep");
        var model = Script(Resp(new ScriptToolCall("call_orphan", "sleep", "{}")), Resp(new ScriptText("ok")));
        var (client, _) = await node.StartAsync("pa-orphan-run", model, [tool]);
        await using var _c = client;
        client.Run("start");
        await tool.Started;
        client.Send(new PauseMethod());
        await client.UntilStatusAsync(WorkerStatus.Paused);

        client.Run("new request");
        await client.UntilStatusAsync(WorkerStatus.Idle);
        var lines = Requests.Lines(model.Requests[1]);
        var result = lines.IndexOf("tool_result call_orphan: [Interrupted by user]");
        var note = lines.FindIndex(l => l.StartsWith("system:") && l.Contains("interrupted by the user"));
        var user = lines.IndexOf("user: new request");
        Assert.True(result >= 0 && note > result && user > note, string.Join("\n", lines));
    }

    /// <summary>Paused with the tool call <c>call_orphan</c> unanswered.</summary>
    private async Task<(WorkerClient, ScriptedModelClient)> PausedInToolAsync(string name)
    {
        var tool = new GateTool("sleep");
        var model = Script(Resp(new ScriptToolCall("call_orphan", "sleep", "{}")), Resp(new ScriptText("ok")));
        var (client, _) = await node.StartAsync(name, model, [tool]);
        client.Run("start");
        await tool.Started;
        client.Send(new PauseMethod());
        await client.UntilStatusAsync(WorkerStatus.Paused);
        return (client, model);
    }

    // §10 #33
    [Fact]
    public async Task Cancel_while_paused_abandons_the_turn_without_a_request_and_a_later_run_is_fresh()
    {
        var (client, model) = await PausedInToolAsync("pa-paused-cancel");
        await using var _c = client;
        var mark = client.Mark();
        client.Send(new CancelMethod());
        await client.UntilStatusAsync(WorkerStatus.Idle);
        Assert.DoesNotContain(client.Since(mark), o => o is RunEndEvent or ErrorEvent);
        var entries = (await node.FreshSnapshotAsync("pa-paused-cancel")).Entries;
        Assert.Contains(entries, e => e is PausedTurnAbandonedEntry);
        Assert.DoesNotContain(entries, e => e is RunCompletedEntry { Result: EngineResult.Finished, Interrupted: false });
        Assert.Single(model.Requests);

        client.Send(new ResumeMethod());
        Assert.Equal(ErrorCode.NotPaused, (await client.NextAsync<ErrorEvent>()).Code);
        await client.DrainAsync(Quiet);
        Assert.Single(model.Requests);

        client.Run("fresh request");
        await client.UntilStatusAsync(WorkerStatus.Idle);
        Assert.Equal(2, model.Requests.Count);
        var lines = Requests.Lines(model.Requests[1]);
        Assert.Contains("tool_result call_orphan: [Interrupted by user]", lines);
        Assert.Contains(lines, l => l == "system: " + InterruptSystemItem.DefaultBody);
        Assert.Equal("user: fresh request", lines[^1]);
    }

    // §10 #34
    [Fact]
    public async Task Cancel_of_an_empty_run_rolls_it_back()
    {
        var model = Script(Resp(new ScriptHang()));
        var (client, _) = await node.StartAsync("pa-rollback-cancel", model);
        await using var _c = client;
        client.Run("rollback me");
        await client.NextAsync<LlmCallStartEvent>();
        client.Send(new CancelMethod());
        var seen = await client.UntilStatusAsync(WorkerStatus.Idle);
        Assert.Contains(new RunEndEvent(RunResult.RolledBack), seen);
        Assert.DoesNotContain(client.Seen, o => o is ErrorEvent);
        var snapshot = await node.FreshSnapshotAsync("pa-rollback-cancel");
        Assert.DoesNotContain("rollback me", Json(snapshot.Entries));
        Assert.Equal(WorkerStatus.Idle, snapshot.Status);
    }

    // §10 #35
    [Fact]
    public async Task Pause_of_an_empty_run_rolls_it_back_to_idle_not_paused()
    {
        var model = Script(Resp(new ScriptHang()));
        var (client, _) = await node.StartAsync("pa-rollback-pause", model);
        await using var _c = client;
        client.Run("pause rollback");
        await client.NextAsync<LlmCallStartEvent>();
        client.Send(new PauseMethod());
        var seen = await client.UntilStatusAsync(WorkerStatus.Idle);
        Assert.Contains(new RunEndEvent(RunResult.RolledBack), seen);
        Assert.DoesNotContain(seen, o => o is RunEndEvent { Result: RunResult.Paused } or StatusEvent { Status: WorkerStatus.Paused });
        var snapshot = await node.FreshSnapshotAsync("pa-rollback-pause");
        Assert.DoesNotContain(snapshot.Entries.OfType<UserInputEntry>(), u => Segment.FlattenAll(u.Segments).Contains("pause rollback"));
        Assert.Equal(WorkerStatus.Idle, snapshot.Status);
    }

    // §10 #36
    [Fact]
    public async Task Rollback_removes_only_the_latest_input()
    {
        var model = Script(Resp(new ScriptText("Hello", " World")), Resp(new ScriptHang()));
        var (client, _) = await node.StartAsync("pa-rollback-latest", model);
        await using var _c = client;
        client.Run("first kept");
        await client.UntilStatusAsync(WorkerStatus.Idle);
        client.Run("second rolled back");
        await client.NextAsync<LlmCallStartEvent>(l => l.LlmCall == 1);
        client.Send(new CancelMethod());
        Assert.Contains(new RunEndEvent(RunResult.RolledBack), await client.UntilStatusAsync(WorkerStatus.Idle));

        var entries = (await node.FreshSnapshotAsync("pa-rollback-latest")).Entries;
        Assert.Equal(["first kept"], UserInputs(entries));
        Assert.Contains(entries, e => e is AssistantItemEntry { Item: MessageItem m } && m.PlainText == "Hello World");
        Assert.DoesNotContain("second rolled back", Json(entries));
    }

    // §10 #37
    [Fact]
    public async Task Pause_after_a_completed_text_block_pauses_and_keeps_the_input()
    {
        var model = Script(Resp(new ScriptText("committed before pause"), new ScriptHang()));
        var (client, _) = await node.StartAsync("pa-pause-keeps", model);
        await using var _c = client;
        await client.PauseDuringTextAsync("keep me");
        var snapshot = await node.FreshSnapshotAsync("pa-pause-keeps");
        Assert.Equal(WorkerStatus.Paused, snapshot.Status);
        Assert.Equal(["keep me"], UserInputs(snapshot.Entries));
    }

    // §10 #40
    [Fact]
    public async Task A_provider_error_event_is_reported_and_journaled_as_run_errored()
    {
        var model = Script(Resp(new ScriptError("context_length_exceeded", "request too large")));
        var (client, _) = await node.StartAsync("pa-provider-error", model);
        await using var _c = client;
        client.Run("big");
        var seen = await client.UntilStatusAsync(WorkerStatus.Idle);
        Assert.Contains(seen, o => o is ErrorEvent { Code: ErrorCode.ProviderError } e && e.Message.Contains("context_length_exceeded"));
        Assert.All(seen.OfType<ErrorEvent>(), e => Assert.Equal(ErrorCode.ProviderError, e.Code));
        Assert.DoesNotContain(seen, o => o is RunEndEvent);
        var entries = (await node.FreshSnapshotAsync("pa-provider-error")).Entries;
        var errored = Assert.Single(entries.OfType<RunErroredEntry>());
        Assert.Contains("context_length_exceeded", errored.Message);
        Assert.Contains("request too large", errored.Message);
        Assert.DoesNotContain(entries, e => e is RunCompletedEntry);
    }

    // §10 #43 (alerts)
    [Fact]
    public async Task The_alert_buffer_keeps_the_newest_512_and_replays_them_in_order()
    {
        var model = Script(Resp(new ScriptText("ok")));
        var (a, _) = await node.StartAsync("pa-alert-cap", model);
        await using var _a = a;
        // Alerts #0..#48 (compactor), #49 and #50 (worker: two unknown segments in one run), #51..#561 (compactor).
        for (var i = 0; i < 49; i++) a.Send(new CompactMethod());
        a.Send(new RunMethod([new UnknownSegment(), new UnknownSegment(), new TextSegment("x")]));
        await a.UntilStatusAsync(WorkerStatus.Idle);
        for (var i = 0; i < 511; i++) a.Send(new CompactMethod());
        await a.BarrierAsync();
        var live = a.Seen.OfType<AlertEvent>().ToList();
        Assert.Equal(562, live.Count);
        Assert.Equal(AlertSource.Worker, live[49].Source);
        Assert.Equal(AlertSource.Worker, live[50].Source);

        await using var b = node.Client();
        b.Attach("pa-alert-cap");
        var replay = new List<AlertEvent>();
        object next;
        while ((next = await b.NextAsync<object>()) is AlertEvent alert) replay.Add(alert);
        Assert.IsType<SnapshotEvent>(next);
        Assert.Equal(WorkerActor.AlertCapacity, replay.Count);
        Assert.Equal(live.Skip(50), replay);
        Assert.Equal(AlertSource.Worker, replay[0].Source); // #50
        Assert.Single(replay, x => x.Source == AlertSource.Worker); // #49 was dropped
    }

    // §10 #43 (notify buffer)
    [Fact]
    public async Task The_notify_buffer_keeps_the_newest_128_in_fifo_order()
    {
        var model = Script(Resp(new ScriptText("ok")));
        var (client, _) = await node.StartAsync("pa-notify-cap", model);
        await using var _c = client;
        for (var i = 0; i < 133; i++) client.Send(new NotifyMethod($"<n{i:000}>", AutoRun: false));
        await client.BarrierAsync();
        Assert.Empty(model.Requests);
        client.Run("go");
        await client.UntilStatusAsync(WorkerStatus.Idle);
        var request = Assert.Single(model.Requests);
        var notes = Requests.Lines(request).Where(l => l.StartsWith("system: [Notification]"))
            .Select(l => l.Substring(l.IndexOf("<n", StringComparison.Ordinal), 6)).ToList();
        Assert.Equal(Enumerable.Range(5, 128).Select(i => $"<n{i:000}>"), notes);
        Assert.Equal(WorkerState.NotifyCapacity, notes.Count);
    }

    // §10 #44
    [Fact]
    public async Task List_completions_answers_only_the_asking_client_from_the_manifest_folder()
    {
        var model = Script();
        var (a, _) = await node.StartAsync("pa-completions", model);
        await using var _a = a;
        var dir = node.Dir("pa-completions");
        Directory.CreateDirectory(Path.Combine(dir, "src", "sub"));
        File.WriteAllText(Path.Combine(dir, "src", "main.rs"), "fn main() {}");
        File.WriteAllText(Path.Combine(dir, "src", "lib.rs"), "");
        File.WriteAllText(Path.Combine(dir, "README.md"), "");
        await using var b = node.Client();
        await b.AttachAsync("pa-completions");

        a.Send(new ListCompletionsMethod(CompletionKind.File, "src/"));
        var completions = await a.NextAsync<CompletionsEvent>();
        Assert.Equal(CompletionKind.File, completions.Kind);
        Assert.Equal([new CompletionEntry("src/lib.rs"), new CompletionEntry("src/main.rs"), new CompletionEntry("src/sub", true)],
            completions.Entries);
        Assert.DoesNotContain(await b.DrainAsync(Quiet), o => o is CompletionsEvent);
        Assert.DoesNotContain(a.Seen.Concat(b.Seen), o => o is StatusEvent);
        Assert.Equal(WorkerStatus.Idle, (await node.FreshSnapshotAsync("pa-completions")).Status);
    }

    // §10 #45
    [Fact]
    public async Task A_committed_text_block_is_in_the_snapshot_entries_and_not_in_flight()
    {
        var tool = new GateTool();
        var model = Script(Resp(new ScriptText("done"), new ScriptToolCall("c1", "gate", "{}")), Resp(new ScriptText("after")));
        var (client, _) = await node.StartAsync("pa-inflight-once", model, [tool]);
        await using var _c = client;
        client.Run("go");
        await tool.Started;

        var snapshot = await node.FreshSnapshotAsync("pa-inflight-once");
        Assert.Equal(WorkerStatus.Running, snapshot.Status);
        Assert.Single(snapshot.Entries, e => e is AssistantItemEntry { Item: MessageItem m } && m.PlainText == "done");
        Assert.DoesNotContain(snapshot.InFlight?.Blocks ?? [], b => b is InFlightText);

        tool.Release();
        await client.UntilStatusAsync(WorkerStatus.Idle);
    }

    // §10 #47
    [Fact]
    public async Task Rewind_to_checks_the_head_then_applies_and_returns_the_input()
    {
        var model = Script(Resp(new ScriptText("one")), Resp(new ScriptText("two")));
        var (client, _) = await node.StartAsync("pa-rewind", model);
        await using var _c = client;
        client.Run("first");
        await client.UntilStatusAsync(WorkerStatus.Idle);
        client.Send(new RunMethod([new TextSegment("second "), new TextSegment("input")]));
        await client.UntilStatusAsync(WorkerStatus.Idle);
        client.Send(new ListRewindTargetsMethod());
        var targets = await client.NextAsync<RewindTargetsEvent>();
        var newest = targets.Targets[0];
        var before = (await node.FreshSnapshotAsync("pa-rewind")).Entries;

        client.Send(new RewindToMethod(newest.Id, targets.HeadEntries + 1));
        var error = await client.NextAsync<ErrorEvent>();
        Assert.Equal(ErrorCode.InvalidRequest, error.Code);
        Assert.Contains("session head changed since picker opened", error.Message);
        Assert.Equal(Json(before), Json((await node.FreshSnapshotAsync("pa-rewind")).Entries));

        var mark = client.Mark();
        client.Send(new RewindToMethod(newest.Id, targets.HeadEntries));
        var applied = await client.NextAsync<RewindAppliedEvent>();
        await client.NextAsync<StatusEvent>(s => s.Status == WorkerStatus.Idle);
        AssertOrderedSubsequence(client.Since(mark), applied, new StatusEvent(WorkerStatus.Idle));
        Assert.Equal([new TextSegment("second "), new TextSegment("input")], applied.Input);
        Assert.IsType<InvokeEntry>(before[newest.TruncateEntries]);
        Assert.Equal(newest.Id.UserInputEntryIndex - 1, newest.TruncateEntries);
        Assert.Equal(Json(before.Take(newest.TruncateEntries)), Json(applied.Entries));
        Assert.Equal(new RewindSummary(newest.TruncateEntries, before.Count - newest.TruncateEntries, false), applied.Summary);
        Assert.Equal(Json(applied.Entries), Json((await node.FreshSnapshotAsync("pa-rewind")).Entries));
    }
}
