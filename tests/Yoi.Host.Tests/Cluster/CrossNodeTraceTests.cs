using System.Text.Json.Nodes;
using Yoi.Host.Tests.Infrastructure;
using Yoi.Messages;

namespace Yoi.Host.Tests.Cluster;

/// <summary>One trace across two real `yoi serve` nodes on PostgreSQL, exported over OTLP/HTTP by both to one loopback
/// receiver. A run on node A makes a plain tool call, spawns a child (a child actor: always on its parent's node, spec
/// README "How the reference maps") and messages a peer Worker that lives on node B (reached through the shard region).
/// Both delegated runs must be children of the execute_tool span that delegated to them, in the run's trace.</summary>
public sealed class CrossNodeTraceTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly TempDir _dir = new("yoi-xtr");

    private static void RequirePostgres() =>
        Assert.SkipWhen(PostgresDatabase.ServerUrl is null, "YOI_TEST_PG is not set (bash .ci/postgres.sh starts PostgreSQL and prints the URL)");

    private static JsonObject ToolCall(string id, string name, object arguments) => new()
    {
        ["tool_call"] = new JsonObject { ["id"] = id, ["name"] = name, ["arguments"] = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(arguments)) },
    };

    private static async Task<string> NodeOfAsync(ClusterNodes cluster, string worker)
    {
        await using var client = await WireClient.ConnectAsync(cluster.Socket(0));
        await client.SendAsync(new InspectMethod(worker));
        var reply = await client.ReadUntilAsync(e => e is WorkerInspectionEvent or ErrorEvent, TimeSpan.FromSeconds(20));
        return reply is WorkerInspectionEvent i ? i.Node : throw new InvalidOperationException($"inspect {worker}: {reply}");
    }

    private string LeadManifest(string name, string peer)
    {
        var ws = _dir.File(name + "-ws");
        Directory.CreateDirectory(ws);
        var script = _dir.File(name + "-script.json");
        var delegating = new JsonObject
        {
            ["match"] = "delegate",
            ["items"] = new JsonArray(
                ToolCall("g1", "Glob", new { pattern = "*.none" }),
                ToolCall("s1", "SpawnWorker", new { name = "helper", task = "child task", scope = new[] { new { target = ws, permission = "read" } } }),
                ToolCall("p1", "SendToPeerWorker", new { name = peer, message = "hello from the lead" }),
                new JsonObject { ["usage"] = new JsonObject { ["input"] = 40, ["output"] = 9 } }),
        };
        File.WriteAllText(script, Scripted.Script(
            delegating.ToJsonString(),
            Scripted.TextMatching("delegate", "delegated"),
            Scripted.TextMatching("child task", "child done"),
            Scripted.TextMatching("finished a turn", "noted"),
            Scripted.TextMatching("finished a turn", "noted")));
        return $"""
            [worker]
            name = "{name}"
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
            target = "{ws}"
            permission = "read"
            """;
    }

    [Fact(Timeout = 240_000)]
    public async Task A_peer_run_on_another_node_and_a_spawned_child_are_children_of_the_delegating_execute_tool_spans()
    {
        RequirePostgres();
        await using var otlp = new OtlpReceiver();
        await using var cluster = await ClusterNodes.StartAsync(2, i => new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_SERVICE_NAME"] = $"yoi-node-{i}",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        });
        await cluster.WarmUpAsync(_dir);

        const string peer = "peer";
        var (p, _) = await cluster.AttachAsync(0, peer, Scripted.Create(_dir, peer, Scripted.TextMatching("Peer message", "got it")), Timeout);
        await p.DisposeAsync();
        var peerAddress = await NodeOfAsync(cluster, peer);
        var peerNode = cluster.Address(0) == peerAddress ? 0 : 1;
        var leadService = $"yoi-node-{1 - peerNode}";

        // The delegating Worker on the other node: new shards go to the region with the fewest, so a few names suffice.
        WireClient? lead = null;
        string name = "";
        for (var i = 0; i < 12 && lead is null; i++)
        {
            name = $"lead-{i}";
            var (c, _) = await cluster.AttachAsync(0, name, new CreateSpec(ManifestToml: LeadManifest(name, peer)), Timeout);
            if (await NodeOfAsync(cluster, name) != peerAddress) lead = c;
            else await c.DisposeAsync();
        }
        Assert.True(lead is not null, "no lead Worker landed on the other node");
        await using var _lead = lead;
        output.WriteLine($"{name} on {cluster.Address(1 - peerNode)}, {peer} on {peerAddress}");

        await lead!.SendAsync(new RegisterPeerMethod(peer!));
        await lead!.ReadUntilAsync<PeerRegisteredEvent>(timeout: Timeout);
        await lead!.SendAsync(new RunMethod([new TextSegment("delegate the work")]));
        var end = await lead!.ReadUntilAsync<RunEndEvent>(timeout: Timeout);
        Assert.Equal(RunResult.Finished, end.Result);

        List<OtlpSpan> spans = [];
        OtlpSpan? run = null, peerRun = null, child = null;
        var deadline = DateTime.UtcNow + Timeout;
        while (run is null || peerRun is null || child is null)
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail("spans missing; requests: " + string.Join(", ", otlp.Requests.GroupBy(r => r.Path).Select(g => $"{g.Key}×{g.Count()}")) + "; got: " + string.Join(", ", spans.Select(s => $"{s.Service}:{s.Name}")) + "\n" + cluster.Logs());
            await Task.Delay(200);
            spans = otlp.Spans();
            run = spans.FirstOrDefault(s => s.Name == $"invoke_agent {name}" && (string?)s["yoi.run.trigger"] == "user_send");
            peerRun = spans.FirstOrDefault(s => s.Name == $"invoke_agent {peer}");
            child = spans.FirstOrDefault(s => s.Name == $"invoke_agent {name}/helper");
        }
        var trace = spans.Where(s => s.TraceId == run.TraceId).ToList();
        output.WriteLine(string.Join("\n", trace.Select(s => $"{s.Service} {s.SpanId} <- {s.ParentSpanId} {s.Name}")));

        Assert.Equal(leadService, run.Service);
        Assert.Equal("", run.ParentSpanId);
        Assert.Equal("invoke_agent", run["gen_ai.operation.name"]);
        Assert.Equal(name, run["gen_ai.agent.name"]);
        Assert.True(Guid.TryParse(run["gen_ai.conversation.id"] as string, out _));
        Assert.Equal("finished", run["yoi.run.outcome"]);

        OtlpSpan Tool(string name, string id)
        {
            var tool = Assert.Single(trace, s => s.Name == "execute_tool " + name);
            Assert.Equal(run.SpanId, tool.ParentSpanId);
            Assert.Equal(leadService, tool.Service);
            Assert.Equal("execute_tool", tool["gen_ai.operation.name"]);
            Assert.Equal(name, tool["gen_ai.tool.name"]);
            Assert.Equal(id, tool["gen_ai.tool.call.id"]);
            return tool;
        }
        Tool("Glob", "g1");
        var spawn = Tool("SpawnWorker", "s1");
        var send = Tool("SendToPeerWorker", "p1");
        var chat = trace.Where(s => s.ParentSpanId == run.SpanId && s.Name == "chat scripted-1").ToList();
        Assert.Equal(2, chat.Count);
        Assert.Contains(chat, c => (long?)c["gen_ai.usage.input_tokens"] == 40);
        Assert.All(chat, c => Assert.Equal("chat", c["gen_ai.operation.name"]));

        // The child (same node, a child actor) under SpawnWorker.
        Assert.Equal(run.TraceId, child.TraceId);
        Assert.Equal(spawn.SpanId, child.ParentSpanId);
        Assert.Equal(leadService, child.Service);
        Assert.Equal($"{name}/helper", child["gen_ai.agent.name"]);

        // The peer's run: exported by the OTHER node, in the lead's trace, under SendToPeerWorker.
        Assert.Equal($"yoi-node-{peerNode}", peerRun.Service);
        Assert.Equal(run.TraceId, peerRun.TraceId);
        Assert.Equal(send.SpanId, peerRun.ParentSpanId);
        Assert.Equal("invoke_agent", peerRun["gen_ai.operation.name"]);
        Assert.Equal(peer, peerRun["gen_ai.agent.name"]);
        Assert.Equal("notify", peerRun["yoi.run.trigger"]);
        Assert.True(Guid.TryParse(peerRun["gen_ai.conversation.id"] as string, out var peerSession));
        Assert.NotEqual(run["gen_ai.conversation.id"], peerSession.ToString());
        var deadline2 = DateTime.UtcNow + Timeout;
        while (!otlp.Spans().Any(s => s.ParentSpanId == peerRun.SpanId && s.Name.StartsWith("chat ", StringComparison.Ordinal)))
        {
            if (DateTime.UtcNow > deadline2) Assert.Fail("no chat span under the peer's run");
            await Task.Delay(200);
        }
        var peerChat = otlp.Spans().First(s => s.ParentSpanId == peerRun.SpanId && s.Name.StartsWith("chat ", StringComparison.Ordinal));
        Assert.Equal($"yoi-node-{peerNode}", peerChat.Service);
        Assert.Equal(run.TraceId, peerChat.TraceId);
    }

    public void Dispose() => _dir.Dispose();
}
