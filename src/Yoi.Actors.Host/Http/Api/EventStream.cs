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
/// (deltas, status, usage, retries, alerts…) as on the socket, each record at its commit position among them (the
/// attachment asks the Worker for `JournalCommitted` positions, see <see cref="EventPump"/>). The log-lane events (`invoke_start`, `user_message`,
/// `system_item`, `segment_rotated`) are not forwarded: their records arrive as `journal` events, exactly once.</para>
/// <para>Sequence numbers come from the shared journal, so a cursor is valid on every node: a client whose Worker
/// moved reconnects anywhere and loses and repeats nothing.</para>
/// <para>A client that lags more than <see cref="Buffer"/> live events gets an `overflow` event naming its cursor and
/// the stream ends; the Worker is never slowed.</para></summary>
public static class EventStream
{
    public const int Buffer = EventPump.Buffer;

    /// <summary>Parses a cursor (an SSE id this stream gave out). Null = none; false = malformed.</summary>
    public static bool TryParseCursor(string? raw, out long? cursor)
    {
        cursor = null;
        if (string.IsNullOrWhiteSpace(raw)) return true;
        if (!long.TryParse(raw.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value)) return false;
        cursor = value;
        return true;
    }

    public static async Task<IResult> ServeAsync(HttpContext c, string name)
    {
        var raw = c.Request.Headers["Last-Event-ID"].ToString();
        if (string.IsNullOrEmpty(raw)) raw = c.Request.Query["after"].ToString();
        if (!TryParseCursor(raw, out var cursor)) return Problems.BadRequest($"invalid cursor `{raw}`: use an `id` this stream sent");

        var system = WorkerApi.ActorSystemOf(c);
        var journal = new JournalReader(system);
        var ct = c.RequestAborted;
        // A Worker that was never created has no journal: 404 before anything is attached (an attach would start it).
        if ((await journal.ReadAsync(name, 0, 1, ct)).Count == 0) return Problems.NotFound(name);

        // Attached with commit positions: the snapshot is at sequence number `at`, and every later record has its
        // place among the events. The catch-up is the journal up to `at` exactly, so the snapshot's status and
        // in-flight call follow the records they come after, and nothing is sent twice or out of order.
        var (session, outcome) = await WorkerSession.AttachAsync(system, await WorkerApi.RegionAsync(c), name, capacity: Buffer, ct: ct, commits: true);
        await using var _ = session;
        if (outcome is ErrorEvent refused) return Problems.From(refused);
        var attached = (SnapshotEvent)outcome;
        var at = session.AttachedAt;

        var response = c.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-store";
        response.Headers["X-Accel-Buffering"] = "no";
        SseWrite write = (n, json, id, t) => WriteAsync(response, n, json, id, t);
        JournalPage read = async (after, limit, t) => (await journal.ReadAsync(name, after, limit, t)).Select(Streamed).ToList();
        try
        {
            await response.Body.FlushAsync(ct);
            long last;
            if (cursor is null)
            {
                // The snapshot's entries: the journal projected exactly up to `at` (the Worker's own projection).
                var state = new WorkerState();
                if (at > 0)
                    foreach (var r in await journal.ReadAsync(name, 0, (int)Math.Min(at, int.MaxValue), ct)) state.Apply(r.Record);
                last = at;
                await write(EventPump.EventName(attached), Wire.Encode(attached with { Entries = state.Entries.ToList() }), last, ct);
            }
            else
            {
                last = Math.Max(cursor.Value, await EventPump.ReplayAsync(read, write, cursor.Value, at, ct));
                await write("status", Wire.Encode(new StatusEvent(attached.Status)), null, ct);
                if (attached.InFlight is { } inFlight)
                    await write("in_flight",
                        new JsonObject { ["event"] = "in_flight", ["data"] = JsonNode.Parse(Yoi.Messages.Json.YoiJson.Serialize(inFlight)) }.ToJsonString(), null, ct);
            }
            await EventPump.PumpAsync(session.Events, () => session.Overflowed, read, write,
                async t => { await response.WriteAsync(": keep-alive\n\n", t); await response.Body.FlushAsync(t); }, last, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        catch (IOException) { }
        return Results.Empty;
    }

    /// <summary>A committed record as the stream sends it: a `journal` event whose data is the entries API's record.</summary>
    private static StreamRecord Streamed(CommittedRecord r) =>
        new(r.Seq, new JsonObject { ["event"] = "journal", ["data"] = r.ToJson() }.ToJsonString());

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
