using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Yoi.Actors.Hosting;

/// <summary>The database side of the single-writer guarantee (one writer per Worker, enforced by the database).
/// <list type="bullet">
/// <item><c>yoi_writer(persistence_id, writer)</c>: the owner of each Worker's journal. A Worker incarnation takes
/// it when its recovery starts, before the journal is read (<see cref="FencedSqlJournal"/>).</item>
/// <item>A BEFORE INSERT trigger on the journal refuses, in the inserting transaction, every `worker|…` row whose
/// writer is not the owner. The writer is the node process's token, carried by the connection itself (PostgreSQL:
/// the startup option <c>yoi.writer</c>; SQLite: the per-connection function <c>yoi_writer()</c>), so no code path
/// can write without it. On PostgreSQL the trigger reads the owner row <c>FOR SHARE</c>: a claim waits for an
/// in-flight append of the old owner to commit, and that append waits for a claim in progress — a zombie append
/// either lands before the claim (and the new owner replays it) or is refused.</item>
/// <item><c>yoi_claim</c>: every claim with the highest sequence number it found, so the history of owners can be
/// audited in SQL (tests do: every row after a claim was written by that claim's writer).</item>
/// <item><c>yoi_node(address, uid, writer, removed_at)</c>: node incarnations, and the ones the cluster removed.
/// Every node records the members it sees downed or removed; a removed incarnation can neither claim a Worker nor
/// take the split-brain resolver's lease (<see cref="SqlLease"/>).</item>
/// </list>
/// Written by hand: Akka.Persistence.Sql has no fencing (its <c>writer_uuid</c> is a random id per journal actor,
/// not checked by anything), and neither has any other journal on this feed.</summary>
public sealed record WriterFence(bool Postgres, string ConnectionString, string Writer)
{
    public const string WorkerPrefix = "worker|";

    /// <summary>The SQLSTATE of a refused append (PostgreSQL); SQLite raises with <see cref="RefusedMessage"/>.</summary>
    public const string RefusedSqlState = "YF001";
    public const string RefusedMessage = "yoi: append refused: this node is not the writer of this Worker (superseded)";

    private static readonly ConcurrentDictionary<string, Lazy<Task>> Tables = new();
    private static readonly ConcurrentDictionary<string, Lazy<Task>> Triggers = new();

    public static bool IsWorker(string persistenceId) => persistenceId.StartsWith(WorkerPrefix, StringComparison.Ordinal);

    public DbConnection Connect()
    {
        if (Postgres) return new NpgsqlConnection(ConnectionString);
        return new SqliteConnection(ConnectionString);
    }

    public async Task<DbConnection> OpenAsync(CancellationToken ct)
    {
        var c = Connect();
        await c.OpenAsync(ct);
        if (!Postgres) await ExecAsync(c, $"PRAGMA busy_timeout={SqlitePragmaInterceptor.BusyTimeoutMs};", ct);
        return c;
    }

    /// <summary>The fencing and membership tables, created once per process and database.</summary>
    public Task EnsureTablesAsync(CancellationToken ct = default) =>
        Tables.GetOrAdd(ConnectionString, _ => new Lazy<Task>(() => CreateTablesAsync(ct))).Value;

    /// <summary>The journal trigger, once per process and database; needs the journal table (the plugin creates it).</summary>
    public Task EnsureTriggerAsync(CancellationToken ct = default) =>
        Triggers.GetOrAdd(ConnectionString, _ => new Lazy<Task>(() => CreateTriggerAsync(ct))).Value;

    /// <summary>Forget a failed creation so the next caller retries.</summary>
    public void ResetSchemaCache()
    {
        if (Tables.TryGetValue(ConnectionString, out var t) && t.IsValueCreated && t.Value.IsFaulted) Tables.TryRemove(ConnectionString, out _);
        if (Triggers.TryGetValue(ConnectionString, out var g) && g.IsValueCreated && g.Value.IsFaulted) Triggers.TryRemove(ConnectionString, out _);
    }

