using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Yoi.Actors.Host.Endpoint;
using Yoi.Actors.Worker;
using Yoi.Messages;

namespace Yoi.Actors.Host.Http.Api;

/// <summary>`GET /api/workers/{name}/events`: Server-Sent Events.
/// <para>Committed data comes from the journal, live data from an attachment to the Worker. Every committed record
/// carries its journal sequence number as the SSE `id` (the cursor); nothing else carries an id, so a browser's
/// `Last-Event-ID` is always the last committed record it saw. Without a cursor the stream opens with the protocol's
/// `snapshot`, whose entries are the journal projected up to the snapshot's `id`; with one (`Last-Event-ID`, or
/// `?after=` for the first connection) it replays every record after it (`journal` events), then a `status`
/// (and `in_flight` when a call is streaming). Then live: records as they are committed, and the event-lane events
/// (deltas, status, usage, retries, alerts…) as on the socket. The log-lane events (`invoke_start`, `user_message`,
/// `system_item`, `segment_rotated`) are not forwarded: their records arrive as `journal` events, exactly once.</para>
/// <para>Sequence numbers come from the shared journal, so a cursor is valid on every node: a client whose Worker
/// moved reconnects anywhere and loses and repeats nothing.</para>
/// <para>A client that lags more than <see cref="Buffer"/> live events gets an `overflow` event naming its cursor and
/// the stream ends; the Worker is never slowed.</para></summary>
public static class EventStream
{
    public const int Buffer = 1024;
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);
    public static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    /// <summary>Log-lane events: their records come from the journal instead.</summary>
    public static bool IsLogLane(Event e) => e is InvokeStartEvent or UserMessageEvent or SystemItemEvent or SegmentRotatedEvent;

    /// <summary>Parses a cursor (an SSE id this stream gave out). Null = none; false = malformed.</summary>
    public static bool TryParseCursor(string? raw, out long? cursor)
    {
        cursor = null;
        if (string.IsNullOrWhiteSpace(raw)) return true;
        if (!long.TryParse(raw.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value)) return false;
        cursor = value;
        return true;
    }

    public static string EventName(Event e) => JsonNode.Parse(Wire.Encode(e))!["event"]!.GetValue<string>();

    public static async Task<IResult> ServeAsync(HttpContext c, string name)
    {
        var raw = c.Request.Headers["Last-Event-ID"].ToString();
        if (string.IsNullOrEmpty(raw)) raw = c.Request.Query["after"].ToString();
        if (!TryParseCursor(raw, out var cursor)) return Problems.BadRequest($"invalid cursor `{raw}`: use an `id` this stream sent");

        var system = WorkerApi.ActorSystemOf(c);
        var journal = new JournalReader(system);
        // A Worker that was never created has no journal: 404 before anything is attached (an attach would start it).
        if ((await journal.ReadAsync(name, 0, 1, c.RequestAborted)).Count == 0) return Problems.NotFound(name);

        var (session, outcome) = await WorkerSession.AttachAsync(system, await WorkerApi.RegionAsync(c), name, capacity: Buffer, ct: c.RequestAborted);
        await using var _ = session;
        if (outcome is ErrorEvent refused) return Problems.From(refused);
        var attached = (SnapshotEvent)outcome;

        var response = c.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-store";
        response.Headers["X-Accel-Buffering"] = "no";
        var ct = c.RequestAborted;
        await response.Body.FlushAsync(ct);

        long last;
        try
        {
            if (cursor is null)
            {
                // The snapshot's entries: the journal projected exactly up to `last` (the Worker's own projection).
                var all = await journal.ReadAsync(name, 0, 0, ct);
                var state = new WorkerState();
                foreach (var r in all) state.Apply(r.Record);
                last = all.Count > 0 ? all[^1].Seq : 0;
                await WriteAsync(response, EventName(attached), Wire.Encode(attached with { Entries = state.Entries.ToList() }), last, ct);
            }
            else
            {
                last = await ReplayAsync(response, journal, name, cursor.Value, ct);
                await WriteAsync(response, "status", Wire.Encode(new StatusEvent(attached.Status)), null, ct);
                if (attached.InFlight is { } inFlight)
                    await WriteAsync(response, "in_flight",
                        new JsonObject { ["event"] = "in_flight", ["data"] = JsonNode.Parse(Yoi.Messages.Json.YoiJson.Serialize(inFlight)) }.ToJsonString(), null, ct);
            }

            var idle = DateTime.UtcNow;
            while (!ct.IsCancellationRequested)
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
                wait.CancelAfter(PollInterval);
                bool more;
                try { more = await session.Events.WaitToReadAsync(wait.Token); }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested) { more = true; }

                // Records first: an event-lane event that follows a commit (text_done, run_end…) comes after it.
                var before = last;
                last = await ReplayAsync(response, journal, name, last, ct);
                var wrote = last != before;
                while (session.Events.TryRead(out var e))
                {
                    if (IsLogLane(e)) continue;
                    await WriteAsync(response, EventName(e), Wire.Encode(e), null, ct);
                    wrote = true;
                }
                if (!more)
                {
                    last = await ReplayAsync(response, journal, name, last, ct);
                    if (session.Overflowed)
                        await WriteAsync(response, "overflow", new JsonObject
                        {
                            ["event"] = "overflow",
                            ["data"] = new JsonObject
                            {
                                ["message"] = $"this client fell more than {Buffer} events behind; reconnect with Last-Event-ID to resume",
                                ["last_event_id"] = last.ToString(CultureInfo.InvariantCulture),
                            },
                        }.ToJsonString(), null, ct);
                    // Worker stopped (shutdown, hand-off, node loss): end the stream; the client resumes by cursor.
                    break;
                }
                if (wrote) idle = DateTime.UtcNow;
                else if (DateTime.UtcNow - idle > KeepAlive)
                {
                    await response.WriteAsync(": keep-alive\n\n", ct);
                    await response.Body.FlushAsync(ct);
                    idle = DateTime.UtcNow;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        catch (IOException) { }
        return Results.Empty;
    }

    private static async Task<long> ReplayAsync(HttpResponse response, JournalReader journal, string name, long after, CancellationToken ct)
    {
        while (true)
        {
            var page = await journal.ReadAsync(name, after, WorkerApi.MaxPage, ct);
            foreach (var r in page)
            {
                await WriteAsync(response, "journal", new JsonObject { ["event"] = "journal", ["data"] = r.ToJson() }.ToJsonString(), r.Seq, ct);
                after = r.Seq;
            }
            if (page.Count < WorkerApi.MaxPage) return after;
        }
    }

    /// <summary>One SSE message; `data` is one JSON line (compact JSON has no newline).</summary>
    private static async Task WriteAsync(HttpResponse response, string name, string json, long? id, CancellationToken ct)
    {
        var sb = new StringBuilder();
        if (id is { } seq) sb.Append("id: ").Append(seq.ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("event: ").Append(name).Append('\n');
        sb.Append("data: ").Append(json).Append("\n\n");
        await response.WriteAsync(sb.ToString(), ct);
        await response.Body.FlushAsync(ct);
    }
}
