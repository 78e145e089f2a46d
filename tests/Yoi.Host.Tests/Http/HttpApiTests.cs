using System.Net;
using System.Text.Json.Nodes;
using Yoi.Host.Tests.Infrastructure;

namespace Yoi.Host.Tests.Http;

/// <summary>The JSON API of a real `yoi serve --http` (Kestrel on loopback) with a token: auth, problem details,
/// creation, runs, conflicts, paging of committed entries, the OpenAPI document.</summary>
public sealed class HttpApiTests(HttpNode node) : IClassFixture<HttpNode>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>Some text, then a stream that never ends: a pause then keeps the turn (an empty one would roll back).</summary>
    private static string Hang() => new JsonObject
    {
        ["items"] = new JsonArray(new JsonObject { ["text"] = "partial" }, new JsonObject { ["hang"] = true }),
    }.ToJsonString();

    private async Task<HttpClient> WorkerAsync(string name, params string[] responses)
    {
        var http = node.Client();
        using var created = await http.CreateWorkerAsync(name, Scripted.Manifest(node.Dir, name, responses));
        Assert.True(created.StatusCode == HttpStatusCode.Created, $"{created.StatusCode}: {await created.Content.ReadAsStringAsync()}\n{node.Server.Output}");
        return http;
    }

    private static async Task AssertProblemAsync(HttpResponseMessage r, HttpStatusCode status, string code)
    {
        var body = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == status, $"{r.StatusCode} (expected {status}): {body}");
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(body)!;
        Assert.Equal((int)status, problem["status"]!.GetValue<int>());
        Assert.Equal(code, problem["code"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(problem["detail"]?.GetValue<string>()));
    }

    [Fact(Timeout = 60_000)]
    public async Task Without_a_valid_token_the_api_answers_401_problem_details()
    {
        using var anonymous = node.Client(token: null);
        using var wrong = node.Client(token: "not-the-token");

        await AssertProblemAsync(await anonymous.GetAsync("/api/workers"), HttpStatusCode.Unauthorized, "unauthorized");
        await AssertProblemAsync(await wrong.GetAsync("/api/cluster"), HttpStatusCode.Unauthorized, "unauthorized");
        await AssertProblemAsync(await wrong.GetAsync("/api/workers/x/events"), HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact(Timeout = 60_000)]
    public async Task The_cluster_shards_and_workers_show_this_node_and_a_created_worker()
    {
        using var http = await WorkerAsync("api-list", Scripted.Text("hi"));

        var cluster = await http.GetJsonAsync("/api/cluster");
        var self = cluster["self_address"]!.GetValue<string>();
        var member = cluster["members"]!.AsArray().Single(m => m!["address"]!.GetValue<string>() == self)!;
        Assert.Equal("up", member["status"]!.GetValue<string>());
        Assert.True(member["leader"]!.GetValue<bool>());

        var workers = await http.GetJsonAsync("/api/workers");
        var w = workers["workers"]!.AsArray().Single(x => x!["name"]!.GetValue<string>() == "api-list")!;
        Assert.Equal("idle", w["status"]!.GetValue<string>());

        var shards = await http.GetJsonAsync("/api/shards");
        var nodes = shards["regions"]!.AsArray().Single(r => r!["region"]!.GetValue<string>() == "worker")!["nodes"]!.AsArray();
        Assert.True(nodes.Sum(n => n!["entities"]!.GetValue<int>()) >= 1);
    }

    [Fact(Timeout = 60_000)]
    public async Task An_unknown_worker_is_404_and_a_bad_name_400()
    {
        using var http = node.Client();

        await AssertProblemAsync(await http.GetAsync("/api/workers/nobody-here"), HttpStatusCode.NotFound, "invalid_request");
        await AssertProblemAsync(await http.PostAsync("/api/workers/nobody-here/pause", null), HttpStatusCode.NotFound, "invalid_request");
        await AssertProblemAsync(await http.GetAsync("/api/workers/nobody-here/entries"), HttpStatusCode.NotFound, "invalid_request");
        await AssertProblemAsync(await http.GetAsync("/api/workers/bad%20name!"), HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact(Timeout = 60_000)]
    public async Task Creating_an_existing_worker_again_is_a_conflict()
    {
        using var http = await WorkerAsync("api-twice", Scripted.Text("hi"));

        await AssertProblemAsync(await http.CreateWorkerAsync("api-twice", Scripted.Manifest(node.Dir, "api-twice", Scripted.Text("x"))),
            HttpStatusCode.Conflict, "invalid_request");
    }

    [Fact(Timeout = 60_000)]
    public async Task A_run_is_accepted_with_202_and_a_second_run_while_running_is_409_already_running()
    {
        using var http = await WorkerAsync("api-busy", Hang());
        await using var sse = await SseReader.OpenAsync(http, "/api/workers/api-busy/events");
        await sse.ReadUntilAsync(m => m.Event == "snapshot", Timeout);

        using var first = await http.RunAsync("api-busy", "go");
        Assert.True(first.StatusCode == HttpStatusCode.Accepted, await first.Content.ReadAsStringAsync());
        Assert.Equal("running", (await first.JsonAsync())["status"]!.GetValue<string>());

        await AssertProblemAsync(await http.RunAsync("api-busy", "again"), HttpStatusCode.Conflict, "already_running");

        // Pause only once the turn holds text: a pause of an empty turn rolls it back to idle (the spec's rule).
        await sse.ReadUntilAsync(m => m.Event == "text_delta", Timeout);
        using var paused = await http.PostAsync("/api/workers/api-busy/pause", null);
        Assert.True(paused.IsSuccessStatusCode, await paused.Content.ReadAsStringAsync());
        await http.WaitForStatusAsync("api-busy", "paused", Timeout);
        using var cancelled = await http.PostAsync("/api/workers/api-busy/cancel", null);
        Assert.True(cancelled.IsSuccessStatusCode, await cancelled.Content.ReadAsStringAsync());
        await http.WaitForStatusAsync("api-busy", "idle", Timeout);
    }

    [Fact(Timeout = 60_000)]
    public async Task Methods_refused_by_the_worker_carry_its_error_code()
    {
        using var http = await WorkerAsync("api-idle", Scripted.Text("hi"));

        await AssertProblemAsync(await http.PostAsync("/api/workers/api-idle/resume", null), HttpStatusCode.Conflict, "not_paused");
        await AssertProblemAsync(await http.PostAsync("/api/workers/api-idle/cancel", null), HttpStatusCode.Conflict, "not_running");
    }

    [Fact(Timeout = 60_000)]
    public async Task A_malformed_run_body_is_400_invalid_request_and_the_worker_keeps_working()
    {
        using var http = await WorkerAsync("api-bad-body", Scripted.Text("fine"));

        await AssertProblemAsync(await http.PostAsync("/api/workers/api-bad-body/runs", new StringContent("{not json", System.Text.Encoding.UTF8, "application/json")),
            HttpStatusCode.BadRequest, "invalid_request");
        await AssertProblemAsync(await http.PostAsync("/api/workers/api-bad-body/runs", HttpApiClient.Json(new JsonObject { ["input"] = "text" })),
            HttpStatusCode.BadRequest, "invalid_request");

        using var ok = await http.RunAsync("api-bad-body", "hello");
        Assert.Equal(HttpStatusCode.Accepted, ok.StatusCode);
        await http.WaitForStatusAsync("api-bad-body", "idle", Timeout);
    }

    [Fact(Timeout = 90_000)]
    public async Task Entries_pages_by_sequence_cover_every_committed_record_once()
    {
        using var http = await WorkerAsync("api-pages", Scripted.Text("one"), Scripted.Text("two"));
        foreach (var text in new[] { "first", "second" })
        {
            using var run = await http.RunAsync("api-pages", text);
            Assert.Equal(HttpStatusCode.Accepted, run.StatusCode);
            await http.WaitForStatusAsync("api-pages", "idle", Timeout);
        }
        // The status turns idle before the run's last records may be committed: wait for both runs' run_completed.
        var whole = await http.AllRecordsAsync("api-pages");
        for (var deadline = DateTime.UtcNow + Timeout; RunsCompleted(whole) < 2 && DateTime.UtcNow < deadline;)
        {
            await Task.Delay(100);
            whole = await http.AllRecordsAsync("api-pages");
        }
        Assert.Equal(2, RunsCompleted(whole));
        var paged = await http.AllRecordsAsync("api-pages", limit: 2);

        Assert.Equal(Enumerable.Range(1, whole.Count).Select(i => (long)i), whole.Select(r => r["seq"]!.GetValue<long>()));
        Assert.Equal(whole.Select(r => r.ToJsonString()), paged.Select(r => r.ToJsonString()));
        Assert.Equal("worker_created", whole[0]["kind"]!.GetValue<string>());
        Assert.Contains(whole, r => r["kind"]!.GetValue<string>() == "entry" && r["record"]!["kind"]!.GetValue<string>() == "user_input");
        await AssertProblemAsync(await http.GetAsync("/api/workers/api-pages/entries?limit=0"), HttpStatusCode.BadRequest, "invalid_request");
        await AssertProblemAsync(await http.GetAsync("/api/workers/api-pages/entries?after=-1"), HttpStatusCode.BadRequest, "invalid_request");
    }

    private static int RunsCompleted(List<JsonNode> records) =>
        records.Count(r => r["kind"]!.GetValue<string>() == "entry" && r["record"]!["kind"]!.GetValue<string>() == "run_completed");

    [Fact(Timeout = 90_000)]
    public async Task Rewind_targets_list_user_inputs_and_rewind_applies_one()
    {
        using var http = await WorkerAsync("api-rewind", Scripted.Text("one"), Scripted.Text("two"));
        foreach (var text in new[] { "first", "second" })
        {
            using var run = await http.RunAsync("api-rewind", text);
            await http.WaitForStatusAsync("api-rewind", "idle", Timeout);
        }

        var targets = await http.GetJsonAsync("/api/workers/api-rewind/rewind-targets");
        var list = targets["targets"]!.AsArray();
        Assert.Equal(2, list.Count);
        var newest = list[0]!;
        Assert.Equal("second", newest["preview"]!.GetValue<string>());

        using var applied = await http.PostAsync("/api/workers/api-rewind/rewind", HttpApiClient.Json(new JsonObject
        {
            ["target"] = newest["id"]!.DeepClone(),
            ["expected_head_entries"] = newest["expected_head_entries"]!.DeepClone(),
        }));
        Assert.True(applied.IsSuccessStatusCode, await applied.Content.ReadAsStringAsync());
        var body = await applied.JsonAsync();
        Assert.Equal("second", body["input"]![0]!["content"]!.GetValue<string>());

        using var stale = await http.PostAsync("/api/workers/api-rewind/rewind", HttpApiClient.Json(new JsonObject
        {
            ["target"] = newest["id"]!.DeepClone(),
            ["expected_head_entries"] = newest["expected_head_entries"]!.DeepClone(),
        }));
        await AssertProblemAsync(stale, HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact(Timeout = 60_000)]
    public async Task The_openapi_document_describes_the_api()
    {
        using var http = node.Client();

        var doc = await http.GetJsonAsync("/openapi/v1.json");

        var paths = doc["paths"]!.AsObject().Select(p => p.Key).ToList();
        Assert.Contains("/api/workers/{name}/runs", paths);
        Assert.Contains("/api/workers/{name}/events", paths);
        Assert.Contains("/api/workers/{name}/entries", paths);
    }
}