    private async Task CreateTablesAsync(CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        if (Postgres)
        {
            await using var tx = await c.BeginTransactionAsync(ct);
            // Nodes starting together would otherwise race on the catalog ("tuple concurrently updated").
            await ExecAsync(c, "SELECT pg_advisory_xact_lock(72420013)", ct, tx);
            await ExecAsync(c, """
                CREATE TABLE IF NOT EXISTS yoi_writer (persistence_id VARCHAR(255) PRIMARY KEY, writer VARCHAR(64) NOT NULL,
                  claimed_at TIMESTAMPTZ NOT NULL DEFAULT now());
                CREATE TABLE IF NOT EXISTS yoi_claim (id BIGSERIAL PRIMARY KEY, persistence_id VARCHAR(255) NOT NULL,
                  writer VARCHAR(64) NOT NULL, after_seq BIGINT NOT NULL, claimed_at TIMESTAMPTZ NOT NULL DEFAULT now());
                CREATE TABLE IF NOT EXISTS yoi_node (address VARCHAR(255) NOT NULL, uid BIGINT NOT NULL, writer VARCHAR(64),
                  registered_at TIMESTAMPTZ, removed_at TIMESTAMPTZ, PRIMARY KEY (address, uid));
                CREATE INDEX IF NOT EXISTS yoi_node_writer ON yoi_node (writer);
                CREATE TABLE IF NOT EXISTS yoi_lease (name VARCHAR(255) PRIMARY KEY, owner VARCHAR(255) NOT NULL,
                  expires_at TIMESTAMPTZ NOT NULL);
                """, ct, tx);
            await tx.CommitAsync(ct);
        }
        else
        {
            await ExecAsync(c, """
                CREATE TABLE IF NOT EXISTS yoi_writer (persistence_id TEXT PRIMARY KEY, writer TEXT NOT NULL,
                  claimed_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
                CREATE TABLE IF NOT EXISTS yoi_claim (id INTEGER PRIMARY KEY AUTOINCREMENT, persistence_id TEXT NOT NULL,
                  writer TEXT NOT NULL, after_seq INTEGER NOT NULL, claimed_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
                CREATE TABLE IF NOT EXISTS yoi_node (address TEXT NOT NULL, uid INTEGER NOT NULL, writer TEXT,
                  registered_at TEXT, removed_at TEXT, PRIMARY KEY (address, uid));
                CREATE INDEX IF NOT EXISTS yoi_node_writer ON yoi_node (writer);
                CREATE TABLE IF NOT EXISTS yoi_lease (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at INTEGER NOT NULL);
                """, ct);
        }
    }

    private async Task CreateTriggerAsync(CancellationToken ct)
    {
        await EnsureTablesAsync(ct);
        await using var c = await OpenAsync(ct);
        if (Postgres)
        {
            await using var tx = await c.BeginTransactionAsync(ct);
            await ExecAsync(c, "SELECT pg_advisory_xact_lock(72420013)", ct, tx);
            await ExecAsync(c, $$"""
                CREATE OR REPLACE FUNCTION yoi_fence() RETURNS trigger LANGUAGE plpgsql AS $fn$
                DECLARE
                  me TEXT := current_setting('yoi.writer', true);
                  owner TEXT;
                BEGIN
                  IF NEW.persistence_id LIKE 'worker|%' THEN
                    SELECT w.writer INTO owner FROM yoi_writer w WHERE w.persistence_id = NEW.persistence_id FOR SHARE;
                    IF me IS NULL OR owner IS NULL OR owner <> me THEN
                      RAISE EXCEPTION '{{RefusedMessage}}: % (writer %, owner %)', NEW.persistence_id, me, owner
                        USING ERRCODE = '{{RefusedSqlState}}';
                    END IF;
                    -- The row records which node process wrote it (the plugin's own uuid is per journal actor).
                    NEW.writer_uuid := me;
                  END IF;
                  RETURN NEW;
                END $fn$;
                CREATE OR REPLACE TRIGGER yoi_fence BEFORE INSERT ON journal FOR EACH ROW EXECUTE FUNCTION yoi_fence();
                """, ct, tx);
            await tx.CommitAsync(ct);
        }
        else
        {
            // SQLite has one writer per file, so the check and the insert are serialized by the file lock.
            await ExecAsync(c, $"""
                CREATE TRIGGER IF NOT EXISTS yoi_fence BEFORE INSERT ON journal
                WHEN NEW.persistence_id LIKE 'worker|%' AND NOT EXISTS (
                  SELECT 1 FROM yoi_writer w WHERE w.persistence_id = NEW.persistence_id AND w.writer = yoi_writer())
                BEGIN SELECT RAISE(ABORT, '{RefusedMessage}'); END;
                """, ct);
        }
    }

