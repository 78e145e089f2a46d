using System.Collections.Concurrent;
using System.Data;
using System.Data.Common;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace Yoi.Actors.Hosting;

/// <summary>One journal row as Akka.Persistence.Sql stores it (its default table mapping, tag-table mode: no tags column).</summary>
internal readonly record struct JournalRowData(string PersistenceId, long SequenceNr, long Created, byte[] Message, string Manifest, int Identifier);

/// <summary>The journal's append path (issue 20), in front of the same table the plugin reads and replays.
/// The plugin's DAO writes each batch as a new multi-row INSERT with the values inlined as SQL text (linq2db), so the
/// database parses a new statement for every write; that and its Akka.Streams queue were ≈ 55 % of a busy node's CPU.
/// Here one loop drains every write queued while the previous transaction committed (the writes of many Workers) into
/// one transaction through one prepared statement on one kept-open connection:
/// SQLite: a parameterised single-row INSERT reused per row (no parsing); PostgreSQL: one INSERT … SELECT FROM unnest of
/// array parameters (one round trip for the rows, then the commit).
/// <list type="bullet">
/// <item>A write's task completes only after its transaction committed: Akka.Persistence acknowledges a persist (and the
/// Worker then calls the model or runs a tool) on durable rows only.</item>
/// <item>Every row goes through the journal's fencing trigger (<see cref="WriterFence"/>) in its own transaction; the
/// connection carries this node's writer token like the plugin's (SQLite: <c>yoi_writer()</c>; PostgreSQL: the
/// connection string's <c>yoi.writer</c>).</item>
/// <item>When a transaction of several writes fails (a refused append of one superseded Worker, a duplicate key) it is
/// rolled back and each write is retried alone, so one Worker's refusal fails only that Worker's write.</item>
/// <item>One loop: rows of one Worker land in the order they were queued, and SQLite has one writer per file anyway.</item>
/// <item>SQLite: a recovery's writer claim (<see cref="ClaimAsync"/>) runs here too, on the same connection, before the
/// next transaction (ahead of the queued writes: the journal waits for a Worker's own writes in flight before it
/// claims). On its own connection it competed for the file's write lock with this loop's back-to-back transactions
/// and lost under load, sleeping in SQLite's busy handler (its retry sleeps grow to 25–100 ms).</item>
/// </list></summary>
internal sealed class JournalWriter : IDisposable
{
    /// <summary>Rows per transaction at most: a burst is split rather than held in one long transaction.</summary>
    private const int MaxRows = 2_000;

    private const string Columns = "created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid";

    private readonly WriterFence _fence;
    private readonly string _sqlitePragmas;
    private readonly Channel<object> _queue = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentQueue<PendingClaim> _claims = new();
    private static readonly object ClaimQueued = new(); // wakes the loop for a claim
    private readonly Task _loop;
    private readonly List<Pending> _batch = new();
    private DbConnection? _connection;
    private DbCommand? _insert;

    private sealed class Pending(JournalRowData[] rows) : TaskCompletionSource(TaskCreationOptions.None)
    {
        public JournalRowData[] Rows { get; } = rows;
    }

