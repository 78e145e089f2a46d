using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Yoi.Host.Tests.Infrastructure;

namespace Yoi.Host.Tests;

/// <summary>Cluster inspection across two real `yoi serve` processes (each with its own home and journal): the
/// CLI talks to node A only, and sees both members, both regions and Workers on both nodes; `cluster leave`
/// removes node B; `cluster down` refuses an address that is not a member.</summary>
public sealed class TwoNodeCliTests
{
    private static readonly TimeSpan CliTimeout = TimeSpan.FromSeconds(30);

    /// <summary>A free port below Linux's ephemeral range (32768+), so no node started with `--port 0` by a
    /// parallel test can take it between this probe and the node's bind.</summary>
    private static int FreePort()
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = Random.Shared.Next(20_000, 32_000);
            try
            {
                using var l = new TcpListener(IPAddress.Loopback, port);
                l.Start();
                return port;
            }
            catch (SocketException) { }
        }
        throw new InvalidOperationException("no free port in 20000-32000");
    }

    private static async Task<JsonElement> Json(string home, params string[] args)
    {
        var r = await YoiCli.RunAsync(CliTimeout, home, [.. args, "--json", "--home", home]);
        Assert.True(r.ExitCode == 0, $"yoi {string.Join(' ', args)}\n{r}");
        return JsonDocument.Parse(r.Stdout).RootElement.Clone();
    }

    private static async Task<JsonElement> PollAsync(string home, string[] args, Func<JsonElement, bool> until, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var json = await Json(home, args);
            if (until(json)) return json;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{what}: not within {timeout.TotalSeconds}s; last: {json}");
            await Task.Delay(500);
        }
    }

    [Fact(Timeout = 240_000)]
    public async Task Cluster_show_shards_and_workers_span_both_nodes_and_leave_removes_one()
    {
        using var homeA = new TempDir("yoi-2a");
        using var homeB = new TempDir("yoi-2b");
        var port = FreePort();
        await using var a = await YoiServer.StartAsync(homeA.Path, "--port", port.ToString());
        await using var b = await YoiServer.StartAsync(homeB.Path, "--seed", $"akka.tcp://yoi@127.0.0.1:{port}");

        var state = await PollAsync(homeA.Path, ["cluster", "show"],
            j => j.GetProperty("members").GetArrayLength() == 2 && j.GetProperty("members").EnumerateArray().All(m => m.GetProperty("status").GetString() == "up"),
            TimeSpan.FromSeconds(60), "two members up");
        var addressA = state.GetProperty("self_address").GetString()!;
        Assert.Equal($"akka.tcp://yoi@127.0.0.1:{port}", addressA);
        var addressB = state.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("address").GetString()!).Single(x => x != addressA);
        // Akka's leader is the first up member by address order, not necessarily the seed
        Assert.Contains(state.GetProperty("leader").GetString(), new[] { addressA, addressB });

        var text = await YoiCli.RunAsync(CliTimeout, homeA.Path, "cluster", "show", "--home", homeA.Path);
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains(addressA, text.Stdout);
        Assert.Contains(addressB, text.Stdout);

        // Workers created through node A: the least-shard allocation spreads their shards over both nodes.
        var names = Enumerable.Range(1, 6).Select(i => $"two-{i}").ToList();
        foreach (var name in names)
        {
            var manifest = homeA.File(name + ".toml");
            File.WriteAllText(manifest, Scripted.Manifest(homeA, name, Scripted.Text("hi from " + name)));
            var r = await YoiCli.RunAsync(CliTimeout, homeA.Path, "run", name, "hello", "--manifest", manifest, "--home", homeA.Path);
            Assert.True(r.ExitCode == 0, r.ToString());
            Assert.Contains("hi from " + name, r.Stdout);
        }

        var workers = await Json(homeA.Path, "workers");
        var listed = workers.GetProperty("workers").EnumerateArray().ToList();
        foreach (var name in names)
            Assert.Contains(listed, w => w.GetProperty("name").GetString() == name && w.GetProperty("status").GetString() == "idle");
        var nodes = listed.Where(w => names.Contains(w.GetProperty("name").GetString()!)).Select(w => w.GetProperty("node").GetString()).Distinct().ToList();
        Assert.True(nodes.Count == 2, $"workers on both nodes expected: {workers}");

        var shards = await Json(homeA.Path, "shards");
        var region = shards.GetProperty("regions").EnumerateArray().Single(r => r.GetProperty("region").GetString() == "worker");
        var regionNodes = region.GetProperty("nodes").EnumerateArray().ToList();
        Assert.Equal(new[] { addressA, addressB }.Order(), regionNodes.Select(n => n.GetProperty("address").GetString()!).Order());
        Assert.Equal(6, regionNodes.Sum(n => n.GetProperty("entities").GetInt32()));
        Assert.All(regionNodes, n => Assert.True(n.GetProperty("entities").GetInt32() >= 1, shards.ToString()));

        var notMember = await YoiCli.RunAsync(CliTimeout, homeA.Path, "cluster", "down", "akka.tcp://yoi@127.0.0.1:1", "--home", homeA.Path);
        Assert.True(notMember.ExitCode == 1, notMember.ToString());
        Assert.Contains("is not a member of the cluster", notMember.Stderr);

        var leave = await YoiCli.RunAsync(CliTimeout, homeA.Path, "cluster", "leave", addressB, "--home", homeA.Path);
        Assert.True(leave.ExitCode == 0, leave.ToString());
        Assert.Contains("is leaving the cluster", leave.Stdout);

        await PollAsync(homeA.Path, ["cluster", "show"],
            j => j.GetProperty("members").GetArrayLength() == 1 && j.GetProperty("members")[0].GetProperty("address").GetString() == addressA,
            TimeSpan.FromSeconds(60), "node B removed");
    }
}
