using Yoi.Host.Tests.Infrastructure;
using Yoi.Messages;

namespace Yoi.Host.Tests;

/// <summary>Black-box over the socket of a real `yoi serve` with bubblewrap on the machine (spec README "beyond the
/// reference" 12): the scripted model's Bash runs sandboxed by default. It cannot read a sentinel outside the scope,
/// cannot write outside, and does not see the node's home (journal, endpoint socket) around its workspace; nothing
/// of the sentinel reaches any event.</summary>
public sealed class SandboxBlackBoxTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string Sentinel = "BLACKBOX-SENTINEL-91c2";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact(Timeout = 120_000)]
    public async Task Bash_in_the_default_sandbox_sees_only_the_scope()
    {
        using var outside = new TempDir("yoi-sbx-out");
        File.WriteAllText(outside.File("secret.txt"), Sentinel + "\n");
        var ws = fixture.Dir.File("sbx-ws");
        Directory.CreateDirectory(ws);
        var home = fixture.Server.Home;
        var command = $"cat {outside.File("secret.txt")}; echo pwn > {outside.File("new.txt")}; ls -A {home}; " +
                      $"test -e {fixture.Server.SocketPath} && echo SOCKET-VISIBLE; echo ok > inside.txt; echo end";
        var script = fixture.Dir.File("sbx-script.json");
        File.WriteAllText(script, Scripted.Script(
            Scripted.ToolCall("b1", "Bash", System.Text.Json.JsonSerializer.Serialize(new { command })),
            Scripted.Text("done")));
        var manifest = $"""
            [worker]
            name = "sbx"
            workspace = "{ws}"

            [model]
            scheme = "scripted"
            script = "{script}"

            [[scope.allow]]
            target = "{ws}"
            permission = "write"
            """;

        await using var client = await WireClient.ConnectAsync(fixture.Server.SocketPath);
        var snapshot = await client.AttachAsync("sbx", new CreateSpec(ManifestToml: manifest));
        Assert.EndsWith("Bash: sandboxed (bubblewrap, network off)", snapshot.Greeting.ScopeSummary);
        await client.SendAsync(new RunMethod([new TextSegment("go")]));
        var events = await client.CollectUntilAsync(e => e is RunEndEvent or ErrorEvent, Timeout);
        var dump = WireClient.Dump(events) + "\n--- server ---\n" + fixture.Server.Output;

        var result = Assert.Single(events.OfType<ToolResultEvent>());
        Assert.Contains("end", result.Output);
        Assert.Equal("sbx-ws", result.Output!.Split('\n').Single(l => l.StartsWith("sbx-", StringComparison.Ordinal))); // the home shows only the workspace
        Assert.DoesNotContain("yoi.db", result.Output);
        Assert.DoesNotContain("SOCKET-VISIBLE", result.Output);
        Assert.DoesNotContain(Sentinel, dump);
        Assert.False(File.Exists(outside.File("new.txt")));
        Assert.Equal("ok\n", File.ReadAllText(Path.Combine(ws, "inside.txt")));
    }
}
