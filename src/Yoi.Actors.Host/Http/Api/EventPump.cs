using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Yoi.Messages;

namespace Yoi.Actors.Host.Http.Api;

/// <summary>A committed record as the event stream sends it: its journal sequence number (the SSE id) and its
/// `journal` event JSON.</summary>
public readonly record struct StreamRecord(long Seq, string Json);

/// <summary>Committed records with <c>after &lt; seq ≤ after + limit</c>, in order.</summary>
public delegate Task<IReadOnlyList<StreamRecord>> JournalPage(long after, int limit, CancellationToken ct);

/// <summary>Writes one SSE message: event name, one-line JSON data, and the id for committed records.</summary>
public delegate Task SseWrite(string name, string json, long? id, CancellationToken ct);

/// <summary>In a <see cref="WorkerSession"/>'s events (never on a wire): the Worker's journal holds its records up
/// to <c>Seq</c> at this point of its event order (the Worker's `JournalCommitted`).</summary>
public sealed record JournalPosition(long Seq) : Event;

/// <summary>The live part of <see cref="EventStream"/>: committed records (read from the journal) and the Worker's
/// event-lane events (from its attachment) as one stream in the Worker's order. The attachment carries a
/// <see cref="JournalPosition"/> after each commit, so each record goes out exactly where it was committed: after
/// the deltas that built it, before the run_end that follows it, whenever the journal read happens. Depends on
/// Yoi.Messages only, so the black-box host tests compile it in and drive it against an in-memory journal.</summary>
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
        var idle = DateTime.UtcNow;
        while (!ct.IsCancellationRequested)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            wait.CancelAfter(PollInterval);
            bool more;
            try { more = await events.WaitToReadAsync(wait.Token); }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested) { more = true; }

            var wrote = false;
            while (events.TryRead(out var e))
            {
                if (e is JournalPosition p) last = await ReplayAsync(read, write, last, p.Seq, ct);
                else if (!IsLogLane(e)) await write(EventName(e), e.Encode(), null, ct);
                wrote = true;
            }
            if (!more)
            {
                // The Worker is gone (or this client overflowed and lost positions): whatever it committed is durable.
                last = await ReplayAsync(read, write, last, long.MaxValue, ct);
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

    /// <summary>Sends the records with <paramref name="after"/> &lt; seq ≤ <paramref name="to"/>, page by page, each
    /// sequence number once and in increasing order. Returns the last id sent (or <paramref name="after"/>).</summary>
    public static async Task<long> ReplayAsync(JournalPage read, SseWrite write, long after, long to, CancellationToken ct)
    {
        while (after < to)
        {
            var page = await read(after, (int)Math.Min(PageSize, to - after), ct);
            var before = after;
            foreach (var r in page)
            {
                if (r.Seq <= after || r.Seq > to) continue;
                await write("journal", r.Json, r.Seq, ct);
                after = r.Seq;
            }
            if (after == before) break; // nothing (more) committed in the range
        }
        return after;
    }
}
