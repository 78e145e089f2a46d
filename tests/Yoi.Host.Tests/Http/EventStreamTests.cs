using System.Net;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Yoi.Actors.Host.Http.Api;
using Yoi.Host.Tests.Infrastructure;
using Yoi.Messages;

namespace Yoi.Host.Tests.Http;

/// <summary>`GET /api/workers/{name}/events` on a real node: the snapshot's cursor, live records and deltas, and
/// resuming with `Last-Event-ID` after a disconnect in the middle of a run, with no record lost or repeated.</summary>
public sealed class EventStreamTests(HttpNode node) : IClassFixture<HttpNode>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>A response streaming `first`, a pause, then `second` as two text blocks (two assistant items).</summary>
    private static string Slow(string first, string second, int delayMs) => new JsonObject
    {
        ["items"] = new JsonArray(
            new JsonObject { ["text"] = first },
            new JsonObject { ["delay_ms"] = delayMs },
            new JsonObject { ["text"] = new JsonArray("sec", "ond ", second) },
            new JsonObject { ["usage"] = new JsonObject { ["input"] = 10, ["output"] = 3 } }),
    }.ToJsonString();

    private async Task<HttpClient> WorkerAsync(string name, params string[] responses)
    {
        var http = node.Client();
        using var created = await http.CreateWorkerAsync(name, Scripted.Manifest(node.Dir, name, responses));
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        return http;
    }

    private static long Seq(SseReader.Message m) => long.Parse(m.Id!);

    [Fact(Timeout = 60_000)]
    public async Task A_fresh_stream_opens_with_the_snapshot_whose_id_is_the_last_committed_record()
    {
        using var http = await WorkerAsync("sse-fresh", Scripted.Text("Hello"));
        using (await http.RunAsync("sse-fresh", "hi")) { }
        await http.WaitForStatusAsync("sse-fresh", "idle", Timeout);
        await Task.Delay(300);
        var records = await http.AllRecordsAsync("sse-fresh");

        await using var sse = await SseReader.OpenAsync(http, "/api/workers/sse-fresh/events");
        Assert.Equal("text/event-stream", sse.Response.Content.Headers.ContentType?.MediaType);
        var snapshot = await sse.ReadAsync(Timeout);

        Assert.Equal("snapshot", snapshot!.Event);
        Assert.Equal(records[^1]["seq"]!.GetValue<long>(), Seq(snapshot));
        var entries = snapshot.Data["data"]!["entries"]!.AsArray();
        Assert.Equal("segment_start", entries[0]!["kind"]!.GetValue<string>());
        Assert.Contains(entries, e => e!["kind"]!.GetValue<string>() == "assistant_item" && e.ToJsonString().Contains("Hello"));
    }

    [Fact(Timeout = 60_000)]
    public async Task Live_text_deltas_stream_as_protocol_events_and_records_carry_ids()
    {
        using var http = await WorkerAsync("sse-live", Slow("Hi", "there", 300));
        await using var sse = await SseReader.OpenAsync(http, "/api/workers/sse-live/events");
        await sse.ReadUntilAsync(m => m.Event == "snapshot", Timeout);

        using (await http.RunAsync("sse-live", "go")) { }
        var seen = new List<SseReader.Message>();
        await sse.ReadUntilAsync(m => m.Event == "run_end", Timeout, seen);

        var delta = seen.First(m => m.Event == "text_delta");
        Assert.Equal("text_delta", delta.Data["event"]!.GetValue<string>());
        Assert.Null(delta.Id);
        Assert.All(seen.Where(m => m.Event == "journal"), m => Assert.Equal(m.Data["data"]!["seq"]!.GetValue<long>(), Seq(m)));
        Assert.Contains(seen, m => m.Event == "journal" && m.Data["data"]!["record"]!["kind"]?.GetValue<string>() == "user_input");
        Assert.DoesNotContain(seen, m => m.Event is "user_message" or "invoke_start"); // their records carry them, once
    }

    [Fact(Timeout = 90_000)]
    public async Task Reconnecting_with_Last_Event_ID_mid_run_resumes_with_no_record_lost_or_repeated()
    {
        using var http = await WorkerAsync("sse-resume", Slow("alpha", "omega", 1500), Scripted.Text("later run"));
        var seen = new List<SseReader.Message>();
        string lastId;
        await using (var first = await SseReader.OpenAsync(http, "/api/workers/sse-resume/events"))
        {
            lastId = (await first.ReadUntilAsync(m => m.Event == "snapshot", Timeout)).Id!;
            using (await http.RunAsync("sse-resume", "go")) { }
            // Disconnect while the LLM call streams: its input is committed, its output not yet.
            await first.ReadUntilAsync(m => m.Event == "text_delta", Timeout, seen);
            Assert.Contains(seen, m => m.Event == "journal" && m.Data["data"]!["record"]!["kind"]?.GetValue<string>() == "user_input");
            lastId = seen.Last(m => m.Id is not null).Id!;
        }
        // While no client is connected: the rest of the run, and a whole second run.
        await http.WaitForStatusAsync("sse-resume", "idle", Timeout);
        using (await http.RunAsync("sse-resume", "again")) { }
        await http.WaitForStatusAsync("sse-resume", "idle", Timeout);
        await Task.Delay(300);
        var committed = await http.AllRecordsAsync("sse-resume");
        var head = committed[^1]["seq"]!.GetValue<long>();

        await using var second = await SseReader.OpenAsync(http, "/api/workers/sse-resume/events", lastEventId: lastId);
        var resumed = new List<SseReader.Message>();
        await second.ReadUntilAsync(m => m.Id is not null && Seq(m) == head, Timeout, resumed);
        await second.ReadUntilAsync(m => m.Event == "status", Timeout, resumed); // after the replay, before live

        var firstIds = seen.Where(m => m.Event == "journal").Select(Seq).ToList();
        var resumedIds = resumed.Where(m => m.Event == "journal").Select(Seq).ToList();
        Assert.Equal(long.Parse(lastId) + 1, resumedIds[0]);
        Assert.Empty(firstIds.Intersect(resumedIds));
        var snapshotId = firstIds.Count > 0 ? firstIds[0] - 1 : long.Parse(lastId);
        var all = firstIds.Concat(resumedIds).ToList();
        Assert.Equal(Enumerable.Range((int)snapshotId + 1, (int)(head - snapshotId)).Select(i => (long)i), all);
        // The streamed records are the committed ones, byte for byte.
        var bySeq = committed.ToDictionary(r => r["seq"]!.GetValue<long>(), r => r.ToJsonString());
        Assert.All(seen.Concat(resumed).Where(m => m.Event == "journal"), m => Assert.Equal(bySeq[Seq(m)], m.Data["data"]!.ToJsonString()));
        Assert.Contains(resumed, m => m.Event == "journal" && m.Data.ToJsonString().Contains("omega"));
        Assert.Contains(resumed, m => m.Event == "status");
    }

    /// <summary>The stream's pump (<see cref="EventPump"/>, compiled in) against an in-memory journal that already holds
    /// every record, as when the stream reads the journal late (a catch-up, a loaded node): each record still goes out
    /// at its commit position among the events, after the deltas that built it and before the run_end that follows it.
    /// Without positions the pump could only put a read's records before or after a whole batch of events.</summary>
    [Fact(Timeout = 30_000)]
    public async Task Records_go_out_at_their_commit_positions_among_the_live_events_however_late_the_journal_is_read()
    {
        var journal = new List<StreamRecord>();
        foreach (var kind in new[] { "invoke", "user_input", "assistant_item", "tool_result", "assistant_item", "run_completed" })
            journal.Add(new StreamRecord(journal.Count + 1, new JsonObject { ["event"] = "journal", ["data"] = new JsonObject { ["kind"] = kind } }.ToJsonString()));
        var events = Channel.CreateUnbounded<Event>();
        foreach (var e in new Event[]
                 {
                     new UserMessageEvent([new TextSegment("go")]), new JournalPosition(2), // log lane: its record is the journal's
                     new StatusEvent(WorkerStatus.Running), new ToolCallStartEvent("c1", "Read"), new ToolCallDoneEvent("c1", "Read", "{}"),
                     new JournalPosition(3), new JournalPosition(4), new ToolResultEvent("c1", "ok"),
                     new TextDeltaEvent("do"), new TextDeltaEvent("ne"), new TextDoneEvent("done"), new JournalPosition(5),
                     new JournalPosition(6), new RunEndEvent(RunResult.Finished), new StatusEvent(WorkerStatus.Idle),
                 })
            events.Writer.TryWrite(e);
        events.Writer.TryComplete();
        var reads = 0;
        JournalPage read = (after, limit, _) =>
        {
            reads++;
            return Task.FromResult<IReadOnlyList<StreamRecord>>(journal.Where(r => r.Seq > after && r.Seq <= after + limit).ToList());
        };
        var sent = new List<string>();
        SseWrite write = (name, json, id, _) =>
        {
            sent.Add(id is { } seq ? $"{name}#{seq}" : name);
            return Task.CompletedTask;
        };

        var last = await EventPump.PumpAsync(events.Reader, () => false, read, write, _ => Task.CompletedTask, 1, TestContext.Current.CancellationToken);

        Assert.Equal(6, last);
        Assert.Equal(["journal#2", "status", "tool_call_start", "tool_call_done", "journal#3", "journal#4", "tool_result",
            "text_delta", "text_delta", "text_done", "journal#5", "journal#6", "run_end", "status"], sent);
    }

    /// <summary>An HTTP client whose socket has a tiny receive buffer (no autotuning), so a body nobody reads stalls the
    /// server's writes after a few megabytes instead of vanishing into loopback buffers.</summary>
    private HttpClient TinyWindowClient()
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (ctx, ct) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
                await socket.ConnectAsync(ctx.DnsEndPoint, ct);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        };
        var c = new HttpClient(handler) { BaseAddress = new Uri(node.BaseUrl), Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        c.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", HttpNode.Token);
        return c;
    }

    /// <summary>60 text blocks of 100 deltas of 1 KiB: ~6000 live events and ~6 MiB of committed text.</summary>
    private static string Flood()
    {
        var chunk = new string('x', 1023) + " ";
        var items = new JsonArray();
        for (var b = 0; b < 60; b++) items.Add(new JsonObject { ["text"] = new JsonArray(Enumerable.Range(0, 100).Select(i => (JsonNode)(i == 0 ? $"block{b} " : chunk)).ToArray()) });
        items.Add(new JsonObject { ["usage"] = new JsonObject { ["input"] = 10, ["output"] = 3 } });
        return new JsonObject { ["items"] = items }.ToJsonString();
    }

    [Fact(Timeout = 180_000)]
    public async Task A_client_that_does_not_read_overflows_its_buffer_the_worker_finishes_and_resuming_by_id_loses_nothing()
    {
        using var http = await WorkerAsync("sse-flood", Flood());
        using var tiny = TinyWindowClient();
        var seen = new List<SseReader.Message>();
        await using (var stalled = await SseReader.OpenAsync(tiny, "/api/workers/sse-flood/events"))
        {
            var snapshot = await stalled.ReadAsync(Timeout);
            Assert.Equal("snapshot", snapshot!.Event);
            seen.Add(snapshot);

            // The client stops reading. The Worker is not slowed: its run finishes while the stream is stuck.
            using (await http.RunAsync("sse-flood", "flood")) { }
            await http.WaitForStatusAsync("sse-flood", "idle", TimeSpan.FromSeconds(90));

            // Now read what was buffered: the stream ends with the overflow event naming the cursor to resume from.
            while (await stalled.ReadAsync(TimeSpan.FromSeconds(60)) is { } m) seen.Add(m);
        }
        var overflow = seen[^1];
        Assert.Equal("overflow", overflow.Event);
        Assert.Contains("reconnect with Last-Event-ID", overflow.Data["data"]!["message"]!.GetValue<string>());
        var cursor = overflow.Data["data"]!["last_event_id"]!.GetValue<string>();
        Assert.Equal(seen.Last(m => m.Id is not null).Id, cursor);

        await Task.Delay(300);
        var committed = await http.AllRecordsAsync("sse-flood");
        var head = committed[^1]["seq"]!.GetValue<long>();
        var resumed = new List<SseReader.Message>();
        if (long.Parse(cursor) < head)
        {
            await using var again = await SseReader.OpenAsync(http, "/api/workers/sse-flood/events", lastEventId: cursor);
            await again.ReadUntilAsync(m => m.Id is not null && Seq(m) == head, Timeout, resumed);
        }

        // Snapshot id, then every committed record exactly once, in order, byte for byte.
        var ids = seen.Concat(resumed).Where(m => m.Event == "journal").Select(Seq).ToList();
        var first = Seq(seen[0]);
        Assert.Equal(Enumerable.Range((int)first + 1, (int)(head - first)).Select(i => (long)i), ids);
        var bySeq = committed.ToDictionary(r => r["seq"]!.GetValue<long>(), r => r.ToJsonString());
        Assert.All(seen.Concat(resumed).Where(m => m.Event == "journal"), m => Assert.Equal(bySeq[Seq(m)], m.Data["data"]!.ToJsonString()));
        Assert.Contains(committed, r => r.ToJsonString().Contains("block59 "));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_malformed_cursor_is_400_and_an_unknown_worker_404()
    {
        using var http = await WorkerAsync("sse-cursor", Scripted.Text("x"));

        using var bad = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/workers/sse-cursor/events") { Headers = { { "Last-Event-ID", "abc" } } });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using var missing = await http.GetAsync("/api/workers/sse-nobody/events");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }
}
