using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Yoi.Bench;

/// <summary>Whole-system figures on the real stack: single-node cluster, sharding, SQLite journal,
/// scripted zero-latency model, one tool call + one text answer per run.</summary>
public static class SystemBench
{
    public static async Task RunLatencyAsync(string home, int runs, int snapshotEvery = 500, int warmUpRuns = 0)
    {
        await using var node = await BenchNode.StartAsync(home, snapshotEvery);
        if (warmUpRuns > 0) await SideBySide.WarmUpAsync(node, warmUpRuns);
        var client = node.Client("latency");
        await client.AttachAsync();
        for (var i = 0; i < 20; i++) await client.RunAsync("warm-up " + i);
        var times = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            await client.RunAsync("run " + i);
            times[i] = sw.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        Console.WriteLine($"per-run latency (1 LLM call + 1 tool call + 1 LLM call, {runs} runs): " +
                          $"median {times[runs / 2]:F2} ms, p90 {times[(int)(runs * 0.9)]:F2} ms, p99 {times[(int)(runs * 0.99)]:F2} ms");
    }

    public static async Task RunThroughputAsync(string home, int workers, int runsPerWorker, string? postgres = null)
    {
        var journal = postgres is null ? null : await CreatePostgresDatabaseAsync(postgres);
        Func<long> rows = journal is null ? () => JournalRows(home) : () => PostgresJournalRows(journal);
        await using var node = await BenchNode.StartAsync(home, journal: journal);
        var clients = Enumerable.Range(0, workers).Select(i => node.Client("tp-" + i)).ToList();
        await Task.WhenAll(clients.Select(c => c.AttachAsync()));
        await Task.WhenAll(clients.Select(c => c.RunAsync("warm-up")));
        var before = rows();
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(clients.Select(async c =>
        {
            for (var i = 0; i < runsPerWorker; i++) await c.RunAsync("run " + i);
        }));
        var elapsed = sw.Elapsed;
        var written = rows() - before;
        Console.WriteLine($"journal throughput on {(journal is null ? "SQLite" : "PostgreSQL")} ({workers} Workers running at once, {runsPerWorker} runs each): " +
                          $"{written} entries in {elapsed.TotalSeconds:F2} s = {written / elapsed.TotalSeconds:F0} entries/s " +
                          $"({workers * runsPerWorker / elapsed.TotalSeconds:F0} runs/s)");
    }

    public static async Task RunRecoveryAsync(string home, int entries, int samplesPerCase = 5)
    {
        foreach (var snapshotEvery in new[] { 500, int.MaxValue })
        {
            var dir = Path.Combine(home, snapshotEvery == int.MaxValue ? "no-snapshots" : "snapshots");
            long rows;
            await using (var node = await BenchNode.StartAsync(dir, snapshotEvery))
            {
                var client = node.Client("big");
                await client.AttachAsync();
                while (JournalRows(dir) < entries) await client.RunAsync("fill");
                rows = JournalRows(dir);
                // Stopped, not just left alive: with remember-entities a live Worker would be recovered by the
                // fresh node on its own, before the clock starts.
                await client.ShutdownAsync();
            }
            var samples = new List<double>();
            for (var i = 0; i < samplesPerCase; i++)
            {
                await using var node = await BenchNode.StartAsync(dir, snapshotEvery);
                // Each sample recovers the stopped Worker once: stop it again after timing.
                // The node is up and the region registered: time only the Worker's recovery and first snapshot.
                var warm = node.Client("other-" + i);
                await warm.AttachAsync();
                var client = node.Client("big");
                var sw = Stopwatch.StartNew();
                var snapshot = await client.AttachAsync(create: false);
                samples.Add(sw.Elapsed.TotalMilliseconds);
                if (snapshot.Entries.Count == 0) throw new InvalidOperationException("recovered nothing");
                await client.ShutdownAsync();
            }
            samples.Sort();
            Console.WriteLine($"recovery of a {rows}-entry Worker ({(snapshotEvery == int.MaxValue ? "no snapshots" : $"snapshot every {snapshotEvery}")}): " +
                              $"median {samples[samples.Count / 2]:F0} ms (attach → snapshot event, {samples.Count} fresh nodes; samples {string.Join(", ", samples.Select(s => s.ToString("F0")))} ms)");
        }
    }

    private static async Task<string> CreatePostgresDatabaseAsync(string server)
    {
        var name = "yoi_bench_" + Guid.NewGuid().ToString("N")[..8];
        await using (var c = new NpgsqlConnection(Npgsql(server)))
        {
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", c);
            await cmd.ExecuteNonQueryAsync();
        }
        var uri = new Uri(server);
        return $"postgres://{uri.UserInfo}@{uri.Host}:{uri.Port}/{name}";
    }

    private static string Npgsql(string url)
    {
        var uri = new Uri(url);
        var user = uri.UserInfo.Split(':', 2);
        return $"Host={uri.Host};Port={uri.Port};Username={user[0]};Password={(user.Length > 1 ? user[1] : "")};Database={uri.AbsolutePath.Trim('/')}";
    }

    private static long PostgresJournalRows(string url)
    {
        using var c = new NpgsqlConnection(Npgsql(url));
        c.Open();
        using var cmd = new NpgsqlCommand("SELECT COUNT(*) FROM journal WHERE persistence_id LIKE 'worker|%'", c);
        return (long)cmd.ExecuteScalar()!;
    }

    private static long JournalRows(string home)
    {
        using var c = new SqliteConnection($"Data Source={Path.Combine(home, "yoi.db")};Mode=ReadOnly");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM journal WHERE persistence_id LIKE 'worker|%'";
        return (long)cmd.ExecuteScalar()!;
    }
}