    private sealed class PendingClaim(string persistenceId) : TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public string PersistenceId { get; } = persistenceId;
    }

    public JournalWriter(WriterFence fence, SqliteSync sync)
    {
        _fence = fence;
        _sqlitePragmas = $"PRAGMA synchronous={(sync == SqliteSync.Full ? "FULL" : "NORMAL")}; PRAGMA busy_timeout={SqlitePragmaInterceptor.BusyTimeoutMs};";
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Completes when <paramref name="rows"/> are committed, or fails with the database's error.</summary>
    public Task WriteAsync(JournalRowData[] rows)
    {
        if (rows.Length == 0) return Task.CompletedTask;
        var pending = new Pending(rows);
        if (!_queue.Writer.TryWrite(pending)) pending.TrySetException(new InvalidOperationException("the journal writer is stopped"));
        return pending.Task;
    }

    /// <summary>Makes this node the writer of <paramref name="persistenceId"/> (<see cref="WriterFence.ClaimAsync"/>) on the
    /// writer's connection, before the next transaction.</summary>
    public async Task<bool> ClaimAsync(string persistenceId, CancellationToken ct)
    {
        await _fence.EnsureTriggerAsync(ct).ConfigureAwait(false);
        var claim = new PendingClaim(persistenceId);
        _claims.Enqueue(claim);
        if (!_queue.Writer.TryWrite(ClaimQueued)) claim.TrySetException(new InvalidOperationException("the journal writer is stopped"));
        return await claim.Task.WaitAsync(ct).ConfigureAwait(false);
    }

    private async Task LoopAsync()
    {
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            _batch.Clear();
            var rows = 0;
            while (rows < MaxRows && reader.TryRead(out var next))
            {
                if (next is not Pending pending)
                {
                    // ClaimQueued: its claim (queued before it) runs now, before the next transaction.
                    while (_claims.TryDequeue(out var queued)) await RunClaimAsync(queued).ConfigureAwait(false);
                    continue;
                }
                _batch.Add(pending);
                rows += pending.Rows.Length;
            }
            if (_batch.Count > 0) await WriteBatchAsync(_batch, rows).ConfigureAwait(false);
        }
        while (_claims.TryDequeue(out var claim)) await RunClaimAsync(claim).ConfigureAwait(false);
        Close();
    }

    private async Task RunClaimAsync(PendingClaim claim)
    {
        try
        {
            var connection = _connection ?? await OpenAsync().ConfigureAwait(false);
            claim.TrySetResult(await _fence.ClaimOnAsync(connection, claim.PersistenceId, CancellationToken.None).ConfigureAwait(false));
        }
        catch (Exception e)
        {
            Close();
            claim.TrySetException(e);
        }
    }

    private async Task WriteBatchAsync(List<Pending> batch, int rows)
    {
        try
        {
            await CommitAsync(batch, rows).ConfigureAwait(false);
            foreach (var p in batch) p.TrySetResult();
            return;
        }
        catch (Exception e) when (batch.Count == 1)
        {
            Close();
            batch[0].TrySetException(e);
            return;
        }
        catch
        {
            Close(); // rolled back; a fresh connection for the retries
        }
        var one = new List<Pending>(1) { null! };
        foreach (var p in batch)
        {
            one[0] = p;
            try
            {
                await CommitAsync(one, p.Rows.Length).ConfigureAwait(false);
                p.TrySetResult();
            }
            catch (Exception e)
            {
                Close();
                p.TrySetException(e);
            }
        }
    }

    private async Task CommitAsync(List<Pending> batch, int rows)
    {
        var connection = _connection ?? await OpenAsync().ConfigureAwait(false);
        if (_fence.Postgres) await CommitPostgresAsync((NpgsqlConnection)connection, batch, rows).ConfigureAwait(false);
        else CommitSqlite((SqliteConnection)connection, batch);
    }

    /// <summary>Microsoft.Data.Sqlite's async calls run synchronously anyway; the sync ones skip their task machinery.</summary>
    private void CommitSqlite(SqliteConnection connection, List<Pending> batch)
    {
        var insert = (SqliteCommand)_insert!;
        using var tx = connection.BeginTransaction(); // BEGIN IMMEDIATE: the write lock (and busy wait) up front
        insert.Transaction = tx;
        var p = insert.Parameters;
        foreach (var pending in batch)
            foreach (var row in pending.Rows)
            {
                p[0].Value = row.Created;
                p[1].Value = row.PersistenceId;
                p[2].Value = row.SequenceNr;
                p[3].Value = row.Message;
                p[4].Value = row.Manifest;
                p[5].Value = row.Identifier;
                insert.ExecuteNonQuery();
            }
        tx.Commit();
    }

    private async Task CommitPostgresAsync(NpgsqlConnection connection, List<Pending> batch, int rows)
    {
        var created = new long[rows];
        var pids = new string[rows];
        var seqs = new long[rows];
        var messages = new byte[rows][];
        var manifests = new string[rows];
        var identifiers = new int[rows];
        var i = 0;
        foreach (var pending in batch)
            foreach (var row in pending.Rows)
            {
                created[i] = row.Created;
                pids[i] = row.PersistenceId;
                seqs[i] = row.SequenceNr;
                messages[i] = row.Message;
                manifests[i] = row.Manifest;
                identifiers[i] = row.Identifier;
                i++;
            }
        var insert = (NpgsqlCommand)_insert!;
        await using var tx = await connection.BeginTransactionAsync().ConfigureAwait(false);
        insert.Transaction = tx;
        var p = insert.Parameters;
        p[0].Value = created;
        p[1].Value = pids;
        p[2].Value = seqs;
        p[3].Value = messages;
        p[4].Value = manifests;
        p[5].Value = identifiers;
        await insert.ExecuteNonQueryAsync().ConfigureAwait(false);
        await tx.CommitAsync().ConfigureAwait(false);
    }

    private async Task<DbConnection> OpenAsync()
    {
        if (_fence.Postgres)
        {
            var pg = new NpgsqlConnection(_fence.ConnectionString);
            try
            {
                await pg.OpenAsync().ConfigureAwait(false);
                var cmd = new NpgsqlCommand($"""
                    INSERT INTO journal ({Columns})
                    SELECT r.created, false, r.pid, r.seq, r.message, r.manifest, r.identifier, @w
                    FROM unnest(@created, @pid, @seq, @message, @manifest, @identifier) WITH ORDINALITY
                      AS r(created, pid, seq, message, manifest, identifier, n)
                    ORDER BY r.n
                    """, pg);
                cmd.Parameters.Add(new NpgsqlParameter("created", NpgsqlDbType.Array | NpgsqlDbType.Bigint));
                cmd.Parameters.Add(new NpgsqlParameter("pid", NpgsqlDbType.Array | NpgsqlDbType.Text));
                cmd.Parameters.Add(new NpgsqlParameter("seq", NpgsqlDbType.Array | NpgsqlDbType.Bigint));
                cmd.Parameters.Add(new NpgsqlParameter("message", NpgsqlDbType.Array | NpgsqlDbType.Bytea));
                cmd.Parameters.Add(new NpgsqlParameter("manifest", NpgsqlDbType.Array | NpgsqlDbType.Text));
                cmd.Parameters.Add(new NpgsqlParameter("identifier", NpgsqlDbType.Array | NpgsqlDbType.Integer));
                cmd.Parameters.Add(new NpgsqlParameter("w", NpgsqlDbType.Text) { Value = _fence.Writer });
                await cmd.PrepareAsync().ConfigureAwait(false);
                (_connection, _insert) = (pg, cmd);
                return pg;
            }
            catch
            {
                await pg.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        var sqlite = new SqliteConnection(_fence.ConnectionString);
        try
        {
            sqlite.Open();
            sqlite.CreateFunction("yoi_writer", () => _fence.Writer, isDeterministic: true);
            using (var pragmas = sqlite.CreateCommand())
            {
                pragmas.CommandText = _sqlitePragmas;
                pragmas.ExecuteNonQuery();
            }
            var cmd = sqlite.CreateCommand();
            cmd.CommandText = $"INSERT INTO journal ({Columns}) VALUES ($created, 0, $pid, $seq, $message, $manifest, $identifier, $w)";
            cmd.Parameters.Add("$created", SqliteType.Integer);
            cmd.Parameters.Add("$pid", SqliteType.Text);
            cmd.Parameters.Add("$seq", SqliteType.Integer);
            cmd.Parameters.Add("$message", SqliteType.Blob);
            cmd.Parameters.Add("$manifest", SqliteType.Text);
            cmd.Parameters.Add("$identifier", SqliteType.Integer);
            cmd.Parameters.Add("$w", SqliteType.Text).Value = _fence.Writer;
            cmd.Prepare();
            (_connection, _insert) = (sqlite, cmd);
            return sqlite;
        }
        catch
        {
            sqlite.Dispose();
            throw;
        }
    }

    private void Close()
    {
        _insert?.Dispose();
        _connection?.Dispose();
        (_insert, _connection) = (null, null);
    }

    /// <summary>Stops taking writes; the queued ones are still committed (waits a few seconds for them).</summary>
    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _loop.Wait(TimeSpan.FromSeconds(10));
    }
}
