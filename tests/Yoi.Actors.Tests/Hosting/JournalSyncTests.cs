using Akka.Persistence.Sql.Config;
using LinqToDB;
using LinqToDB.Data;
using Microsoft.Data.Sqlite;
using Yoi.Actors.Engine.Scripted;
using Yoi.Actors.Hosting;
using Yoi.Actors.Tests.Worker;
using Yoi.Messages;
using JournalConfig = Yoi.Actors.Hosting.JournalConfig;

namespace Yoi.Actors.Tests.Hosting;

/// <summary>The SQLite journal's per-connection pragmas — synchronous level (`--journal-sync`) and busy timeout — set on
/// every connection the SQL plugins open.</summary>
[Collection(WorkerNodeCollection.Name)]
public sealed class JournalSyncTests(WorkerNodeFixture node)
{
    private static JournalConfig Sqlite(string dir, SqliteSync sync) =>
        JournalConfig.From(new YoiNodeOptions { Home = dir, JournalSync = sync });

    [Theory]
    [InlineData(SqliteSync.Normal, 1)]
    [InlineData(SqliteSync.Full, 2)]
    public void Journal_and_snapshot_connections_get_the_configured_synchronous_level_and_a_busy_timeout(SqliteSync sync, long pragmaValue)
    {
        var dir = Path.Combine(Path.GetTempPath(), "yoi-sync-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var journal = Sqlite(dir, sync);
            journal.Prepare();
            var setup = journal.DataOptionsSetup();
            Assert.NotNull(setup);
            foreach (var plugin in new[] { "akka.persistence.journal.sql", "akka.persistence.query.journal.sql", "akka.persistence.snapshot-store.sql" })
            {
                Assert.True(setup.TryGetDataOptionsFor(plugin, out var options), plugin);
                using var db = new DataConnection(options);
                Assert.Equal(pragmaValue, db.Execute<long>("PRAGMA synchronous;"));
                Assert.Equal(SqlitePragmaInterceptor.BusyTimeoutMs, db.Execute<long>("PRAGMA busy_timeout;"));
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void PostgreSQL_journals_get_no_SQLite_pragma() =>
        Assert.Null(JournalConfig.From(new YoiNodeOptions { Home = "/tmp", Journal = "postgres://u:p@127.0.0.1:5432/db" }).DataOptionsSetup());

    [Fact]
    public async Task The_running_node_journals_through_connections_set_to_normal_by_default()
    {
        var setup = node.System.Settings.Setup.Get<MultiDataOptionsSetup>();
        Assert.True(setup.HasValue);
        Assert.True(setup.Value.TryGetDataOptionsFor("akka.persistence.journal.sql", out var options));
        var interceptor = Assert.Single(options.DataContextOptions.Interceptors!.OfType<SqlitePragmaInterceptor>());
        Assert.Equal(SqliteSync.Normal, interceptor.Sync);

        node.Models["journal-sync-1"] = new ScriptedModelClient([new ScriptedResponse(new ScriptText("ok"))]);
        await using var client = node.Client();
        await client.AttachAsync("journal-sync-1", node.Manifest(), node.Home);
        client.Run("Hi");
        await client.UntilStatusAsync(WorkerStatus.Idle);
        Assert.True(interceptor.Applied > 0, "the journal opened no connection through the interceptor");
    }
}
