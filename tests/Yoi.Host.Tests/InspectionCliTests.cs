using System.Text.Json;
using Yoi.Host.Tests.Infrastructure;
using Yoi.Messages;

namespace Yoi.Host.Tests;

/// <summary>The real `yoi` executable's inspection and control commands (`workers`, `inspect`, `cluster show`,
/// `shards`, `restore`, `stop`, `tail`) against one shared `yoi serve` node, text and `--json`.</summary>
public sealed class InspectionCliTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly TimeSpan CliTimeout = TimeSpan.FromSeconds(30);

    private string Home => fixture.Dir.Path;

    private string WriteManifest(string worker, params string[] responses)
    {
        var path = fixture.Dir.File($"{worker}.toml");
        File.WriteAllText(path, Scripted.Manifest(fixture.Dir, worker, responses));
        return path;
    }

    private Task<CliResult> Yoi(params string[] args) => YoiCli.RunAsync(CliTimeout, Home, [.. args, "--home", Home]);

    private async Task<CliResult> YoiOk(params string[] args)
    {
        var r = await Yoi(args);
        Assert.True(r.ExitCode == 0, $"yoi {string.Join(' ', args)}\n{r}");
        return r;
    }

    private async Task<JsonElement> YoiJson(params string[] args)
    {
        var r = await YoiOk([.. args, "--json"]);
        try { return JsonDocument.Parse(r.Stdout).RootElement.Clone(); }
        catch (JsonException e) { throw new InvalidOperationException($"not JSON: {e.Message}\n{r}"); }
    }

    private async Task CreateAsync(string worker, params string[] responses)
    {
        var manifest = WriteManifest(worker, responses);
        await YoiOk("run", worker, "hello", "--manifest", manifest);
    }

    [Fact(Timeout = 60_000)]
    public async Task Workers_lists_live_workers_with_status_and_node()
    {
        await CreateAsync("insp-w1", Scripted.Text("one"));
        await CreateAsync("insp-w2", Scripted.Text("two"));

        var text = await YoiOk("workers");
        Assert.Contains("insp-w1", text.Stdout);
        Assert.Contains("insp-w2", text.Stdout);
        Assert.Contains("idle", text.Stdout);
        Assert.Contains("akka.tcp://yoi@", text.Stdout);

        var json = await YoiJson("workers");
        var w1 = json.GetProperty("workers").EnumerateArray().Single(w => w.GetProperty("name").GetString() == "insp-w1");
        Assert.Equal("idle", w1.GetProperty("status").GetString());
        Assert.StartsWith("akka.tcp://yoi@127.0.0.1:", w1.GetProperty("node").GetString());
        Assert.Equal(0, w1.GetProperty("children").GetArrayLength());
        Assert.True(w1.GetProperty("entries").GetInt32() > 0);
        Assert.Equal(0, json.GetProperty("failed").GetArrayLength());
    }

    [Fact(Timeout = 60_000)]
    public async Task Inspect_shows_status_segment_entries_and_the_manifest()
    {
        await CreateAsync("insp-one", Scripted.Text("inspected"));

        var text = await YoiOk("inspect", "insp-one");
        Assert.Contains("insp-one", text.Stdout);
        Assert.Contains("idle", text.Stdout);
        Assert.Contains("segment", text.Stdout);
        Assert.Contains("\"scheme\": \"scripted\"", text.Stdout);
        Assert.Contains("none", text.Stdout); // children, loans

        var json = await YoiJson("inspect", "insp-one");
        Assert.Equal("insp-one", json.GetProperty("name").GetString());
        Assert.Equal("idle", json.GetProperty("status").GetString());
        Assert.True(Guid.TryParse(json.GetProperty("segment_id").GetString(), out _));
        Assert.True(json.GetProperty("entries").GetInt32() >= 4, json.ToString()); // segment_start, invoke, user_input, assistant…
        Assert.Equal(1ul, json.GetProperty("turn_count").GetUInt64());
        Assert.Equal(0, json.GetProperty("children").GetArrayLength());
        Assert.Equal(0, json.GetProperty("loans").GetArrayLength());
        Assert.Equal("scripted", json.GetProperty("manifest").GetProperty("model").GetProperty("scheme").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task Inspect_lists_the_segments_a_compaction_left_behind()
    {
        const string worker = "insp-compacted";
        // Run 1 reports 1,000 input tokens; run 2 is over request_threshold before its first LLM call, so it
        // yields, the summariser writes the summary, and the turn resumes in a new segment.
        var path = fixture.Dir.File($"{worker}.toml");
        File.WriteAllText(path, Scripted.Manifest(fixture.Dir, worker,
            """{"items":[{"text":["one"]},{"usage":{"input":1000,"output":3}}]}""",
            Scripted.ToolCall("s1", "write_summary", """{"text":"Summary."}"""),
            Scripted.Text("summarised"),
            Scripted.Text("two")) + "\n[compaction]\nrequest_threshold = 100\nretained_tokens = 1\n");
        await YoiOk("run", worker, "first", "--manifest", path);
        await YoiOk("run", worker, "second");

        var json = await YoiJson("inspect", worker);
        var previous = json.GetProperty("previous_segments");
        Assert.Equal(1, previous.GetArrayLength());
        var old = previous[0];
        Assert.NotEqual(json.GetProperty("segment_id").GetString(), old.GetProperty("segment_id").GetString());
        Assert.True(old.GetProperty("entries").GetInt32() >= 4, json.ToString());
        Assert.True(old.GetProperty("rotated_at").GetInt64() > 0);

        var text = await YoiOk("inspect", worker);
        Assert.Contains("previous segments", text.Stdout);
        Assert.Contains(old.GetProperty("segment_id").GetString()!, text.Stdout);
    }

    [Fact(Timeout = 60_000)]
    public async Task Inspect_of_a_missing_worker_fails_clearly_and_creates_nothing()
    {
        var r = await Yoi("inspect", "insp-nobody");
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains("worker `insp-nobody` does not exist", r.Stderr);

        var json = await YoiJson("workers");
        Assert.DoesNotContain(json.GetProperty("workers").EnumerateArray(), w => w.GetProperty("name").GetString() == "insp-nobody");
    }

    [Fact(Timeout = 60_000)]
    public async Task Cluster_show_lists_the_single_member_as_up_and_leader()
    {
        // The node answers its socket before it has joined itself (on a loaded box that takes seconds): wait for the
        // join, bounded, then check what `cluster show` says of the joined node.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(await YoiJson("cluster", "show")).GetProperty("members").EnumerateArray()
                   .Any(m => m.GetProperty("status").GetString() == "up"))
        {
            Assert.True(DateTime.UtcNow < deadline, "the node did not join itself within 30 s");
            await Task.Delay(200);
        }

        var text = await YoiOk("cluster", "show");
        Assert.Contains("akka.tcp://yoi@127.0.0.1:", text.Stdout);
        Assert.Contains("up", text.Stdout);
        Assert.Contains("leader", text.Stdout);

        var json = await YoiJson("cluster", "show");
        var self = json.GetProperty("self_address").GetString();
        Assert.Equal(self, json.GetProperty("leader").GetString());
        var member = Assert.Single(json.GetProperty("members").EnumerateArray());
        Assert.Equal(self, member.GetProperty("address").GetString());
        Assert.Equal("up", member.GetProperty("status").GetString());
        Assert.True(member.GetProperty("reachable").GetBoolean());
        Assert.True(member.GetProperty("self").GetBoolean());
        Assert.Equal(0, json.GetProperty("unreachable").GetArrayLength());
    }

    [Fact(Timeout = 60_000)]
    public async Task Shards_shows_the_worker_region_with_entity_counts_per_node()
    {
        await CreateAsync("insp-shard", Scripted.Text("sharded"));

        var text = await YoiOk("shards");
        Assert.Contains("worker", text.Stdout);
        Assert.Contains("akka.tcp://yoi@127.0.0.1:", text.Stdout);

        var json = await YoiJson("shards");
        var region = json.GetProperty("regions").EnumerateArray().Single(r => r.GetProperty("region").GetString() == "worker");
        var node = Assert.Single(region.GetProperty("nodes").EnumerateArray());
        Assert.StartsWith("akka.tcp://yoi@127.0.0.1:", node.GetProperty("address").GetString());
        Assert.True(node.GetProperty("entities").GetInt32() >= 1, json.ToString());
        Assert.True(node.GetProperty("shards").GetInt32() >= 1, json.ToString());
        Assert.Equal(node.GetProperty("entities").GetInt32(),
            node.GetProperty("shard_list").EnumerateArray().Sum(s => s.GetProperty("entities").GetInt32()));
    }

    [Fact(Timeout = 90_000)]
    public async Task Stop_makes_a_worker_passive_and_restore_brings_it_back()
    {
        await CreateAsync("insp-rest", Scripted.Text("restorable"));

        var stopped = await YoiOk("stop", "insp-rest");
        Assert.Contains("stopped insp-rest", stopped.Stdout);

        // the Worker is gone from the region (passive): the journal still knows it
        JsonElement listed = default;
        for (var i = 0; i < 50; i++)
        {
            listed = await YoiJson("workers");
            if (listed.GetProperty("workers").EnumerateArray().Any(w => w.GetProperty("name").GetString() == "insp-rest" && w.GetProperty("status").GetString() == "passive")) break;
            await Task.Delay(200);
        }
        Assert.Contains(listed.GetProperty("workers").EnumerateArray(),
            w => w.GetProperty("name").GetString() == "insp-rest" && w.GetProperty("status").GetString() == "passive");

        var restored = await YoiOk("restore", "insp-rest");
        Assert.Contains("restored insp-rest", restored.Stdout);

        var again = await YoiJson("restore", "insp-rest");
        Assert.Equal("already_live", again.GetProperty("action").GetString());
        Assert.Equal("idle", again.GetProperty("status").GetString());

        var missing = await Yoi("restore", "insp-never");
        Assert.True(missing.ExitCode == 1, missing.ToString());
        Assert.Contains("does not exist", missing.Stderr);
    }

    [Fact(Timeout = 60_000)]
    public async Task Tail_without_follow_prints_the_recent_history()
    {
        await CreateAsync("insp-hist", Scripted.Text("history ", "line"));

        var r = await YoiOk("tail", "insp-hist", "--no-follow");
        Assert.Contains("> hello", r.Stdout);
        Assert.Contains("history line", r.Stdout);
        Assert.Contains("[tail insp-hist · idle", r.Stderr);
    }

    [Fact(Timeout = 90_000)]
    public async Task Tail_follows_a_run_started_by_another_client()
    {
        await CreateAsync("insp-tail", Scripted.Text("first"), Scripted.Text("streamed ", "to ", "the tail"),
            Scripted.ToolCall("c1", "NoSuchTool", """{"x":1}"""), Scripted.Text("after the tool"));

        await using var tail = YoiProcess.Start(Home, "tail", "insp-tail", "--home", Home);
        await tail.WaitForAsync(o => o.Contains("[tail insp-tail"), TimeSpan.FromSeconds(20), "the tail header");

        await YoiOk("run", "insp-tail", "second");
        await tail.WaitForAsync(o => o.Contains("streamed to the tail"), TimeSpan.FromSeconds(20), "the streamed text");
        Assert.Contains("> second", tail.Stdout);

        await YoiOk("run", "insp-tail", "third");
        await tail.WaitForAsync(o => o.Contains("after the tool"), TimeSpan.FromSeconds(20), "the tool turn");
        Assert.Contains("→ NoSuchTool(", tail.Stdout);
        Assert.Contains("← ", tail.Stdout);
        Assert.Contains("[status: running]", tail.Stdout);
        Assert.False(tail.HasExited, tail.ToString());
    }

    [Fact(Timeout = 60_000)]
    public async Task Host_methods_work_without_attach_and_attach_still_works_after_them()
    {
        await using var client = await WireClient.ConnectAsync(fixture.Server.SocketPath);
        await client.SendRawAsync("""{"method":"cluster_show"}""");
        var state = await client.ReadUntilAsync<ClusterStateEvent>();
        Assert.Single(state.Members);

        await client.SendAsync(new InspectMethod("insp-wire-none"));
        var error = await client.ReadUntilAsync<ErrorEvent>();
        Assert.Contains("does not exist", error.Message);

        var snapshot = await client.AttachAsync("insp-wire", Scripted.Create(fixture.Dir, "insp-wire", Scripted.Text("ok")));
        Assert.Equal(WorkerStatus.Idle, snapshot.Status);
        await client.SendAsync(new WorkersMethod());
        var workers = await client.ReadUntilAsync<WorkersEvent>();
        Assert.Contains(workers.Workers, w => w.Name == "insp-wire" && w.Status == "idle");
    }

    [Fact(Timeout = 60_000)]
    public async Task Run_renders_thinking_retries_text_and_usage()
    {
        var manifest = WriteManifest("insp-render",
            """{"items":[{"open_error":{"status":503,"message":"try later"}}]}""",
            """{"items":[{"thinking":["pondering ","deeply"]},{"text":["The ","answer."]},{"usage":{"input":21,"output":7}}]}""");

        var r = await YoiOk("run", "insp-render", "question", "--manifest", manifest);
        Assert.Contains("The answer.", r.Stdout);
        Assert.DoesNotContain("pondering", r.Stdout); // thinking goes to stderr (dimmed on a terminal)
        Assert.Contains("pondering deeply", r.Stderr);
        Assert.Contains("[retry 1/", r.Stderr);
        Assert.Contains("HTTP 503", r.Stderr);
        Assert.Contains("[usage: in 21, out 7]", r.Stderr);
    }

    [Fact(Timeout = 60_000)]
    public async Task Run_exits_4_when_the_turn_limit_is_reached()
    {
        var manifest = fixture.Dir.File("insp-limit.toml");
        File.WriteAllText(manifest, Scripted.Manifest(fixture.Dir, "insp-limit",
            Scripted.ToolCall("c1", "NoSuchTool"), Scripted.Text("never reached")) + "\n\n[engine]\nmax_turns = 1\n");

        var r = await Yoi("run", "insp-limit", "go", "--manifest", manifest);
        Assert.True(r.ExitCode == 4, r.ToString());
        Assert.Contains("limit_reached", r.Stderr);
    }
}
