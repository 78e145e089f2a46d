using Yoi.Actors.Engine.Scripted;
using Yoi.Messages;
using static Yoi.Actors.Tests.Worker.Kit;

namespace Yoi.Actors.Tests.Worker;

/// <summary>Failover semantics (spec README, "Failover"): with remember-entities a Worker whose node went away
/// is started again without anyone attaching; with `[session] resume_on_recovery = true` its interrupted run
/// goes on by itself.</summary>
[Collection(WorkerRestartCollection.Name)]
public sealed class ResumeOnRecoveryTests(WorkerNodeFixture node)
{
    [Fact]
    public async Task A_run_cut_off_by_a_restart_resumes_by_itself_with_resume_on_recovery()
    {
        var model = Script(
            Resp(new ScriptToolCall("c1", "echo", "{\"text\":\"hi\"}")),
            Resp(new ScriptHang()),
            Resp(new ScriptText("resumed")));
        var (client, _) = await node.StartAsync("rs-resume", model, [new EchoTool()],
            manifestExtra: "[session]\nresume_on_recovery = true");
        client.Run("work");
        await client.NextAsync<ToolResultEvent>();
        await client.NextAsync<LlmCallStartEvent>(e => e.LlmCall == 1); // the hanging call is in flight
        await client.DisposeAsync();

        await node.RestartAsync();

        // Nobody attaches: the remembered entity restarts and finishes its run on its own.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!node.Journal("rs-resume").Any(r => r.Manifest == "entry" && r.Json.Contains("\"run_completed\"")))
        {
            Assert.True(DateTime.UtcNow < deadline, "the interrupted run was not resumed after the restart");
            await Task.Delay(200);
        }

        var snapshot = await node.FreshSnapshotAsync("rs-resume");
        Assert.Equal(WorkerStatus.Idle, snapshot.Status);
        Assert.Single(snapshot.Entries.OfType<InvokeEntry>());
        Assert.Single(snapshot.Entries.OfType<ToolResultEntry>(), e => e.Item.CallId == "c1");
        Assert.Contains(snapshot.Entries, e => e is AssistantItemEntry { Item: MessageItem { PlainText: "resumed" } });
        Assert.Contains(snapshot.Entries, e => e is RunCompletedEntry { Result: EngineResult.Finished, Interrupted: false });
        Assert.DoesNotContain(snapshot.Entries, e => e is SystemItemEntry { Item: InterruptSystemItem });
        Assert.Contains(node.Journal("rs-resume"), r => r.Manifest == "run_resumed");
    }

    [Fact]
    public async Task Without_resume_on_recovery_a_cut_off_run_waits_interrupted_for_the_next_run()
    {
        var model = Script(
            Resp(new ScriptToolCall("c1", "echo", "{\"text\":\"hi\"}")),
            Resp(new ScriptHang()),
            Resp(new ScriptText("fresh")));
        var (client, _) = await node.StartAsync("rs-noresume", model, [new EchoTool()]);
        client.Run("work");
        await client.NextAsync<LlmCallStartEvent>(e => e.LlmCall == 1);
        await client.DisposeAsync();

        await node.RestartAsync();
        await Task.Delay(1500); // give a (wrong) automatic resume the chance to happen

        Assert.DoesNotContain(node.Journal("rs-noresume"), r => r.Manifest == "run_resumed");
        await using var fresh = node.Client();
        var snapshot = await fresh.AttachAsync("rs-noresume");
        Assert.Equal(WorkerStatus.Idle, snapshot.Status);
        fresh.Run("again");
        var seen = await fresh.UntilStatusAsync(WorkerStatus.Idle);
        Assert.Contains(seen, e => e is SystemItemEvent { Item: InterruptSystemItem });
        Assert.Contains(new RunEndEvent(RunResult.Finished), seen);
    }
}
