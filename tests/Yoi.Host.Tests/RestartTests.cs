using Yoi.Host.Tests.Infrastructure;
using Yoi.Messages;

namespace Yoi.Host.Tests;

/// <summary>A node killed mid-run (SIGKILL) and restarted on the same home: the journal holds every committed
/// entry exactly once and the next run closes the interrupted turn first.</summary>
public sealed class RestartTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact(Timeout = 120_000)]
    public async Task A_killed_node_restarts_with_the_committed_entries_and_closes_the_interrupted_turn()
    {
        using var dir = new TempDir("yoi-rs");
        const string worker = "restart-me";
        var create = Scripted.Create(dir, worker,
            Scripted.ToolCall("call_1", "NoSuchTool", """{"x":1}""", match: "first"),
            Scripted.Hang(match: "first"),
            Scripted.TextMatching("next", "after", " restart"));

        // 1. a run that commits a tool call + its (error) result, then hangs in the next LLM call
        var server = await YoiServer.StartAsync(dir.Path);
        try
        {
            await using var client = await WireClient.ConnectAsync(server.SocketPath);
            await client.AttachAsync(worker, create);
            await client.SendAsync(new RunMethod([new TextSegment("first request")]));
            var result = await client.ReadUntilAsync<ToolResultEvent>(timeout: Timeout);
            Assert.Equal("call_1", result.Id);
            Assert.True(result.IsError);
            // the hanging second LLM call has started
            await client.ReadUntilAsync<TurnStartEvent>(timeout: Timeout);

            await server.KillAsync();
            Assert.True(server.HasExited);
        }
        finally
        {
            await server.DisposeAsync();
        }

        // 2. a new node on the same home
        await using var restarted = await YoiServer.StartAsync(dir.Path);
        await using var again = await WireClient.ConnectAsync(restarted.SocketPath);
        var snapshot = await again.AttachAsync(worker);
        var entries = snapshot.Entries;
        string Diag() => $"entries:\n{string.Join("\n", entries.Select(e => e.GetType().Name))}\n--- server ---\n{restarted.Output}";

        Assert.True(1 == entries.Count(e => e is SegmentStartEntry), Diag());
        Assert.True(1 == entries.Count(e => e is InvokeEntry), Diag());
        Assert.True(1 == entries.Count(e => e is UserInputEntry u && Segment.FlattenAll(u.Segments) == "first request"), Diag());
        Assert.True(1 == entries.Count(e => e is AssistantItemEntry { Item: ToolCallItem { CallId: "call_1", Name: "NoSuchTool" } }), Diag());
        Assert.True(1 == entries.Count(e => e is ToolResultEntry { Item.CallId: "call_1" }), Diag());
        Assert.NotEqual(WorkerStatus.Running, snapshot.Status);

        // 3. the next run first closes the interrupted turn, then runs normally
        await again.SendAsync(new RunMethod([new TextSegment("next")]));
        var events = await again.CollectUntilAsync(e => e is StatusEvent { Status: not WorkerStatus.Running } || e is ErrorEvent, Timeout);
        string Dump() => WireClient.Dump(events) + "\n--- server ---\n" + restarted.Output;

        var interrupt = events.FindIndex(e => e is SystemItemEvent { Item: InterruptSystemItem });
        var invoke = events.FindIndex(e => e is InvokeStartEvent { Kind: InvokeKind.UserSend });
        Assert.True(interrupt >= 0, "no interrupt system_item:\n" + Dump());
        Assert.True(invoke > interrupt, "the interrupt note must come before the new invoke:\n" + Dump());
        Assert.Contains(events, e => e is TextDoneEvent { Text: "after restart" });
        Assert.Contains(events, e => e is RunEndEvent { Result: RunResult.Finished });
        Assert.IsType<StatusEvent>(events[^1]);
        Assert.Equal(WorkerStatus.Idle, ((StatusEvent)events[^1]).Status);

        // the committed log now has the interrupt note before the second invoke, each entry once
        await using var third = await WireClient.ConnectAsync(restarted.SocketPath);
        var after = (await third.AttachAsync(worker)).Entries;
        var noteAt = after.ToList().FindIndex(e => e is SystemItemEntry { Item: InterruptSystemItem });
        var secondInvokeAt = after.Select((e, i) => (e, i)).Where(x => x.e is InvokeEntry).Select(x => x.i).Skip(1).FirstOrDefault(-1);
        Assert.True(noteAt >= 0 && secondInvokeAt > noteAt, "log order:\n" + string.Join("\n", after.Select(e => e.GetType().Name)));
        Assert.Equal(1, after.Count(e => e is ToolResultEntry { Item.CallId: "call_1" }));
    }
}
