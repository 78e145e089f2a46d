using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Yoi.Messages;

namespace Yoi.Actors.Host.Http.Api;

/// <summary>A committed record as the event stream sends it: its journal sequence number (the SSE id) and its
/// `journal` event JSON.</summary>
public readonly record struct StreamRecord(long Seq, string Json);

/// <summary>Committed records with <c>after &lt; seq</c>, at most <c>limit</c>, in order.</summary>
public delegate Task<IReadOnlyList<StreamRecord>> JournalPage(long after, int limit, CancellationToken ct);

/// <summary>Writes one SSE message: event name, one-line JSON data, and the id for committed records.</summary>
public delegate Task SseWrite(string name, string json, long? id, CancellationToken ct);

/// <summary>The live part of <see cref="EventStream"/>: merges committed records (read from the journal) with the
/// Worker's event-lane events (from its attachment) into one stream in the Worker's order. Depends on Yoi.Messages
/// only, so the black-box host tests compile it in and drive it against an in-memory journal.</summary>
public static class EventPump
{
    public const int Buffer = 1024;
    public const int PageSize = 1000;
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);
    public static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    /// <summary>Log-lane events: their records come from the journal instead.</summary>
    public static bool IsLogLane(Event e) => e is InvokeStartEvent or UserMessageEvent or SystemItemEvent or SegmentRotatedEvent;

    public static string EventName(Event e) => JsonNode.Parse(e.Encode())!["event"]!.GetValue<string>();

    /// <summary>From cursor <paramref name="last"/> until the Worker goes away (the channel completes) or the client
    /// overflows. Returns the last id sent.</summary>
    public static async Task<long> PumpAsync(ChannelReader<Event> events, Func<bool> overflowed, JournalPage read, SseWrite write,
        Func<CancellationToken, Task> keepAlive, long last, CancellationToken ct)
    {
        var batch = new List<Event>();
        var idle = DateTime.UtcNow;
        while (!ct.IsCancellationRequested)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            wait.CancelAfter(PollInterval);
            bool more;
            try { more = await events.WaitToReadAsync(wait.Token); }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested) { more = true; }

            // The queued events are taken BEFORE the journal is read. The Worker commits, then broadcasts what follows
            // the commit (run_end after run_completed, deltas after user_input…), so every record one of them follows
            // is visible to the read below and goes out first. Reading first let an event queued between the read
            // and the drain overtake its record (run_end before the run's last record).
            batch.Clear();
            while (batch.Count < Buffer && events.TryRead(out var e))
                if (!IsLogLane(e)) batch.Add(e);
            var before = last;
            last = await ReplayAsync(read, write, last, ct);
            foreach (var e in batch) await write(EventName(e), e.Encode(), null, ct);
            var wrote = last != before || batch.Count > 0;
            if (!more)
            {
                last = await ReplayAsync(read, write, last, ct);
                if (overflowed())
                    await write("overflow", new JsonObject
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
                await keepAlive(ct);
                idle = DateTime.UtcNow;
            }
        }
        return last;
    }

    /// <summary>Every record after <paramref name="after"/>, page by page.</summary>
    public static async Task<long> ReplayAsync(JournalPage read, SseWrite write, long after, CancellationToken ct)
    {
        while (true)
        {
            var page = await read(after, PageSize, ct);
            after = await EmitAsync(page, write, after, ct);
            if (page.Count < PageSize) return after;
        }
    }

    /// <summary>Sends the records after the cursor, each sequence number once and in increasing order.</summary>
    public static async Task<long> EmitAsync(IReadOnlyList<StreamRecord> records, SseWrite write, long after, CancellationToken ct)
    {
        foreach (var r in records)
        {
            if (r.Seq <= after) continue;
            await write("journal", r.Json, r.Seq, ct);
            after = r.Seq;
        }
        return after;
    }
}
