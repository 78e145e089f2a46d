using Npgsql;
using Yoi.Host.Tests.Infrastructure;
using Yoi.Messages;

namespace Yoi.Host.Tests.Cluster;

/// <summary>The writer fence in PostgreSQL, without timing: a real node, a real journal, and another writer taking the
/// Worker over by claiming it in the database (what a survivor's recovery does).</summary>
public sealed class WriterFenceTests : IDisposable
{
    private readonly TempDir _scripts = new("yoi-wf");

    private static void RequirePostgres() =>
        Assert.SkipWhen(PostgresDatabase.ServerUrl is null, "YOI_TEST_PG is not set (bash .ci/postgres.sh starts PostgreSQL and prints the URL)");

    [Fact]
    public async Task Superseded_worker_appends_nothing_and_acknowledges_nothing_then_recovers_as_the_owner()
    {
        RequirePostgres();
        await using var db = await PostgresDatabase.CreateAsync();
        using var home = new TempDir("yoi-wfh");
        await using var node = await YoiServer.StartAsync(home.Path, "--journal", db.Url);
        await using (var creator = await WireClient.ConnectAsync(node.SocketPath))
        {
            await creator.AttachAsync("fw", Scripted.Create(_scripts, "fw", Scripted.Text("a"), Scripted.Text("b"), Scripted.Text("c")), TimeSpan.FromSeconds(30));
            await creator.SendAsync(new RunMethod([new TextSegment("one")]));
            await creator.ReadUntilAsync<RunEndEvent>(timeout: TimeSpan.FromSeconds(30));
        }
        var client = await WireClient.ConnectAsync(node.SocketPath);
        await client.AttachAsync("fw", null, TimeSpan.FromSeconds(30));

        // Another node's incarnation recovers the Worker: it claims the journal.
        await using (var c = new NpgsqlConnection(db.ConnectionString))
        {
            await c.OpenAsync();
            await using var claim = new NpgsqlCommand("""
                UPDATE yoi_writer SET writer = 'other-node' WHERE persistence_id = 'worker|fw';
                INSERT INTO yoi_claim (persistence_id, writer, after_seq)
                  SELECT 'worker|fw', 'other-node', MAX(sequence_number) FROM journal WHERE persistence_id = 'worker|fw';
                """, c);
            await claim.ExecuteNonQueryAsync();
        }

        await client.SendAsync(new RunMethod([new TextSegment("two")]));
        await Task.WhenAny(client.Closed, Task.Delay(TimeSpan.FromSeconds(20)));
        Assert.True(client.Closed.IsCompleted, "the superseded Worker's client connection stays open");
        Assert.DoesNotContain(client.Received, e => e is RunEndEvent);
        await client.DisposeAsync();
        Assert.False(await JournalAudit.ContainsAsync(db, "fw", "two"), "the superseded incarnation appended to the journal");
        await JournalAudit.AssertSingleWriterAsync(db, "fw");

        // The Worker restarts on this node, which is still a member: its recovery claims the journal back.
        await using var again = await WireClient.ConnectAsync(node.SocketPath);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        SnapshotEvent? snapshot = null;
        while (snapshot is null && DateTime.UtcNow < deadline)
        {
            try { snapshot = await again.AttachAsync("fw", null, TimeSpan.FromSeconds(5)); }
            catch (TimeoutException) { }
        }
        Assert.NotNull(snapshot);
        await again.SendAsync(new RunMethod([new TextSegment("three")]));
        await again.ReadUntilAsync<RunEndEvent>(e => e.Result == RunResult.Finished, TimeSpan.FromSeconds(30));
        Assert.True(await JournalAudit.ContainsAsync(db, "fw", "three"));
        await JournalAudit.AssertSingleWriterAsync(db, "fw");
    }

    [Fact(Timeout = 90_000)]
    public async Task A_node_warms_its_journal_and_creates_the_fence_trigger_at_start_before_any_Worker_recovers()
    {
        RequirePostgres();
        await using var db = await PostgresDatabase.CreateAsync();
        using var home = new TempDir("yoi-wfw");
        await using var node = await YoiServer.StartAsync(home.Path, "--journal", db.Url);

        // No client, no Worker: what a survivor's first failover hand-off would otherwise do for the first time.
        await using var c = new NpgsqlConnection(db.ConnectionString);
        await c.OpenAsync();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            await using var q = new NpgsqlCommand("""
                SELECT (SELECT count(*) FROM pg_trigger WHERE tgname = 'yoi_fence' AND NOT tgisinternal),
                       (SELECT count(*) FROM journal WHERE persistence_id LIKE 'yoi-warm-up|%'),
                       (SELECT count(*) FROM journal WHERE persistence_id LIKE 'worker|%')
                """, c);
            long trigger = 0, warm = 0, workers = 0;
            try
            {
                await using var r = await q.ExecuteReaderAsync();
                await r.ReadAsync();
                (trigger, warm, workers) = (r.GetInt64(0), r.GetInt64(1), r.GetInt64(2));
            }
            catch (PostgresException e) when (e.SqlState == "42P01") { } // the plugin has not created the journal yet
            if (trigger == 1 && warm == 1)
            {
                Assert.Equal(0, workers);
                break;
            }
            Assert.True(DateTime.UtcNow < deadline, $"after 60 s: fence trigger {trigger}, warm-up marker rows {warm}");
            await Task.Delay(250);
        }
    }

    [Fact]
    public async Task Journal_trigger_refuses_a_row_from_a_writer_that_does_not_own_the_worker()
    {
        RequirePostgres();
        await using var db = await PostgresDatabase.CreateAsync();
        using var home = new TempDir("yoi-wft");
        await using (var node = await YoiServer.StartAsync(home.Path, "--journal", db.Url))
        await using (var creator = await WireClient.ConnectAsync(node.SocketPath))
            await creator.AttachAsync("ft", Scripted.Create(_scripts, "ft", Scripted.Text("a")), TimeSpan.FromSeconds(30));

        var zombie = new NpgsqlConnectionStringBuilder(db.ConnectionString) { Options = "-c yoi.writer=zombie" }.ConnectionString;
        await using var c = new NpgsqlConnection(zombie);
        await c.OpenAsync();
        await using var insert = new NpgsqlCommand("""
            INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid)
            VALUES (0, false, 'worker|ft', 1000, '\x00'::bytea, 'x', 1, 'zombie')
            """, c);
        var refused = await Assert.ThrowsAsync<PostgresException>(() => insert.ExecuteNonQueryAsync());
        Assert.Equal("YF001", refused.SqlState);
    }

    public void Dispose() => _scripts.Dispose();
}
