using Yoi.Host.Tests.Infrastructure;
using Yoi.Messages;

namespace Yoi.Host.Tests;

/// <summary>Black-box over the socket of a real `yoi serve`: a scripted model reads a file inside its scope, then one
/// outside it; the tool results carry the content, then the scope catalogue's refusal. A file_ref in the input is
/// attached as `[File: …]` right after the user message; a bad scope is refused at attach naming the key.</summary>
public sealed class ScopedToolsBlackBoxTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 60_000)]
    public async Task Model_reads_a_file_in_scope_and_is_refused_one_outside()
    {
        var dir = fixture.Dir;
        var ws = dir.File("scoped-ws");
        Directory.CreateDirectory(Path.Combine(ws, "proj"));
        Directory.CreateDirectory(Path.Combine(ws, "private"));
        File.WriteAllText(Path.Combine(ws, "proj", "hello.txt"), "hello from inside the scope\n");
        File.WriteAllText(Path.Combine(ws, "private", "secret.txt"), "TOP SECRET\n");

        var script = dir.File("scoped-script.json");
        File.WriteAllText(script, Scripted.Script(
            Scripted.ToolCall("call-in", "Read", """{"file_path":"proj/hello.txt"}"""),
            Scripted.ToolCall("call-out", "Read", """{"file_path":"private/secret.txt"}"""),
            Scripted.Text("done")));
        var manifest = $"""
            [worker]
            name = "scoped"
            workspace = "{ws}"

            [model]
            scheme = "scripted"
            script = "{script}"

            [[scope.allow]]
            target = "{Path.Combine(ws, "proj")}"
            permission = "write"
            """;

        await using var client = await WireClient.ConnectAsync(fixture.Server.SocketPath);
        var snapshot = await client.AttachAsync("scoped", new CreateSpec(ManifestToml: manifest));
        Assert.Equal(["Bash", "Edit", "Glob", "Grep", "Read", "Write"], snapshot.Greeting.Tools);
        Assert.Equal(ws, snapshot.Greeting.Cwd);
        Assert.Equal("Writable:\n  - " + Path.Combine(ws, "proj") + "\nBash: sandboxed (bubblewrap, network off)", snapshot.Greeting.ScopeSummary);

        await client.SendAsync(new RunMethod([new TextSegment("look at "), new FileRefSegment("proj/hello.txt")]));
        var events = await client.CollectUntilAsync(e => e is RunEndEvent or ErrorEvent, Timeout);
        var dump = WireClient.Dump(events) + "\n--- server ---\n" + fixture.Server.Output;

        Assert.True(events[^1] is RunEndEvent { Result: RunResult.Finished }, dump);
        var userAt = events.FindIndex(e => e is UserMessageEvent);
        var attachment = Assert.IsType<SystemItemEvent>(events[userAt + 1]);
        Assert.Contains("[File: proj/hello.txt]", ((FileAttachmentSystemItem)attachment.Item).Body);

        var results = events.OfType<ToolResultEvent>().ToList();
        Assert.Equal(2, results.Count);
        Assert.Equal("call-in", results[0].Id);
        Assert.False(results[0].IsError, dump);
        Assert.Equal("Read 1 line(s) from proj/hello.txt", results[0].Summary);
        Assert.Equal("     1\thello from inside the scope", results[0].Output);

        Assert.Equal("call-out", results[1].Id);
        Assert.True(results[1].IsError, dump);
        Assert.Equal("Tool execution failed: Invalid argument: path is outside allowed scope: private/secret.txt", results[1].Summary);
        Assert.DoesNotContain(events, e => WireClient.Dump([e]).Contains("TOP SECRET"));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_manifest_with_a_bad_scope_rule_is_refused_at_attach_naming_the_key()
    {
        var manifest = Scripted.Manifest(fixture.Dir, "bad-scope", Scripted.Text("x")) + """


            [[scope.allow]]
            target = "/tmp"
            permission = "everything"
            """;
        await using var client = await WireClient.ConnectAsync(fixture.Server.SocketPath);
        await client.SendAsync(new AttachMethod("bad-scope", new CreateSpec(ManifestToml: manifest)));
        var error = await client.ReadUntilAsync<ErrorEvent>(timeout: Timeout);
        Assert.Equal(ErrorCode.InvalidRequest, error.Code);
        Assert.Contains("invalid manifest", error.Message);
        Assert.Contains("scope.allow[0].permission", error.Message);

        await client.SendAsync(new AttachMethod("bad-scope"));
        Assert.Contains("does not exist", (await client.ReadUntilAsync<ErrorEvent>(timeout: Timeout)).Message); // nothing was created
    }
}
