using Yoi.Actors.Engine.Scripted;
using Yoi.Messages;

namespace Yoi.Actors.Tests.Worker;

[Collection(WorkerNodeCollection.Name)]
public sealed class WorkerSmokeTests(WorkerNodeFixture node)
{
    [Fact]
    public async Task Run_streams_text_and_ends_finished_then_idle()
    {
        var model = new ScriptedModelClient([new ScriptedResponse(new ScriptText("Hello", " World"))]);
        node.Models["smoke-1"] = model;
        await using var client = node.Client();
        var snapshot = await client.AttachAsync("smoke-1", node.Manifest(), node.Home);
        Assert.Empty(snapshot.Entries);
        client.Run("Hi");
        var seen = await client.UntilStatusAsync(WorkerStatus.Idle);
        var kinds = seen.OfType<Event>().Select(e => e.GetType().Name).ToList();
        Assert.Contains("TextDeltaEvent", kinds);
        Assert.Contains(new RunEndEvent(RunResult.Finished), seen);
    }
}
