using Yoi.Actors.Engine.Scripted;
using Yoi.Messages;
using static Yoi.Actors.Tests.Worker.Kit;

namespace Yoi.Actors.Tests.Worker;

/// <summary>reference-protocol §5.1: every method × state cell that answers with an error or does nothing
/// (also §10 items 14, 15, 16, 27, 28 and the rewind validation of engine §5 / §9 item 46).</summary>
[Collection(WorkerNodeCollection.Name)]
public sealed class WorkerStateTableTests(WorkerNodeFixture node)
{
    private const string AlreadyRunningControl = "Worker is already executing a turn; rewind/compact can only run while idle or paused";
    private const string Discovery = "Worker discovery/control requests are only handled while the Worker is idle or paused";

    // ------------------------------------------------------------------ Idle

    [Fact]
    public async Task Idle_resume_is_rejected_not_paused()
    {
        var (client, _) = await node.StartAsync("st-idle-resume", Script());
        await using var _c = client;
        client.Send(new ResumeMethod());
        var error = await client.NextAsync<ErrorEvent>();
        Assert.Equal(new ErrorEvent(ErrorCode.NotPaused, "Worker is not paused"), error);
        Assert.DoesNotContain(await client.DrainAsync(Quiet), o => o is StatusEvent);
    }

    [Theory]
    [InlineData("cancel")]
    [InlineData("pause")]
    public async Task Idle_cancel_or_pause_is_rejected_not_running(string method)
    {
        var (client, _) = await node.StartAsync("st-idle-" + method, Script());
        await using var _c = client;
        client.Send(method == "cancel" ? new CancelMethod() : new PauseMethod());
        var error = await client.NextAsync<ErrorEvent>();
        Assert.Equal(new ErrorEvent(ErrorCode.NotRunning, "Worker is not running"), error);
        Assert.DoesNotContain(await client.DrainAsync(Quiet), o => o is StatusEvent);
    }

    [Fact]
    public async Task Idle_compact_without_compaction_section_alerts_and_does_nothing_else()
    {
        var model = Script(Resp(new ScriptText("Hello", " World")));
        var (client, _) = await node.StartAsync("st-idle-compact", model);
        await using var _c = client;
        client.Run("seed");
        await client.UntilStatusAsync(WorkerStatus.Idle);
        var before = Json((await node.FreshSnapshotAsync("st-idle-compact")).Entries);

        var mark = client.Mark();
        client.Send(new CompactMethod());
        var alert = await client.NextAsync<AlertEvent>();
        Assert.Equal(AlertLevel.Warn, alert.Level);
        Assert.Equal(AlertSource.Compactor, alert.Source);
        await client.DrainAsync(Quiet);
        Assert.Equal(new object[] { alert }, client.Since(mark));
        Assert.Equal(before, Json((await node.FreshSnapshotAsync("st-idle-compact")).Entries));
        Assert.Single(model.Requests);
    }

    // ------------------------------------------------------------------ Running

    /// <summary>A Worker whose run is held inside its first LLM stream until the test releases it.</summary>
    private async Task<(WorkerClient Client, GatedModel Model)> RunningAsync(string name)
    {
        var model = new GatedModel(Script(Resp(new ScriptText("Hello", " World")))).Hold(0);
        var (client, _) = await node.StartAsync(name, model);
        client.Run("first");
        await model.Reached(0);
        await client.NextAsync<LlmCallStartEvent>(); // everything the run emitted so far has been read
        return (client, model);
    }

    private static async Task FinishesNormally(WorkerClient client, GatedModel model, int mark)
    {
        model.Release(0);
        await client.UntilStatusAsync(WorkerStatus.Idle);
        var seen = client.Since(mark);
        Assert.Contains(new RunEndEvent(RunResult.Finished), seen);
        Assert.Contains(new TextDoneEvent("Hello World"), seen);
        Assert.Single(model.Requests);
        Assert.Equal(new[] { WorkerStatus.Idle }, seen.OfType<StatusEvent>().Select(s => s.Status));
    }

