using System.Diagnostics;
using Yoi.Actors.Engine.Scripted;
using Yoi.Actors.Telemetry;
using Yoi.Actors.Tests.Worker;
using Yoi.Messages;
using static Yoi.Actors.Tests.Worker.Kit;

namespace Yoi.Actors.Tests.Telemetry;

/// <summary>A run resumed after a restart (resume_on_recovery) links to the run it continues: the traceparent is kept
/// in the journal's invoke entry (optional field), so the link survives the node.</summary>
[Collection(WorkerRestartCollection.Name)]
public sealed class ResumeLinkTests(WorkerNodeFixture node)
{
    [Fact]
    public async Task A_run_resumed_after_a_restart_links_to_the_run_it_continues()
    {
        using var capture = new TraceCapture("otel-resume");
        var model = Script(Resp(new ScriptHang()), Resp(new ScriptText("resumed")));
        var (client, _) = await node.StartAsync("otel-resume", model, [], manifestExtra: "[session]\nresume_on_recovery = true");
        client.Run("work");
        await client.NextAsync<LlmCallStartEvent>();
        await client.DisposeAsync();

        var invoke = node.Journal("otel-resume").Select(Parse).Single(e => e.TryGetProperty("kind", out var k) && k.GetString() == "invoke");
        var journaled = invoke.GetProperty("traceparent").GetString();

        await node.RestartAsync();

        var first = await capture.WaitAsync(a => a.DisplayName == "invoke_agent otel-resume" && (string?)a.Tag(GenAi.RunKind) == "user");
        Assert.Equal(YoiTelemetry.TraceParentOf(first), journaled);
        Assert.Equal("stopped", first.Tag(GenAi.RunOutcome));
        var resumed = await capture.WaitAsync(a => a.DisplayName == "invoke_agent otel-resume" && (string?)a.Tag(GenAi.RunKind) == "resume",
            TimeSpan.FromSeconds(30));
        var link = Assert.Single(resumed.Links);
        Assert.Equal(first.TraceId, link.Context.TraceId);
        Assert.Equal(first.SpanId, link.Context.SpanId);
        Assert.Equal("finished", resumed.Tag(GenAi.RunOutcome));
    }
}
