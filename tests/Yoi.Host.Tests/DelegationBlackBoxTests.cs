using System.Text.Json;
using Yoi.Host.Tests.Infrastructure;
using Yoi.Messages;

namespace Yoi.Host.Tests;

/// <summary>Black-box over the socket of a real `yoi serve`: a parent's model spawns a child with a write loan on a
/// sub-folder; the child's model writes a file there; the parent receives `turn_ended`, runs a notification turn and
/// goes on. One script file drives both models (each Worker has its own cursor; responses match by prompt text).</summary>
public sealed class DelegationBlackBoxTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 90_000)]
    public async Task Parent_spawns_a_child_that_edits_its_loaned_folder_and_continues_on_turn_ended()
    {
        var dir = fixture.Dir;
        var ws = dir.File("deleg-ws");
        var loaned = Path.Combine(ws, "sub");
        Directory.CreateDirectory(loaned);
        var spawn = JsonSerializer.Serialize(new
        {
            name = "editor",
            task = "edit notes please",
            scope = new[] { new { target = loaned, permission = "write" } },
        });
        var script = dir.File("deleg-script.json");
        File.WriteAllText(script, Scripted.Script(
            Scripted.ToolCall("spawn-1", "SpawnWorker", spawn, match: "delegate"),
            Scripted.TextMatching("delegate", "spawned the editor"),
            Scripted.ToolCall("write-1", "Write", """{"file_path":"sub/notes.txt","content":"written by the child"}""", match: "edit notes please"),
            Scripted.TextMatching("edit notes please", "edited"),
            Scripted.TextMatching("finished a turn", "the editor is done")));
        var manifest = $"""
            [worker]
            name = "lead"
            workspace = "{ws}"

            [model]
            scheme = "scripted"
            script = "{script}"

            [[scope.allow]]
            target = "{ws}"
            permission = "write"

            [feature.workers]
            enabled = true

            [[delegation_scope.allow]]
            target = "{loaned}"
            permission = "write"
            """;

        await using var parent = await WireClient.ConnectAsync(fixture.Server.SocketPath);
        await parent.AttachAsync("lead", new CreateSpec(ManifestToml: manifest));
        await parent.SendAsync(new RunMethod([new TextSegment("delegate the edit")]));

        var spawned = await parent.ReadUntilAsync<ToolResultEvent>(r => r.Id == "spawn-1", Timeout);
        Assert.False(spawned.IsError, spawned.Summary);
        // The notification turn woken by the child's report: it sees the rendered worker_event and answers.
        var item = await parent.ReadUntilAsync<SystemItemEvent>(s => s.Item is WorkerEventSystemItem, Timeout);
        var report = Assert.IsType<WorkerEventSystemItem>(item.Item);
        Assert.Equal(new TurnEndedWorkerEvent("lead/editor"), report.Event); // reports carry the full name
        Assert.Contains("finished a turn", report.Body);
        await parent.ReadUntilAsync<TextDoneEvent>(t => t.Text == "the editor is done", Timeout);
        await parent.ReadUntilAsync<StatusEvent>(s => s.Status == WorkerStatus.Idle, Timeout);

        Assert.Equal("written by the child", File.ReadAllText(Path.Combine(loaned, "notes.txt")));

        // The child is a Worker in its own right: attach by full name and read its session.
        await using var child = await WireClient.ConnectAsync(fixture.Server.SocketPath);
        var snapshot = await child.AttachAsync("lead/editor");
        Assert.Contains(snapshot.Entries, e => e is ToolResultEntry { Item.CallId: "write-1", Item.IsError: false });
        Assert.Contains(snapshot.Entries, e => e is AssistantItemEntry { Item: MessageItem m } && m.PlainText == "edited");
    }
}
