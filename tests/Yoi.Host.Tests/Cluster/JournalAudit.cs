using Npgsql;

namespace Yoi.Host.Tests.Cluster;

/// <summary>The single-writer and no-loss checks, in SQL against the journal and the writer fence's tables.</summary>
public static class JournalAudit
{
    /// <summary>Sequence numbers of a Worker's journal are 1..n: unique and contiguous (no two writers interleaved,
    /// no gap left by a lost append).</summary>
    public static async Task AssertContiguousAsync(PostgresDatabase db, string worker)
    {
        var seqs = await QueryAsync(db, "SELECT sequence_number FROM journal WHERE persistence_id = @p ORDER BY 1", worker, r => r.GetInt64(0));
        Assert.NotEmpty(seqs);
        Assert.Equal(Enumerable.Range(1, seqs.Count).Select(i => (long)i), seqs);
    }

    /// <summary>Every row was written by the writer that held the Worker's claim at that point: the writer of the last
    /// claim taken before the row's sequence number. A row by a superseded incarnation would break this.</summary>
    public static async Task AssertWrittenByOwnersAsync(PostgresDatabase db, string worker)
    {
        var rows = await QueryAsync(db, """
            SELECT j.sequence_number, j.writer_uuid,
                   (SELECT c.writer FROM yoi_claim c WHERE c.persistence_id = j.persistence_id AND c.after_seq < j.sequence_number
                    ORDER BY c.id DESC LIMIT 1)
            FROM journal j WHERE j.persistence_id = @p ORDER BY 1
            """, worker, r => (Seq: r.GetInt64(0), Writer: r.IsDBNull(1) ? null : r.GetString(1), Owner: r.IsDBNull(2) ? null : r.GetString(2)));
        Assert.NotEmpty(rows);
        foreach (var row in rows)
            Assert.True(row.Writer is not null && row.Writer == row.Owner,
                $"{worker} #{row.Seq} written by {row.Writer ?? "(none)"} while {row.Owner ?? "(nobody)"} owned it");
    }

    /// <summary>How many distinct writers (node processes) appended to the Worker's journal.</summary>
    public static async Task<int> WriterCountAsync(PostgresDatabase db, string worker) =>
        (await QueryAsync(db, "SELECT COUNT(DISTINCT writer_uuid) FROM journal WHERE persistence_id = @p", worker, r => r.GetInt64(0)))
        .Cast<long>().Select(x => (int)x).Single();

    /// <summary>The Akka address of the node process that wrote the Worker's last row (where it lives now).</summary>
    public static async Task<string?> LastWriterAddressAsync(PostgresDatabase db, string worker) =>
        (await QueryAsync(db, """
            SELECT n.address FROM journal j JOIN yoi_node n ON n.writer = j.writer_uuid
            WHERE j.persistence_id = @p ORDER BY j.sequence_number DESC LIMIT 1
            """, worker, r => r.GetString(0))).SingleOrDefault();

    /// <summary>True when a journal row of the Worker contains <paramref name="text"/> (texts are unique per run).</summary>
    public static async Task<bool> ContainsAsync(PostgresDatabase db, string worker, string text) =>
        (await QueryAsync(db, "SELECT COUNT(*) FROM journal WHERE persistence_id = @p AND convert_from(message, 'UTF8') LIKE @t",
            worker, r => r.GetInt64(0), ("t", "%" + text + "%"))).Single() > 0;

    /// <summary>The writer token (journal writer_uuid) of the newest incarnation registered at <paramref name="host"/>.</summary>
    public static async Task<string?> WriterAtAsync(PostgresDatabase db, string host) =>
        (await QueryAsync(db, "SELECT writer FROM yoi_node WHERE address LIKE @a AND writer IS NOT NULL ORDER BY registered_at DESC LIMIT 1",
            "", r => r.GetString(0), ("a", "%@" + host + ":%"))).SingleOrDefault();

    /// <summary>Rows of the Worker's journal written by <paramref name="writer"/>.</summary>
    public static async Task<long> RowsByAsync(PostgresDatabase db, string worker, string writer) =>
        (await QueryAsync(db, "SELECT COUNT(*) FROM journal WHERE persistence_id = @p AND writer_uuid = @w", worker,
            r => r.GetInt64(0), ("w", writer))).Single();

    /// <summary>Who holds the resolver's lease now by the database's clock (owner = "akka.tcp://…@host:port#uid"), or
    /// null when nobody does.</summary>
    public static async Task<string?> LeaseHolderAsync(PostgresDatabase db) =>
        (await QueryAsync(db, "SELECT owner FROM yoi_lease WHERE expires_at > now()", "", r => r.GetString(0))).SingleOrDefault();

    public static async Task AssertSingleWriterAsync(PostgresDatabase db, string worker)
    {
        await AssertContiguousAsync(db, worker);
        await AssertWrittenByOwnersAsync(db, worker);
    }

    private static async Task<List<T>> QueryAsync<T>(PostgresDatabase db, string sql, string worker, Func<NpgsqlDataReader, T> read,
        params (string, object)[] args)
    {
        await using var c = new NpgsqlConnection(db.ConnectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        cmd.Parameters.AddWithValue("p", "worker|" + worker);
        foreach (var (k, v) in args) cmd.Parameters.AddWithValue(k, v);
        var result = new List<T>();
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync()) result.Add(read(r));
        return result;
    }
}