    [Theory]
    [InlineData("run")]
    [InlineData("resume")]
    public async Task Running_run_or_resume_is_rejected_already_running_and_the_first_run_continues(string method)
    {
        var (client, model) = await RunningAsync("st-running-" + method);
        await using var _c = client;
        var mark = client.Mark();
        client.Send(method == "run" ? new RunMethod([new TextSegment("second")]) : new ResumeMethod());
        var error = await client.NextAsync<ErrorEvent>();
        Assert.Equal(new ErrorEvent(ErrorCode.AlreadyRunning, "Worker is already executing a turn"), error);
        await FinishesNormally(client, model, mark);
        var snapshot = await node.FreshSnapshotAsync("st-running-" + method);
        Assert.Equal(new[] { "first" }, UserInputs(snapshot.Entries));
        Assert.DoesNotContain(client.Seen, o => o is UserMessageEvent u && Segment.FlattenAll(u.Segments) == "second");
    }

    [Theory]
    [InlineData("compact")]
    [InlineData("list_rewind_targets")]
    [InlineData("rewind_to")]
    public async Task Running_compact_and_rewind_methods_are_rejected_already_running(string method)
    {
        var (client, model) = await RunningAsync("st-running-" + method.Replace('_', '-'));
        await using var _c = client;
        var mark = client.Mark();
        client.Send(method switch
        {
            "compact" => new CompactMethod(),
            "list_rewind_targets" => new ListRewindTargetsMethod(),
            _ => new RewindToMethod(new RewindTargetId(Guid.NewGuid(), 1), 3),
        });
        var error = await client.NextAsync<ErrorEvent>();
        Assert.Equal(new ErrorEvent(ErrorCode.AlreadyRunning, AlreadyRunningControl), error);
        Assert.Contains("compact", error.Message);
        await FinishesNormally(client, model, mark);
        Assert.DoesNotContain(client.Seen, o => o is RewindTargetsEvent or RewindAppliedEvent or AlertEvent);
    }

    [Theory]
    [InlineData("list_workers")]
    [InlineData("restore_worker")]
    [InlineData("register_peer")]
    public async Task Running_discovery_methods_are_rejected_already_running(string method)
    {
        var (client, model) = await RunningAsync("st-running-" + method.Replace('_', '-'));
        await using var _c = client;
        var mark = client.Mark();
        client.Send(method switch
        {
            "list_workers" => new ListWorkersMethod(),
            "restore_worker" => new RestoreWorkerMethod("someone"),
            _ => new RegisterPeerMethod("someone"),
        });
        var error = await client.NextAsync<ErrorEvent>();
        Assert.Equal(new ErrorEvent(ErrorCode.AlreadyRunning, Discovery), error);
        await FinishesNormally(client, model, mark);
        Assert.DoesNotContain(client.Seen, o => o is WorkersListedEvent or WorkerRestoredEvent or PeerRegisteredEvent);
    }

    // ------------------------------------------------------------------ Paused

    private async Task<(WorkerClient Client, ScriptedModelClient Model)> PausedAsync(string name)
    {
        var model = Script(Resp(new ScriptText("partial..."), new ScriptHang()));
        var (client, _) = await node.StartAsync(name, model);
        await client.PauseDuringTextAsync();
        return (client, model);
    }

    [Fact]
    public async Task Paused_pause_emits_nothing_and_stays_paused()
    {
        var (client, model) = await PausedAsync("st-paused-pause");
        await using var _c = client;
        var mark = client.Mark();
        client.Send(new PauseMethod());
        await client.BarrierAsync();
        await client.DrainAsync(Quiet);
        Assert.Equal(new[] { typeof(CompletionsEvent) }, client.Since(mark).Select(o => o.GetType()));
        Assert.Equal(WorkerStatus.Paused, (await node.FreshSnapshotAsync("st-paused-pause")).Status);
        Assert.Single(model.Requests);
    }

    [Fact]
    public async Task Paused_compact_is_rejected_invalid_request()
    {
        var (client, _) = await PausedAsync("st-paused-compact");
        await using var _c = client;
        client.Send(new CompactMethod());
        var error = await client.NextAsync<ErrorEvent>();
        Assert.Equal(new ErrorEvent(ErrorCode.InvalidRequest, "Cannot compact while the Worker is paused; resume or start a fresh turn first"), error);
        Assert.DoesNotContain(await client.DrainAsync(Quiet), o => o is StatusEvent or AlertEvent);
        Assert.Equal(WorkerStatus.Paused, (await node.FreshSnapshotAsync("st-paused-compact")).Status);
    }

