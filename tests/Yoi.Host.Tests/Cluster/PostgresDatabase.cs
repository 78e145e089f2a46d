using Npgsql;

namespace Yoi.Host.Tests.Cluster;

/// <summary>A fresh PostgreSQL database for one test, on the server named by $YOI_TEST_PG
/// (postgres://user:pass@host:port/db — `.ci/postgres.sh` starts one on 127.0.0.1 and prints it).
/// Dropped on dispose.</summary>
public sealed class PostgresDatabase : IAsyncDisposable
{
    private readonly string _admin;

    private PostgresDatabase(string admin, string name, string url)
    {
        _admin = admin;
        Name = name;
        Url = url;
    }

    public string Name { get; }

    /// <summary>An Npgsql connection string to this database (for SQL checks).</summary>
    public string ConnectionString => new NpgsqlConnectionStringBuilder(_admin) { Database = Name }.ConnectionString;

    /// <summary>The `--journal` URL through another address (a relay reachable from test network namespaces).</summary>
    public string UrlVia(string host, int port) => $"postgres://{new Uri(Url).UserInfo}@{host}:{port}/{Name}";

    /// <summary>The `--journal` value for `yoi serve`.</summary>
    public string Url { get; }

    public static string? ServerUrl => Environment.GetEnvironmentVariable("YOI_TEST_PG") is { Length: > 0 } u ? u : null;

    public static async Task<PostgresDatabase> CreateAsync()
    {
        var server = ServerUrl ?? throw new InvalidOperationException("YOI_TEST_PG is not set");
        var uri = new Uri(server);
        var user = uri.UserInfo.Split(':', 2);
        var admin = $"Host={uri.Host};Port={uri.Port};Username={Uri.UnescapeDataString(user[0])};Password={Uri.UnescapeDataString(user.ElementAtOrDefault(1) ?? "")};Database={uri.AbsolutePath.Trim('/')}";
        var name = "yoi_test_" + Guid.NewGuid().ToString("N")[..12];
        await using (var c = new NpgsqlConnection(admin))
        {
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", c);
            await cmd.ExecuteNonQueryAsync();
        }
        var url = $"postgres://{uri.UserInfo}@{uri.Host}:{uri.Port}/{name}";
        return new PostgresDatabase(admin, name, url);
    }

    /// <summary>Rows a Worker has in the journal, by manifest (entry, worker_created, …), in sequence order.</summary>
    public async Task<List<(long Seq, string Manifest, string Json)>> JournalAsync(string worker)
    {
        await using var c = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_admin) { Database = Name }.ConnectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(
            "SELECT sequence_number, manifest, convert_from(message, 'UTF8') FROM journal WHERE persistence_id = @p ORDER BY sequence_number", c);
        cmd.Parameters.AddWithValue("p", "worker|" + worker);
        var rows = new List<(long, string, string)>();
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync()) rows.Add((r.GetInt64(0), r.GetString(1), r.GetString(2)));
        return rows;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await using var c = new NpgsqlConnection(_admin);
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)", c);
            await cmd.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException) { /* best effort */ }
    }
}