    /// <summary>Makes this node the writer of <paramref name="persistenceId"/>. Refused (false) when the cluster
    /// removed this node's incarnation: a node that was downed must not take a Worker back.</summary>
    public async Task<bool> ClaimAsync(string persistenceId, CancellationToken ct)
    {
        await EnsureTriggerAsync(ct);
        await using var c = await OpenAsync(ct);
        return await ClaimOnAsync(c, persistenceId, ct);
    }

    /// <summary><see cref="ClaimAsync"/> on an open connection (SQLite: the journal writer's own, <see cref="JournalWriter"/>);
    /// the trigger must exist (<see cref="EnsureTriggerAsync"/>).</summary>
    internal async Task<bool> ClaimOnAsync(DbConnection c, string persistenceId, CancellationToken ct)
    {
        var now = Postgres ? "now()" : "CURRENT_TIMESTAMP";
        var claimed = await ExecAsync(c, $"""
            INSERT INTO yoi_writer (persistence_id, writer, claimed_at)
            SELECT @pid, @w, {now} WHERE NOT EXISTS (SELECT 1 FROM yoi_node WHERE writer = @w AND removed_at IS NOT NULL)
            ON CONFLICT (persistence_id) DO UPDATE SET writer = excluded.writer, claimed_at = excluded.claimed_at
            """, ct, null, ("pid", persistenceId), ("w", Writer));
        if (claimed == 0) return false;
        // A second statement, after the claim committed: it sees every append of the previous owner that landed.
        await ExecAsync(c, """
            INSERT INTO yoi_claim (persistence_id, writer, after_seq)
            SELECT @pid, @w, COALESCE(MAX(sequence_number), 0) FROM journal WHERE persistence_id = @pid
            """, ct, null, ("pid", persistenceId), ("w", Writer));
        return true;
    }

    /// <summary>This node's incarnation (Akka address and uid) and its writer token.</summary>
    public async Task RegisterAsync(string address, long uid, CancellationToken ct)
    {
        await EnsureTablesAsync(ct);
        await using var c = await OpenAsync(ct);
        var now = Postgres ? "now()" : "CURRENT_TIMESTAMP";
        await ExecAsync(c, $"""
            INSERT INTO yoi_node (address, uid, writer, registered_at) VALUES (@a, @u, @w, {now})
            ON CONFLICT (address, uid) DO UPDATE SET writer = excluded.writer, registered_at = excluded.registered_at
            """, ct, null, ("a", address), ("u", uid), ("w", Writer));
    }

    /// <summary>Records that the cluster downed or removed an incarnation (idempotent; keeps the first time).</summary>
    public async Task MarkRemovedAsync(string address, long uid, CancellationToken ct)
    {
        await EnsureTablesAsync(ct);
        await using var c = await OpenAsync(ct);
        var now = Postgres ? "now()" : "CURRENT_TIMESTAMP";
        await ExecAsync(c, $"""
            INSERT INTO yoi_node (address, uid, removed_at) VALUES (@a, @u, {now})
            ON CONFLICT (address, uid) DO UPDATE SET removed_at = COALESCE(yoi_node.removed_at, excluded.removed_at)
            """, ct, null, ("a", address), ("u", uid));
    }

    /// <summary>True when <paramref name="e"/> (anywhere in its chain) is the trigger refusing an append.</summary>
    public static bool IsRefusal(Exception? e)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            if (x is PostgresException { SqlState: RefusedSqlState }) return true;
            if (x is SqliteException s && s.Message.Contains(RefusedMessage, StringComparison.Ordinal)) return true;
            if (x is AggregateException a && a.InnerExceptions.Any(IsRefusal)) return true;
        }
        return false;
    }

    internal static async Task<int> ExecAsync(DbConnection c, string sql, CancellationToken ct, DbTransaction? tx = null,
        params (string Name, object Value)[] args)
    {
        await using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        foreach (var (name, value) in args)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = "@" + name;
            p.Value = value;
            cmd.Parameters.Add(p);
        }
        return await cmd.ExecuteNonQueryAsync(ct);
    }
}
