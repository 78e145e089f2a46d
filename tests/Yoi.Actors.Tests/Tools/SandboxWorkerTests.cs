using System.Net;
using System.Net.Sockets;
using Yoi.Actors.Engine.Scripted;
using Yoi.Actors.Tests.Delegation;
using Yoi.Actors.Tests.Worker;
using Yoi.Messages;
using static Yoi.Actors.Tests.Worker.Kit;
using F = Yoi.Actors.Tests.Delegation.DelegationNodeFixture;

namespace Yoi.Actors.Tests.Tools;

/// <summary>Spec README "beyond the reference" 12 through a real Worker (real node, journal, builtin tools, bwrap):
/// the scripted model calls Bash and the results come back as the model and clients see them.</summary>
[Collection(DelegationNodeCollection.Name)]
public sealed class SandboxWorkerTests(DelegationNodeFixture node)
{
    private const string Sentinel = "SANDBOX-SENTINEL-7f3a";

    private static string Manifest(string ws, string extra = "") => $"""
        [model]
        scheme = "scripted"
        script = "registered-in-test.json"

        [[scope.allow]]
        target = "{ws}"
        permission = "write"

        {extra}
        """;

    private static string Rule(string list, string target, string permission) => $"""
        [[scope.{list}]]
        target = "{target}"
        permission = "{permission}"

        """;

    /// <summary>Runs one Bash call through a fresh Worker and returns its result and the greeting's scope summary.</summary>
    private async Task<(ToolResultEvent Result, string Greeting)> BashAsync(string name, string command, Func<string, string>? manifest = null)
    {
        var ws = node.Workspace(name);
        var model = Script(Resp(new ScriptToolCall("b1", "Bash", System.Text.Json.JsonSerializer.Serialize(new { command }))), Resp(new ScriptText("done")));
        node.Models[name] = model;
        await using var client = node.Client();
        var snapshot = await client.AttachAsync(name, manifest?.Invoke(ws) ?? Manifest(ws), ws);
        client.Run("go");
        var result = await client.NextAsync<ToolResultEvent>(t => t.Id == "b1", TimeSpan.FromSeconds(60));
        await client.UntilStatusAsync(WorkerStatus.Idle);
        return (result, snapshot.Greeting.ScopeSummary);
    }

    private string Outside(string name, string file = "secret.txt")
    {
        var dir = Directory.CreateDirectory(Path.Combine(node.Home, "outside-" + name)).FullName;
        File.WriteAllText(Path.Combine(dir, file), Sentinel + "\n");
        return Path.Combine(dir, file);
    }

    [Fact]
    public async Task The_greeting_says_bash_is_sandboxed_without_network()
    {
        var (result, greeting) = await BashAsync("sbx-greet", "echo hi");
        Assert.EndsWith("Bash: sandboxed (bubblewrap, network off)", greeting);
        Assert.False(result.IsError, result.Summary);
        Assert.Equal("hi\n", result.Output);
    }

    [Fact]
    public async Task Bash_cannot_read_a_sentinel_outside_the_read_scope_nor_the_nodes_home()
    {
        var sentinel = Outside("sbx-read");
        var (result, _) = await BashAsync("sbx-read",
            $"cat {sentinel}; echo rc=$?; ls {node.Home}; cat {node.Home}/yoi.db | head -c 100; ls -A /root /home 2>&1; ls {sentinel}");
        Assert.DoesNotContain(Sentinel, result.Output);
        Assert.Contains("rc=1", result.Output);
        Assert.DoesNotContain("yoi.db", result.Output.Replace($"{node.Home}/yoi.db", "")); // no listing of the node's home
        Assert.DoesNotContain(node.JournalOf("sbx-read"), row => row.Json.Contains(Sentinel));
    }

