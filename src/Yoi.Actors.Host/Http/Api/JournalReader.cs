using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Yoi.Messages;
using Yoi.Messages.Json;

namespace Yoi.Actors.Host.Http.Api;

/// <summary>One committed journal record of a Worker: its sequence number (the stream cursor), the record's stable
/// manifest (<see cref="JournalManifest"/>: `entry` for a session-log entry, else a Yoi marker such as
/// `entries_discarded` or `segment_rotated`) and the record itself.</summary>
public sealed record CommittedRecord(long Seq, string Kind, IJournalEvent Record)
{
    /// <summary>`{"seq":N,"kind":"entry","record":{…}}`: the record in the journal's own JSON (the wire codec).</summary>
    public JsonObject ToJson() => new()
    {
        ["seq"] = Seq,
        ["kind"] = Kind,
        ["record"] = JsonSerializer.SerializeToNode(Record, Record is LogEntry ? typeof(LogEntry) : Record.GetType(), YoiJson.Options),
    };
}

/// <summary>Reads a Worker's committed records straight from the journal with Akka.Persistence.Query (the same read
/// journal `yoi workers` lists persistence ids with). It reads what is durable, on whichever node the Worker runs.</summary>
public sealed class JournalReader(ActorSystem system)
{
    public static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(10);

    public static string PersistenceId(string worker) => "worker|" + worker;

    /// <summary>Records with <paramref name="after"/> &lt; seq ≤ <paramref name="after"/> + <paramref name="limit"/>, in order.</summary>
    public async Task<IReadOnlyList<CommittedRecord>> ReadAsync(string worker, long after, int limit, CancellationToken ct)
    {
        var journal = PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
        var to = limit <= 0 || after > long.MaxValue - limit ? long.MaxValue : after + limit;
        var rows = await journal.CurrentEventsByPersistenceId(PersistenceId(worker), after + 1, to)
            .Take(limit <= 0 ? long.MaxValue : limit)
            .RunWith(Sink.Seq<EventEnvelope>(), system.Materializer())
            .WaitAsync(ReadTimeout, ct);
        return rows
            .Where(r => r.Event is IJournalEvent)
            .Select(r => new CommittedRecord(r.SequenceNr, JournalManifest.Of((IJournalEvent)r.Event), (IJournalEvent)r.Event))
            .ToList();
    }
}
