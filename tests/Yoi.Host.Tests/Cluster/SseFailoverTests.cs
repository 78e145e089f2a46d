using System.Net;
using System.Text.Json.Nodes;
using Yoi.Host.Tests.Http;
using Yoi.Host.Tests.Infrastructure;

namespace Yoi.Host.Tests.Cluster;

/// <summary>`GET /api/workers/{name}/events` across a failover: three real `yoi serve --http` nodes over one PostgreSQL
/// journal. A client streams a multi-turn run through a node that does not host the Worker, disconnects mid-run, the Worker's node is
/// SIGKILLed, and the client resumes with `Last-Event-ID` on a survivor, where the Worker is restored. Sequence numbers
/// come from the shared journal, so the resumed stream must continue exactly where the first one stopped.</summary>
public sealed class SseFailoverTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly TempDir _dir = new("yoi-ssefo");

    private static void RequirePostgres() =>
        Assert.SkipWhen(PostgresDatabase.ServerUrl is null, "YOI_TEST_PG is not set (bash .ci/postgres.sh starts PostgreSQL and prints the URL)");

    private static HttpClient Http(ClusterNodes cluster, int i) =>
        new() { BaseAddress = new Uri(cluster.HttpUrl(i)), Timeout = TimeSpan.FromSeconds(60) };

    private static long Seq(SseReader.Message m) => long.Parse(m.Id!);

    private static string? RecordKind(JsonNode record) => record["record"]?["kind"]?.GetValue<string>();

    /// <summary>Run "first": a tool call (answered with an error result: no such tool), then text streamed with a pause
    /// before a second tool call, then a hang, so the run is still in flight when its node dies. Run "second": text.</summary>
    private string Manifest(string worker) => Scripted.Manifest(_dir, worker,
        Scripted.ToolCall("c1", "NoSuchTool", "{}", match: "first"),
        new JsonObject
        {
            ["match"] = "first",
            ["items"] = new JsonArray(
                new JsonObject { ["text"] = new JsonArray("al", "pha ") },
                new JsonObject { ["delay_ms"] = 1500 },
                new JsonObject { ["text"] = new JsonArray("ome", "ga") },
                new JsonObject { ["tool_call"] = new JsonObject { ["id"] = "c2", ["name"] = "NoSuchTool", ["arguments"] = new JsonObject() } },
                new JsonObject { ["usage"] = new JsonObject { ["input"] = 10, ["output"] = 3 } }),
        }.ToJsonString(),
        Scripted.Hang(match: "first"),
        Scripted.TextMatching("second", "after ", "the failover"));

    private static async Task<int> HostOfAsync(ClusterNodes cluster, HttpClient http, string worker)
    {
        var node = (await http.GetJsonAsync($"/api/workers/{worker}"))["node"]!.GetValue<string>();
        for (var i = 0; i < cluster.Nodes.Count; i++)
            if (cluster.Address(i) == node) return i;
        throw new InvalidOperationException($"{worker} is on {node}, not a node of this cluster");
    }

    /// <summary>Polls the entries endpoint until <paramref name="done"/> holds for the committed records.</summary>
    private static async Task<List<JsonNode>> WaitForRecordsAsync(HttpClient http, string worker, Func<List<JsonNode>, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var records = await http.AllRecordsAsync(worker);
            if (done(records)) return records;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"records of {worker}: {string.Join(", ", records.Select(RecordKind))}");
            await Task.Delay(200);
        }
    }

    /// <summary>Opens the stream on a survivor, retrying while the cluster notices the dead node and the Worker's
    /// shard moves (refused connections, timeouts and problem responses are expected meanwhile).</summary>
    private async Task<SseReader> ResumeAsync(HttpClient http, string worker, string lastEventId, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            string why;
            try
            {
                var sse = await SseReader.OpenAsync(http, $"/api/workers/{worker}/events", lastEventId);
                if (sse.Response.StatusCode == HttpStatusCode.OK) return sse;
                why = $"{(int)sse.Response.StatusCode} {await sse.Response.Content.ReadAsStringAsync()}";
                await sse.DisposeAsync();
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
            {
                why = e.Message;
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no stream for {worker} on the survivor: {why}");
            output.WriteLine($"resume not yet: {why}");
            await Task.Delay(500);
        }
    }

    [Fact(Timeout = 480_000)]
    public async Task Resuming_with_Last_Event_ID_on_a_survivor_after_the_Workers_node_is_killed_sends_every_committed_record_once_in_order()
    {
        RequirePostgres();
        await using var cluster = await ClusterNodes.StartAsync(3, http: true);
        await cluster.WarmUpAsync(_dir);
        const string w = "sse-fo";
        using var entry = Http(cluster, 0);
        using (var created = await entry.CreateWorkerAsync(w, Manifest(w)))
            Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var host = await HostOfAsync(cluster, entry, w);
        // The first stream is served by another node (events and commit positions cross remoting); the resumed one
        // by the third node.
        var (reader, survivor) = ((host + 1) % 3, (host + 2) % 3);

        // 1. Stream through node `reader`, start the run, disconnect while the second LLM call streams.
        using var onHost = Http(cluster, host);
        using var onReader = Http(cluster, reader);
        var seen = new List<SseReader.Message>();
        string lastId;
        long snapshotId;
        await using (var first = await SseReader.OpenAsync(onReader, $"/api/workers/{w}/events"))
        {
            var snapshot = await first.ReadUntilAsync(m => m.Event == "snapshot", Timeout);
            snapshotId = Seq(snapshot);
            using (var run = await onReader.RunAsync(w, "first"))
                Assert.True(run.IsSuccessStatusCode, await run.Content.ReadAsStringAsync());
            await first.ReadUntilAsync(m => m.Event == "tool_result", Timeout, seen);
            await first.ReadUntilAsync(m => m.Event == "text_delta", Timeout, seen);
            lastId = seen.Last(m => m.Id is not null).Id!;
        }
        var firstIds = seen.Where(m => m.Event == "journal").Select(Seq).ToList();
        Assert.NotEmpty(firstIds);

        // 2. With no client connected: the run goes on to its second tool call (committed), then hangs. Kill the node.
        var beforeKill = await WaitForRecordsAsync(onHost, w, rs => rs.Count(r => RecordKind(r) == "tool_result") == 2, Timeout);
        Assert.True(beforeKill[^1]["seq"]!.GetValue<long>() > long.Parse(lastId)); // records the client has not seen
        await cluster.Node(host).KillAsync();
        cluster.Nodes[host] = null;

        // 3. Resume on a survivor: the Worker is restored there; the stream replays from the cursor, then goes live.
        using var onSurvivor = Http(cluster, survivor);
        await using var second = await ResumeAsync(onSurvivor, w, lastId, TimeSpan.FromSeconds(180));
        var resumed = new List<SseReader.Message>();
        await second.ReadUntilAsync(m => m.Event == "status", Timeout, resumed); // the end of the catch-up
        var caughtUp = resumed.Count;
        var restoredOn = await HostOfAsync(cluster, onSurvivor, w);
        Assert.NotEqual(host, restoredOn);
        output.WriteLine($"{w} on node {host}, first stream through node {reader}; node {host} killed; resumed through node {survivor}, {w} restored on node {restoredOn}");
        await onSurvivor.WaitForStatusAsync(w, "idle", Timeout); // the interrupted run is closed on restore
        using (var run = await onSurvivor.RunAsync(w, "second"))
            Assert.True(run.IsSuccessStatusCode, await run.Content.ReadAsStringAsync());
        await second.ReadUntilAsync(m => m.Event == "run_end", Timeout, resumed);
        await second.ReadUntilAsync(m => m.Event == "status" && m.Data["data"]!["status"]!.GetValue<string>() == "idle", Timeout, resumed);

        // 4. Compare with the journal as the survivor's entries endpoint reads it.
        var committed = await onSurvivor.AllRecordsAsync(w);
        var head = committed[^1]["seq"]!.GetValue<long>();
        if (resumed.Where(m => m.Id is not null).Select(Seq).DefaultIfEmpty(0).Max() < head)
            await second.ReadUntilAsync(m => m.Id is not null && Seq(m) == head, Timeout, resumed);
        output.WriteLine("journal: " + string.Join(" ", committed.Select(r => $"{r["seq"]}:{RecordKind(r) ?? r["kind"]!.GetValue<string>()}")));
        output.WriteLine("first: " + string.Join(" ", seen.Select(m => m.Id is null ? m.Event : $"{m.Event}#{m.Id}")));
        output.WriteLine("resumed: " + string.Join(" ", resumed.Select(m => m.Id is null ? m.Event : $"{m.Event}#{m.Id}")));

        var resumedIds = resumed.Where(m => m.Event == "journal").Select(Seq).ToList();
        var committedSeqs = committed.Select(r => r["seq"]!.GetValue<long>()).ToList();
        // Exactly the committed records after the cursor, each once, in sequence order...
        Assert.Equal(committedSeqs.Where(s => s > long.Parse(lastId)), resumedIds);
        // ...and with the first connection, every record after the snapshot: no gap, no duplicate.
        Assert.Equal(committedSeqs.Where(s => s > snapshotId), firstIds.Concat(resumedIds));
        var bySeq = committed.ToDictionary(r => r["seq"]!.GetValue<long>(), r => r.ToJsonString());
        Assert.All(seen.Concat(resumed).Where(m => m.Event == "journal"), m => Assert.Equal(bySeq[Seq(m)], m.Data["data"]!.ToJsonString()));

        // The catch-up carried what the killed node committed after the disconnect (the second tool call's result);
        // the live part carried the survivor's new run, its records before its run_end.
        var catchUp = resumed.Take(caughtUp).Where(m => m.Event == "journal").Select(m => m.Data["data"]!).ToList();
        Assert.Contains(catchUp, r => RecordKind(r!) == "tool_result" && r!.ToJsonString().Contains("c2"));
        var live = resumed.Skip(caughtUp).ToList();
        var runEnd = live.FindIndex(m => m.Event == "run_end");
        Assert.Contains(live.Take(runEnd), m => m.Event == "journal" && m.Data.ToJsonString().Contains("the failover"));
        Assert.Contains(live.Take(runEnd), m => m.Event == "journal" && RecordKind(m.Data["data"]!) == "run_completed");
        Assert.Contains(live, m => m.Event == "text_delta");
    }

    public void Dispose() => _dir.Dispose();
}
