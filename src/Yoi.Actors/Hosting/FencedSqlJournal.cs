using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.Sql.Journal;
using Akka.Serialization;
using Akka.Util;

namespace Yoi.Actors.Hosting;

/// <summary>The SQL journal with the writer fence (<see cref="WriterFence"/>): the recovery of a Worker claims its
/// journal for this node before anything is read. Akka.Persistence's <c>AsyncWriteJournal</c> answers a replay
/// request by reading the highest sequence number first, then replaying, so the claim sits in
/// <see cref="ReadHighestSequenceNrAsync"/>: the highest number and the replay both see every append of the
/// previous owner that the database accepted, and the previous owner's later appends are refused by the trigger.
/// Appends go through <see cref="JournalWriter"/> (prepared statement, many Workers per transaction) unless
/// <c>yoi-fence.batched-writes = off</c>; replays and highest sequence numbers through <see cref="JournalReplay"/> unless
/// <c>yoi-fence.direct-replay = off</c>; deletes and queries stay the plugin's. On SQLite the claim runs on the
/// writer's connection (one writer per file).</summary>
public sealed class FencedSqlJournal : SqlWriteJournal
{
    private readonly WriterFence _fence;
    private readonly ILoggingAdapter _log;
    private readonly JournalWriter? _writer;
    private readonly JournalReplay? _reader;
    private readonly Akka.Serialization.Serialization _serialization;

    /// <summary>The latest append per Worker still in flight: a recovery (after a restart of the same incarnation)
    /// reads the highest sequence number only after it landed or failed, as the plugin does for its own writes.</summary>
    private readonly ConcurrentDictionary<string, Task> _inFlight = new();

    public FencedSqlJournal(Akka.Configuration.Config config) : base(config)
    {
        _log = Context.GetLogger();
        _fence = new WriterFence(
            config.GetString("yoi-fence.provider").StartsWith("PostgreSQL", StringComparison.OrdinalIgnoreCase),
            config.GetString("yoi-fence.connection-string"),
            config.GetString("yoi-fence.writer"));
        _serialization = Context.System.Serialization;
        if (config.GetBoolean("yoi-fence.batched-writes", true))
            _writer = new JournalWriter(_fence,
                string.Equals(config.GetString("yoi-fence.synchronous", "normal"), "full", StringComparison.OrdinalIgnoreCase) ? SqliteSync.Full : SqliteSync.Normal);
        if (config.GetBoolean("yoi-fence.direct-replay", true))
            _reader = new JournalReplay(_fence, _serialization);
    }

    public override async Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken)
    {
        if (_inFlight.TryGetValue(persistenceId, out var pending))
            await pending.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        if (WriterFence.IsWorker(persistenceId))
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(TimeSpan.FromSeconds(15));
            bool claimed;
            try
            {
                // SQLite has one writer per file: the claim queues on the journal writer's connection (JournalWriter).
                claimed = _writer is not null && !_fence.Postgres
                    ? await _writer.ClaimAsync(persistenceId, cts.Token)
                    : await _fence.ClaimAsync(persistenceId, cts.Token);
            }
            catch
            {
                _fence.ResetSchemaCache();
                throw;
            }
            if (!claimed)
            {
                _log.Warning("{0}: not recovered here: the cluster removed this node (writer {1})", persistenceId, _fence.Writer);
                throw new InvalidOperationException($"{persistenceId}: this node was removed from the cluster; it may not take the Worker");
            }
        }
        // Our own read needs our own writer: the plugin's read also waits for the plugin's own writes in flight.
        return _reader is null || _writer is null
            ? await base.ReadHighestSequenceNrAsync(persistenceId, fromSequenceNr, cancellationToken)
            : await _reader.ReadHighestSequenceNrAsync(persistenceId, fromSequenceNr, cancellationToken);
    }

    public override Task ReplayMessagesAsync(IActorContext context, string persistenceId, long fromSequenceNr, long toSequenceNr, long max,
        Action<IPersistentRepresentation> recoveryCallback) =>
        _reader is null
            ? base.ReplayMessagesAsync(context, persistenceId, fromSequenceNr, toSequenceNr, max, recoveryCallback)
            : _reader.ReplayAsync(persistenceId, fromSequenceNr, toSequenceNr, max, recoveryCallback, CancellationToken.None);

    protected override Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        if (_writer is null) return base.WriteMessagesAsync(messages, cancellationToken);
        var writes = messages as IReadOnlyList<AtomicWrite> ?? messages.ToList();
        // Tagged events need the plugin's tag table; Yoi writes none, anything else that does keeps the plugin's path.
        foreach (var w in writes)
            foreach (var r in (IImmutableList<IPersistentRepresentation>)w.Payload)
                if (r.Payload is Tagged) return base.WriteMessagesAsync(writes, cancellationToken);

        var now = DateTime.UtcNow.Ticks;
        Exception?[]? rejections = null;
        var rows = new List<JournalRowData>(writes.Count == 1 ? ((IImmutableList<IPersistentRepresentation>)writes[0].Payload).Count : 8);
        for (var i = 0; i < writes.Count; i++)
        {
            var payload = (IImmutableList<IPersistentRepresentation>)writes[i].Payload;
            var start = rows.Count;
            try
            {
                foreach (var r in payload) rows.Add(Serialize(r, now));
            }
            catch (Exception e)
            {
                // A write that cannot be serialized is rejected (the actor is told, the journal goes on), as the plugin does.
                rows.RemoveRange(start, rows.Count - start);
                (rejections ??= new Exception?[writes.Count])[i] = e;
            }
        }
        var task = _writer.WriteAsync(rows.ToArray());
        if (!task.IsCompleted)
        {
            var pid = writes[0].PersistenceId;
            _inFlight[pid] = task;
            task.ContinueWith(t => _inFlight.TryRemove(new KeyValuePair<string, Task>(pid, t)), CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        return rejections is null ? AfterAsync(task, null) : AfterAsync(task, rejections.ToImmutableList()!);
    }

    private static async Task<IImmutableList<Exception>> AfterAsync(Task write, IImmutableList<Exception>? rejections)
    {
        await write.ConfigureAwait(false);
        return rejections!;
    }

    /// <summary>The row the plugin would write (ByteArrayJournalSerializer): payload bytes, serializer id and manifest.</summary>
    private JournalRowData Serialize(IPersistentRepresentation r, long now)
    {
        var payload = r.Payload;
        var serializer = _serialization.FindSerializerFor(payload);
        var manifest = serializer switch
        {
            SerializerWithStringManifest s => s.Manifest(payload),
            { IncludeManifest: true } => payload.GetType().TypeQualifiedName(),
            _ => string.Empty,
        };
        // With the transport bound, as the plugin serializes: payloads holding actor refs get their full addresses.
        var bytes = Akka.Serialization.Serialization.WithTransport(_serialization.System, (serializer, payload),
            static s => s.serializer.ToBinary(s.payload));
        return new JournalRowData(r.PersistenceId, r.SequenceNr, r.Timestamp == 0 ? now : r.Timestamp, bytes, manifest, serializer.Identifier);
    }

    protected override void PostStop()
    {
        _writer?.Dispose();
        base.PostStop();
    }
}