    [Fact]
    public async Task Bash_reads_the_read_scope_but_cannot_write_it_nor_outside_nor_a_read_only_deny()
    {
        var readOnly = node.Workspace("sbx-write-ro");
        File.WriteAllText(readOnly + "/r.txt", "readable\n");
        var outside = Path.GetDirectoryName(Outside("sbx-write"))!;
        var (result, _) = await BashAsync("sbx-write",
            $"cat {readOnly}/r.txt; echo pwn > {outside}/new.txt; echo pwn > {readOnly}/new.txt; echo pwn > ro/new.txt; echo ok > ok.txt; echo pwn > /tmp/sbx-tmp-probe; echo end",
            ws =>
            {
                Directory.CreateDirectory(ws + "/ro");
                return Manifest(ws, Rule("allow", readOnly, "read") + Rule("deny", ws + "/ro", "write"));
            });
        Assert.Contains("readable", result.Output);
        Assert.Contains("end", result.Output);
        Assert.False(File.Exists(outside + "/new.txt"));
        Assert.False(File.Exists(readOnly + "/new.txt"));
        Assert.False(File.Exists(node.Workspace("sbx-write") + "/ro/new.txt"));
        Assert.False(File.Exists("/tmp/sbx-tmp-probe")); // a private /tmp
        Assert.Equal("ok\n", File.ReadAllText(node.Workspace("sbx-write") + "/ok.txt")); // the write scope is writable
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Bash_reaches_a_loopback_listener_only_with_network_on(bool network)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var accepted = listener.AcceptTcpClientAsync();
        var name = network ? "sbx-net-on" : "sbx-net-off";
        var (result, greeting) = await BashAsync(name,
            $"if exec 3<>/dev/tcp/127.0.0.1/{port}; then echo connected; else echo refused; fi",
            ws => Manifest(ws, network ? "[tools.bash]\nnetwork = true\n" : ""));
        if (network)
        {
            Assert.Contains("connected", result.Output);
            Assert.True(accepted.Wait(TimeSpan.FromSeconds(10)));
            Assert.EndsWith("network on)", greeting);
        }
        else
        {
            Assert.Contains("refused", result.Output);
            Assert.False(accepted.IsCompleted);
        }
    }

    [Fact]
    public async Task Required_without_bwrap_is_a_clear_refusal_and_runs_nothing()
    {
        var (result, greeting) = await BashAsync("sbx-required", "touch ran.txt",
            ws => Manifest(ws, "[tools.bash]\nsandbox = \"required\"\nbwrap = \"/nonexistent/bwrap\"\n"));
        Assert.True(result.IsError);
        Assert.Contains("Bash requires the bubblewrap sandbox ([tools.bash] sandbox = \"required\") but it is unavailable: bwrap not found at /nonexistent/bwrap", result.Summary);
        Assert.Contains("Bash: refused (sandbox required but unavailable", greeting);
        Assert.False(File.Exists(node.Workspace("sbx-required") + "/ran.txt"));
    }

    [Fact]
    public async Task Auto_without_bwrap_runs_unsandboxed_and_the_greeting_says_so()
    {
        var sentinel = Outside("sbx-auto");
        var (result, greeting) = await BashAsync("sbx-auto", $"cat {sentinel}",
            ws => Manifest(ws, "[tools.bash]\nbwrap = \"/nonexistent/bwrap\"\n"));
        Assert.Contains("Bash: not sandboxed (bwrap not found at /nonexistent/bwrap); it runs with the node's authority", greeting);
        Assert.Contains(Sentinel, result.Output); // the control: without the sandbox the same command reads it
    }

    [Fact]
    public async Task A_childs_bash_gets_the_childs_narrower_scope()
    {
        var ws = node.Workspace("sbx-parent");
        Directory.CreateDirectory(ws + "/sub");
        File.WriteAllText(ws + "/parent-only.txt", Sentinel + "\n");
        node.Models["sbx-parent"] = Script(Resp(new ScriptText("ok")), Resp(new ScriptText("ok")), Resp(new ScriptText("ok")));
        node.Models["sbx-parent/c1"] = Script(
            Resp(new ScriptToolCall("b1", "Bash", System.Text.Json.JsonSerializer.Serialize(new
            {
                command = $"cat {ws}/parent-only.txt; echo pwn > {ws}/child-wrote.txt; echo ok > {ws}/sub/child.txt; echo end",
            }))),
            Resp(new ScriptText("done")), Resp(new ScriptText("spare")));
        await using var client = await node.StartAsync("sbx-parent", node.Models["sbx-parent"], F.ParentManifest(ws, F.Grant(ws)), ws);
        var spawn = await node.ToolAsync("sbx-parent", "SpawnWorker", new { name = "c1", task = "work", scope = new[] { new { target = ws + "/sub", permission = "write", recursive = true } } });
        Assert.Null(spawn.Error);
        await using var watch = node.Client();
        await watch.AttachAsync("sbx-parent/c1");
        var result = await watch.NextAsync<ToolResultEvent>(t => t.Id == "b1", TimeSpan.FromSeconds(60));
        Assert.Contains("end", result.Output);
        Assert.DoesNotContain(Sentinel, result.Output);
        Assert.False(File.Exists(ws + "/child-wrote.txt"));
        Assert.Equal("ok\n", File.ReadAllText(ws + "/sub/child.txt"));
        Assert.Null((await node.ToolAsync("sbx-parent", "StopWorker", new { name = "c1" })).Error);
    }
}
