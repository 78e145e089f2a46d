using Microsoft.Data.Sqlite;
using Npgsql;
using Yoi.Actors.Hosting;

namespace Yoi.Actors.Tests.Hosting;

/// <summary>A fresh database with the plugin's journal table (its default mapping), for the tests of the journal's own
/// write and replay paths. PostgreSQL needs $YOI_TEST_PG (bash .ci/postgres.sh); without it the test is skipped.</summary>
internal sealed class JournalTestDatabase : IAsyncDisposable
{
    private readonly Func<Task> _drop;

    private JournalTestDatabase(WriterFence fence, Func<Task> drop) => (Fence, _drop) = (fence, drop);

    /// <summary>Writer "me"; the writer fence's own tables are created by its first claim.</summary>
    public WriterFence Fence { get; }

    public static async Task<JournalTestDatabase> SqliteAsync()
    {
        var dir = Path.Combine(Path.GetTempPath(), "yoi-jw-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var fence = new WriterFence(false, $"Data Source={Path.Combine(dir, "j.db")};Pooling=True", "me");
        await using (var c = await fence.OpenAsync(default))
            await WriterFence.ExecAsync(c, """
                CREATE TABLE journal (ordering INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, created INTEGER NOT NULL,
                  deleted Bit NOT NULL, persistence_id NVarChar(255) NOT NULL, sequence_number INTEGER NOT NULL,
                  message VarBinary NOT NULL, manifest NVarChar(500) NULL, identifier INTEGER NULL, writer_uuid NVarChar(128) NULL);
                CREATE UNIQUE INDEX journal_uq ON journal (persistence_id, sequence_number);
                """, default);
        return new JournalTestDatabase(fence, () =>
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(dir, true);
            return Task.CompletedTask;
        });
    }

    public static async Task<JournalTestDatabase> PostgresAsync()
    {
        var server = Environment.GetEnvironmentVariable("YOI_TEST_PG");
        Assert.SkipWhen(string.IsNullOrEmpty(server), "YOI_TEST_PG is not set (bash .ci/postgres.sh starts PostgreSQL and prints the URL)");
        var admin = PostgresUrl.ToConnectionString(server!);
        var name = "yoi_jw_" + Guid.NewGuid().ToString("N")[..12];
        await using (var c = new NpgsqlConnection(admin))
        {
            await c.OpenAsync();
            await WriterFence.ExecAsync(c, $"CREATE DATABASE {name}", default);
        }
        var db = new NpgsqlConnectionStringBuilder(admin) { Database = name, Options = "-c yoi.writer=me" }.ConnectionString;
        var fence = new WriterFence(true, db, "me");
        await using (var c = await fence.OpenAsync(default))
            await WriterFence.ExecAsync(c, """
                CREATE TABLE journal (ordering BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, created BIGINT NOT NULL,
                  deleted BOOLEAN NOT NULL, persistence_id TEXT NOT NULL, sequence_number BIGINT NOT NULL, message BYTEA NOT NULL,
                  manifest TEXT, identifier INTEGER, writer_uuid TEXT, CONSTRAINT journal_uq UNIQUE (persistence_id, sequence_number));
                """, default);
        return new JournalTestDatabase(fence, async () =>
        {
            NpgsqlConnection.ClearAllPools();
            await using var c = new NpgsqlConnection(admin);
            await c.OpenAsync();
            await WriterFence.ExecAsync(c, $"DROP DATABASE IF EXISTS {name} WITH (FORCE)", default);
        });
    }

    public ValueTask DisposeAsync() => new(_drop());
}
