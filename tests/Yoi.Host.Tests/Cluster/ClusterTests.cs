using System.Diagnostics;
using Yoi.Host.Tests.Infrastructure;
using Yoi.Messages;

namespace Yoi.Host.Tests.Cluster;

/// <summary>Real multi-node clusters: separate `yoi serve` processes on loopback over one PostgreSQL journal
/// (needs $YOI_TEST_PG; `.ci/run` starts PostgreSQL from Debian packages and sets it).</summary>
public sealed class ClusterTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan FormTimeout = TimeSpan.FromSeconds(60);
    private readonly TempDir _scripts = new("yoi-cl");

    private static void RequirePostgres() =>
        Assert.SkipWhen(PostgresDatabase.ServerUrl is null, "YOI_TEST_PG is not set (bash .ci/postgres.sh starts PostgreSQL and prints the URL)");

    /// <summary>First run: a tool call (answered with an error result: no such tool), then a hang. Second run
    /// ("second") finishes. Matching by text keeps this right on whichever node the Worker lands.</summary>
    private CreateSpec HangingAfterToolCall(string worker) => Scripted.Create(_scripts, worker,
        Scripted.ToolCall($"call-{worker}", "NoSuchTool", "{}", match: "first"),
        Scripted.Hang(match: "first"),
        Scripted.TextMatching("second", "done"));

    [Fact]
    public async Task Node_killed_mid_run_loses_no_committed_entry_and_its_workers_serve_again_on_survivors()
    {
        RequirePostgres();
        await using var cluster = await ClusterNodes.StartAsync(3);
        await cluster.WarmUpAsync(_scripts);
        var workers = Enumerable.Range(0, 9).Select(i => $"fo-{i}").ToList();
        var clients = new Dictionary<string, WireClient>();
        foreach (var w in workers)
        {
            var (client, _) = await cluster.AttachAsync(0, w, HangingAfterToolCall(w), FormTimeout);
            clients[w] = client;
            await client.SendAsync(new RunMethod([new TextSegment("first")]));
        }
        // Every run is in flight: its tool call was answered and committed, the next LLM call hangs.
        try
        {
            foreach (var (w, c) in clients)
                await c.ReadUntilAsync<ToolResultEvent>(timeout: TimeSpan.FromSeconds(30));
        }
        catch (Exception)
        {
            output.WriteLine(cluster.Logs());
            throw;
        }

        var killed = Stopwatch.StartNew();
        await cluster.Node(1).KillAsync();
        cluster.Nodes[1] = null;

        // Connections to Workers that lived on the killed node are closed by the endpoint (Terminated);
        // each of those must be served again by a survivor. All Workers are re-attached at once, so each
        // time measures that Worker's own failover. One attach each, no retry by the client: an attach routed to
        // the dead node is lost, and the endpoint re-sends it until the Worker answers from its new node.
        var attached = await Task.WhenAll(workers.Select(async w =>
        {
            var client = await WireClient.ConnectAsync(cluster.Socket(0));
            var snapshot = await client.AttachAsync(w, null, TimeSpan.FromSeconds(60));
            return (w, client, snapshot, seconds: killed.Elapsed.TotalSeconds, lived: clients[w].Closed.IsCompleted);
        }));
        var recovered = attached.Where(a => a.lived).Select(a => a.seconds).ToList();
        foreach (var (w, client, snapshot, _, _) in attached)
        {
            await clients[w].DisposeAsync();
            clients[w] = client;
            Assert.Single(snapshot.Entries.OfType<SegmentStartEntry>());
            Assert.Single(snapshot.Entries.OfType<UserInputEntry>());
            Assert.Single(snapshot.Entries.OfType<AssistantItemEntry>(), e => e.Item is ToolCallItem);
            Assert.Single(snapshot.Entries.OfType<ToolResultEntry>());
        }
        output.WriteLine($"Workers that lived on the killed node: {recovered.Count}; serving again after: " +
                         string.Join(", ", recovered.Select(s => $"{s:F1} s")));
        Assert.NotEmpty(recovered); // shards spread over all three nodes: some Workers lived on the killed one

        // Close every run: survivors' runs are cancelled, the killed node's are already interrupted.
        foreach (var (w, c) in clients)
        {
            await c.SendAsync(new CancelMethod());
            await c.ReadUntilAsync(e => e is StatusEvent { Status: WorkerStatus.Idle } or ErrorEvent { Code: ErrorCode.NotRunning },
                TimeSpan.FromSeconds(30));
            await c.SendAsync(new RunMethod([new TextSegment("second")]));
            await c.ReadUntilAsync<RunEndEvent>(e => e.Result == RunResult.Finished, TimeSpan.FromSeconds(30));
        }
        foreach (var w in workers)
        {
            var rows = await cluster.Database.JournalAsync(w);
            Assert.Equal(rows.Count, rows.Select(r => r.Seq).Distinct().Count());
            var (client, snapshot) = await cluster.AttachAsync(2, w, null, TimeSpan.FromSeconds(30));
            await client.DisposeAsync();
            var calls = snapshot.Entries.OfType<AssistantItemEntry>().Select(e => e.Item).OfType<ToolCallItem>().Select(c => c.CallId).ToList();
            var results = snapshot.Entries.OfType<ToolResultEntry>().Select(e => e.Item.CallId).ToList();
            Assert.Equal([$"call-{w}"], calls);
            Assert.Equal(calls, results); // every tool call answered, exactly once
            Assert.Equal(2, snapshot.Entries.OfType<InvokeEntry>().Count());
            Assert.Equal(["first", "second"], snapshot.Entries.OfType<UserInputEntry>().Select(u => Segment.FlattenAll(u.Segments)));
        }
        foreach (var c in clients.Values) await c.DisposeAsync();
    }

    [Fact]
    public async Task Graceful_leave_hands_workers_off_with_no_lost_entry()
    {
        RequirePostgres();
        await using var cluster = await ClusterNodes.StartAsync(3);
        var workers = Enumerable.Range(0, 6).Select(i => $"gl-{i}").ToList();
        var before = new Dictionary<string, int>();
        foreach (var w in workers)
        {
            var (client, _) = await cluster.AttachAsync(0, w,
                Scripted.Create(_scripts, w, Scripted.Text("one"), Scripted.Text("two")), FormTimeout);
            await client.SendAsync(new RunMethod([new TextSegment("hello")]));
            await client.ReadUntilAsync<RunEndEvent>(timeout: TimeSpan.FromSeconds(30));
            await client.DisposeAsync();
            before[w] = (await cluster.Database.JournalAsync(w)).Count;
        }

        Assert.Equal(0, await cluster.Node(1).TerminateAsync(TimeSpan.FromSeconds(40)));
        cluster.Nodes[1] = null;

        foreach (var w in workers)
        {
            var (client, snapshot) = await cluster.AttachAsync(2, w, null, TimeSpan.FromSeconds(30));
            Assert.Equal(before[w], (await cluster.Database.JournalAsync(w)).Count);
            Assert.Contains(snapshot.Entries, e => e is RunCompletedEntry { Result: EngineResult.Finished });
            await client.SendAsync(new RunMethod([new TextSegment("again")]));
            await client.ReadUntilAsync<RunEndEvent>(timeout: TimeSpan.FromSeconds(30));
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task Client_attached_through_one_node_streams_all_events_of_workers_on_other_nodes()
    {
        RequirePostgres();
        await using var cluster = await ClusterNodes.StartAsync(3);
        // Six Workers spread over three nodes: all are driven through node 2's endpoint.
        for (var i = 0; i < 6; i++)
        {
            var w = $"xn-{i}";
            var (creator, _) = await cluster.AttachAsync(0, w, Scripted.Create(_scripts, w, Scripted.Text("Hel", "lo")), FormTimeout);
            await creator.DisposeAsync();
            var (client, _) = await cluster.AttachAsync(2, w, null, FormTimeout);
            await client.SendAsync(new RunMethod([new TextSegment("hi")]));
            var events = await client.CollectUntilAsync(e => e is StatusEvent { Status: WorkerStatus.Idle }, TimeSpan.FromSeconds(30));
            var kinds = events.Select(e => e.GetType().Name).ToList();
            Assert.Equal(["StatusEvent", "InvokeStartEvent", "UserMessageEvent", "TurnStartEvent", "LlmCallStartEvent",
                "TextDeltaEvent", "TextDeltaEvent", "TextDoneEvent", "UsageEvent", "LlmCallEndEvent", "TurnEndEvent",
                "RunEndEvent", "StatusEvent"], kinds);
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task Two_node_cluster_survives_the_death_of_its_oldest_node()
    {
        RequirePostgres();
        await using var cluster = await ClusterNodes.StartAsync(2);
        var workers = Enumerable.Range(0, 4).Select(i => $"tn-{i}").ToList();
        foreach (var w in workers)
        {
            var (client, _) = await cluster.AttachAsync(1, w,
                Scripted.Create(_scripts, w, Scripted.Text("a"), Scripted.Text("b")), FormTimeout);
            await client.DisposeAsync();
        }
        // Node 0 is the first seed: it formed the cluster, so it is the oldest member.
        await cluster.Node(0).KillAsync();
        cluster.Nodes[0] = null;
        var sw = Stopwatch.StartNew();
        foreach (var w in workers)
        {
            var (client, _) = await cluster.AttachAsync(1, w, null, TimeSpan.FromSeconds(60));
            await client.SendAsync(new RunMethod([new TextSegment("still there?")]));
            await client.ReadUntilAsync<RunEndEvent>(timeout: TimeSpan.FromSeconds(30));
            await client.DisposeAsync();
        }
        Assert.False(cluster.Node(1).HasExited);
        output.WriteLine($"all Workers served by the survivor {sw.Elapsed.TotalSeconds:F1} s after the kill");
    }

    public void Dispose() => _scripts.Dispose();
}