    [Fact]
    public async Task Paused_rewind_to_is_rejected_invalid_request()
    {
        var (client, _) = await PausedAsync("st-paused-rewind");
        await using var _c = client;
        client.Send(new ListRewindTargetsMethod());
        var targets = await client.NextAsync<RewindTargetsEvent>();
        var target = Assert.Single(targets.Targets);
        var before = Json((await node.FreshSnapshotAsync("st-paused-rewind")).Entries);

        client.Send(new RewindToMethod(target.Id, targets.HeadEntries));
        var error = await client.NextAsync<ErrorEvent>();
        Assert.Equal(new ErrorEvent(ErrorCode.InvalidRequest, "Cannot apply rewind while the Worker is paused; resume or wait for idle first"), error);
        Assert.DoesNotContain(await client.DrainAsync(Quiet), o => o is RewindAppliedEvent or StatusEvent);
        var after = await node.FreshSnapshotAsync("st-paused-rewind");
        Assert.Equal(before, Json(after.Entries));
        Assert.Equal(WorkerStatus.Paused, after.Status);
    }

    [Fact]
    public async Task Paused_list_rewind_targets_answers_with_the_targets()
    {
        var (client, _) = await PausedAsync("st-paused-targets");
        await using var _c = client;
        client.Send(new ListRewindTargetsMethod());
        var targets = await client.NextAsync<RewindTargetsEvent>();
        var snapshot = await node.FreshSnapshotAsync("st-paused-targets");
        Assert.Equal(snapshot.Entries.Count, targets.HeadEntries);
        var target = Assert.Single(targets.Targets);
        Assert.Equal("work", target.Preview);
        Assert.IsType<UserInputEntry>(snapshot.Entries[target.Id.UserInputEntryIndex]);
        Assert.Equal(WorkerStatus.Paused, snapshot.Status);
    }

    // ------------------------------------------------------------------ rewind_to validation (Idle)

    private async Task<(WorkerClient Client, RewindTargetsEvent Targets)> IdleWithTwoRunsAsync(string name)
    {
        var model = Script(Resp(new ScriptText("one")), Resp(new ScriptText("two")));
        var (client, _) = await node.StartAsync(name, model);
        client.Run("first message");
        await client.UntilStatusAsync(WorkerStatus.Idle);
        client.Run("second message");
        await client.UntilStatusAsync(WorkerStatus.Idle);
        client.Send(new ListRewindTargetsMethod());
        return (client, await client.NextAsync<RewindTargetsEvent>());
    }

    private async Task RejectedAndUnchanged(WorkerClient client, string name, RewindToMethod request, string message)
    {
        var before = Json((await node.FreshSnapshotAsync(name)).Entries);
        var mark = client.Mark();
        client.Send(request);
        var error = await client.NextAsync<ErrorEvent>();
        Assert.Equal(new ErrorEvent(ErrorCode.InvalidRequest, message), error);
        await client.DrainAsync(Quiet);
        Assert.DoesNotContain(client.Since(mark), o => o is RewindAppliedEvent or StatusEvent);
        Assert.Equal(before, Json((await node.FreshSnapshotAsync(name)).Entries));
    }

    [Fact]
    public async Task Rewind_to_a_target_of_another_segment_is_rejected()
    {
        var (client, targets) = await IdleWithTwoRunsAsync("st-rewind-segment");
        await using var _c = client;
        var target = targets.Targets[0];
        await RejectedAndUnchanged(client, "st-rewind-segment",
            new RewindToMethod(target.Id with { SegmentId = Guid.NewGuid() }, targets.HeadEntries),
            "rewind target belongs to a different segment");
    }

    [Fact]
    public async Task Rewind_to_with_a_stale_head_is_rejected_with_expected_and_current()
    {
        var (client, targets) = await IdleWithTwoRunsAsync("st-rewind-head");
        await using var _c = client;
        var head = targets.HeadEntries;
        await RejectedAndUnchanged(client, "st-rewind-head",
            new RewindToMethod(targets.Targets[0].Id, head - 2),
            $"session head changed since picker opened (expected {head - 2}, current {head})");
    }

    [Fact]
    public async Task Rewind_to_an_entry_that_is_not_a_user_message_is_rejected()
    {
        var (client, targets) = await IdleWithTwoRunsAsync("st-rewind-notuser");
        await using var _c = client;
        var target = targets.Targets[0];
        await RejectedAndUnchanged(client, "st-rewind-notuser",
            new RewindToMethod(target.Id with { UserInputEntryIndex = target.Id.UserInputEntryIndex + 1 }, targets.HeadEntries),
            "rewind target is no longer a user message");
    }
}
