using System.Data.Common;
using Yoi.Actors.Hosting;

namespace Yoi.Actors.Tests.Hosting;

/// <summary>The journal's batched append path (<see cref="JournalWriter"/>) against a real database: the writes of many
/// Workers share transactions, yet the fencing trigger still refuses a superseded Worker's rows, and only its write fails.
/// PostgreSQL cases run with $YOI_TEST_PG (bash .ci/postgres.sh).</summary>
public sealed class JournalWriterTests
{
    private const int Workers = 40;

    [Fact]
    public async Task Sqlite_many_workers_land_in_order_and_a_superseded_worker_alone_is_refused()
    {
        await using var db = await JournalTestDatabase.SqliteAsync();
        await RunScenarioAsync(db.Fence);
    }

    [Fact]
    public async Task Postgres_many_workers_land_in_order_and_a_superseded_worker_alone_is_refused()
    {
        await using var db = await JournalTestDatabase.PostgresAsync();
        await RunScenarioAsync(db.Fence);
    }

    [Fact]
    public async Task Sqlite_a_claim_on_the_writer_sees_the_landed_rows_and_takes_the_worker_back()
    {
        await using var db = await JournalTestDatabase.SqliteAsync();
        await RunClaimScenarioAsync(db.Fence);
    }

    [Fact]
    public async Task Postgres_a_claim_on_the_writer_sees_the_landed_rows_and_takes_the_worker_back()
    {
        await using var db = await JournalTestDatabase.PostgresAsync();
        await RunClaimScenarioAsync(db.Fence);
    }

    private static async Task RunClaimScenarioAsync(WriterFence fence)
    {
        Assert.True(await fence.ClaimAsync(Pid(1), default));
        using var writer = new JournalWriter(fence, SqliteSync.Normal);
        // The journal claims after the Worker's own writes in flight landed: the claim records both rows (after_seq 2).
        await writer.WriteAsync([Row(1, 1), Row(1, 2)]);
        Assert.True(await writer.ClaimAsync(Pid(1), default));

        // Another node took Worker 1 over: this node's append is refused until its next recovery claims it back.
        await using (var c = await fence.OpenAsync(default))
            await WriterFence.ExecAsync(c, "UPDATE yoi_writer SET writer = 'other' WHERE persistence_id = @p", default, null, ("p", Pid(1)));
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => writer.WriteAsync([Row(1, 3)]));
        Assert.True(WriterFence.IsRefusal(refused), refused.ToString());
        Assert.True(await writer.ClaimAsync(Pid(1), default));
        await writer.WriteAsync([Row(1, 3)]);

        // A node the cluster removed claims nothing.
        await using (var c = await fence.OpenAsync(default))
            await WriterFence.ExecAsync(c, "INSERT INTO yoi_node (address, uid, writer, removed_at) VALUES ('a', 1, 'me', CURRENT_TIMESTAMP)", default);
        Assert.False(await writer.ClaimAsync(Pid(2), default));

        await using var read = await fence.OpenAsync(default);
        Assert.Equal(new long[] { 1, 2, 3 }, (await ReadAsync(read, Pid(1))).Select(r => r.Seq));
        await using var cmd = read.CreateCommand();
        cmd.CommandText = "SELECT after_seq FROM yoi_claim WHERE persistence_id = 'worker|jw-1' ORDER BY id";
        var afterSeqs = new List<long>();
        await using (var r = await cmd.ExecuteReaderAsync())
            while (await r.ReadAsync()) afterSeqs.Add(r.GetInt64(0));
        Assert.Equal(new long[] { 0, 2, 2 }, afterSeqs);
    }

    private static async Task RunScenarioAsync(WriterFence fence)
    {
        for (var w = 0; w < Workers; w++) Assert.True(await fence.ClaimAsync(Pid(w), default));
        // Another node took Worker 7 over (what a survivor's recovery does).
        await using (var c = await fence.OpenAsync(default))
            await WriterFence.ExecAsync(c, "UPDATE yoi_writer SET writer = 'other' WHERE persistence_id = @p", default, null, ("p", Pid(7)));

        using var writer = new JournalWriter(fence, SqliteSync.Normal);
        // Three appends per Worker, all queued before any completes: they share transactions.
        var writes = new List<(int Worker, Task Task)>();
        for (var round = 0; round < 3; round++)
            for (var w = 0; w < Workers; w++)
                writes.Add((w, writer.WriteAsync([Row(w, round * 2 + 1), Row(w, round * 2 + 2)])));
        await Task.WhenAll(writes.Select(x => x.Task.ContinueWith(_ => { })));

        foreach (var (w, task) in writes)
        {
            if (w == 7) Assert.True(WriterFence.IsRefusal(task.Exception), $"worker 7's append: {task.Status} {task.Exception}");
            else Assert.True(task.IsCompletedSuccessfully, $"worker {w}'s append: {task.Exception}");
        }

        await using var read = await fence.OpenAsync(default);
        for (var w = 0; w < Workers; w++)
        {
            var rows = await ReadAsync(read, Pid(w));
            if (w == 7) Assert.Empty(rows);
            else
            {
                Assert.Equal(Enumerable.Range(1, 6).Select(i => (long)i), rows.Select(r => r.Seq));
                Assert.Equal(rows.Select(r => r.Ordering).Order(), rows.Select(r => r.Ordering)); // ordering follows sequence
                Assert.All(rows, r => Assert.Equal($"{Pid(w)}:{r.Seq}", r.Message));
                Assert.All(rows, r => Assert.Equal("me", r.Writer));
            }
        }
    }

    private static string Pid(int worker) => $"worker|jw-{worker}";

    private static JournalRowData Row(int worker, long seq) =>
        new(Pid(worker), seq, DateTime.UtcNow.Ticks, System.Text.Encoding.UTF8.GetBytes($"{Pid(worker)}:{seq}"), "m", 4102);

    private static async Task<List<(long Seq, long Ordering, string Message, string Writer)>> ReadAsync(DbConnection c, string pid)
    {
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT sequence_number, ordering, message, writer_uuid FROM journal WHERE persistence_id = @p ORDER BY sequence_number";
        var p = cmd.CreateParameter();
        p.ParameterName = "@p";
        p.Value = pid;
        cmd.Parameters.Add(p);
        var rows = new List<(long, long, string, string)>();
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
            rows.Add((r.GetInt64(0), r.GetInt64(1), System.Text.Encoding.UTF8.GetString((byte[])r.GetValue(2)), r.GetString(3)));
        return rows;
    }
}
