using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace Yoi.Bench;

/// <summary>The Yoi part of the side-by-side benchmark (bench/run-side-by-side.sh): the workload every peer runs
/// too — a zero-latency model answering each user turn with one tool call, then text; durable state after every
/// turn (here: the SQLite journal as is). Prints one JSON object with the same keys as the peers' parts.</summary>
public static class SideBySide
{
    public sealed record Options(int LatencyTurns, (int Agents, int Turns)[] Throughput, int RecoveryEntries, int RecoverySamples, int RecoveryWarmUp, int[] Windows, int WindowSize,
        int WarmUpTurns)
    {
        public static Options Parse(string[] args)
        {
            string? Arg(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
            var quick = args.Contains("--quick");
            return new Options(
                int.Parse(Arg("--latency-turns") ?? (quick ? "100" : "300")),
                (Arg("--throughput") ?? (quick ? "1:50,100:2,1000:1" : "1:200,100:5,1000:2")).Split(',')
                    .Select(p => p.Split(':')).Select(p => (int.Parse(p[0]), int.Parse(p[1]))).ToArray(),
                int.Parse(Arg("--recovery-entries") ?? (quick ? "2000" : "10000")),
                int.Parse(Arg("--recovery-samples") ?? "3"),
                int.Parse(Arg("--recovery-warm-up") ?? "10"),
                (Arg("--windows") ?? (quick ? "0,100,200" : "0,500,1000")).Split(',').Select(int.Parse).ToArray(),
                int.Parse(Arg("--window-size") ?? (quick ? "50" : "100")),
                int.Parse(Arg("--warm-up") ?? (quick ? "1000" : "3000")));
        }
    }

    public static async Task<JsonObject> RunAsync(string root, Options o)
    {
        var result = new JsonObject
        {
            ["runtime"] = "Yoi.Actors",
            ["version"] = $"Akka.NET {typeof(Akka.Actor.ActorSystem).Assembly.GetName().Version} / .NET {Environment.Version}",
            ["durability"] = $"Akka.Persistence.Sql journal on SQLite (WAL, synchronous={BenchNode.Sync.ToString().ToUpperInvariant()}): one row per session-log entry, appended; snapshot every 500 events",
            ["streaming"] = "every event to the attached client (an actor), each serialized to the protocol's JSON (YoiJson), as the socket endpoint does",
        };
        var home = Path.Combine(root, "node");
        var throughput = new JsonArray();
        await using (var node = await BenchNode.StartAsync(home))
        {
            result["warm_up_turns"] = await WarmUpAsync(node, o.WarmUpTurns);

            // Per-turn overhead: one agent, turns one after another.
            var lat = node.Client("latency");
            await lat.AttachAsync();
            for (var i = 0; i < 20; i++) await lat.RunAsync("warm-up " + i);
            var times = new double[o.LatencyTurns];
            var streamedBefore = BenchClient.StreamedBytes;
            for (var i = 0; i < times.Length; i++)
            {
                var sw = Stopwatch.StartNew();
                await lat.RunAsync("turn " + i);
                times[i] = sw.Elapsed.TotalMilliseconds;
            }
            result["per_turn"] = Percentiles(times);
            result["streamed_json_bytes_per_turn"] = (double)(BenchClient.StreamedBytes - streamedBefore) / times.Length;

            // Throughput with A agents at once; then memory of the largest batch once idle.
            foreach (var (agents, turns) in o.Throughput)
            {
                var before = agents == o.Throughput.Max(t => t.Agents) ? Memory() : default;
                var clients = Enumerable.Range(0, agents).Select(i => node.Client($"tp{agents}-{i}")).ToList();
                await Task.WhenAll(clients.Select(c => c.AttachAsync()));
                await Task.WhenAll(clients.Select(c => c.RunAsync("warm-up")));
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var sw = Stopwatch.StartNew();
                await Task.WhenAll(clients.Select(async c =>
                {
                    for (var i = 0; i < turns; i++) await c.RunAsync("turn " + i);
                }));
                var s = sw.Elapsed.TotalSeconds;
                var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
                throughput.Add(new JsonObject
                {
                    ["agents"] = agents, ["turns_per_agent"] = turns, ["seconds"] = s, ["turns_per_s"] = agents * turns / s,
                    ["cpu_ms_per_turn"] = cpuMs / (agents * turns),
                });
                if (before != default)
                {
                    await Task.Delay(500);
                    var after = Memory();
                    result["memory"] = new JsonObject
                    {
                        ["agents"] = agents,
                        ["turns_each"] = turns + 1,
                        ["rss_bytes_per_agent"] = (after.Rss - before.Rss) / agents,
                        ["heap_bytes_per_agent"] = (after.Heap - before.Heap) / agents,
                        ["note"] = "live Worker actors (Idle, whole projection in memory) + the bench's attached client actor each",
                    };
                }
                GC.KeepAlive(clients);
            }
        }
        result["throughput"] = throughput;

        // Stored bytes per turn as history grows, on the agent later used for recovery.
        var big = Path.Combine(root, "big");
        var windows = new JsonArray();
        int turnsDone;
        long entries;
        List<double> warmRecovery;
        await using (var node = await BenchNode.StartAsync(big))
        {
            var client = node.Client("big");
            await client.AttachAsync();
            var bytes = new StoredBytes(Path.Combine(big, "yoi.db"), "worker|big");
            var lastWindowEnd = o.Windows.Max() + o.WindowSize;
            long windowStart = 0, journalStart = 0;
            var windowTimes = new List<double>();
            for (turnsDone = 0; turnsDone < lastWindowEnd || bytes.JournalRows() < o.RecoveryEntries; turnsDone++)
            {
                if (o.Windows.Contains(turnsDone)) (windowStart, journalStart, windowTimes) = (bytes.Total(), bytes.Journal(), []);
                var sw = Stopwatch.StartNew();
                await client.RunAsync("fill " + turnsDone);
                windowTimes.Add(sw.Elapsed.TotalMilliseconds);
                bytes.Poll();
                if (o.Windows.Contains(turnsDone + 1 - o.WindowSize))
                    windows.Add(new JsonObject
                    {
                        ["history_turns"] = turnsDone + 1 - o.WindowSize,
                        ["bytes_per_turn"] = (double)(bytes.Total() - windowStart) / o.WindowSize,
                        ["journal_bytes_per_turn"] = (double)(bytes.Journal() - journalStart) / o.WindowSize,
                        ["median_ms"] = Percentiles(windowTimes.TakeLast(o.WindowSize).ToArray())["median_ms"]!.GetValue<double>(),
                    });
            }
            await Task.Delay(500);
            bytes.Poll();
            entries = bytes.JournalRows();
            result["bytes_per_turn"] = windows;
            result["bytes_note"] = "journal payload bytes appended + snapshot payload bytes written (amortized over the window)";

            // Recovery on a warm node, as the peers recover in a warm process: the big Worker is stopped (it
            // passivates; the next attach replays its latest snapshot and the events after it) and attached again.
            // The turns above never read the journal, so the read path (snapshot and event decoding) is warmed by
            // RecoveryWarmUp recoveries first, as the turn path is by the warm-up turns; a node that passivates and
            // restores Workers all day runs that path tiered up.
            warmRecovery = [];
            client.Detach();
            for (var i = 0; i < o.RecoveryWarmUp + o.RecoverySamples; i++)
            {
                var again = node.Client("big");
                await again.AttachAsync(create: false);
                await again.ShutdownAsync();
                again.Detach();
                var fresh = node.Client("big");
                var sw = Stopwatch.StartNew();
                var snapshot = await fresh.AttachAsync(create: false);
                if (i >= o.RecoveryWarmUp) warmRecovery.Add(sw.Elapsed.TotalMilliseconds);
                if (snapshot.Entries.Count == 0) throw new InvalidOperationException("recovered nothing");
                fresh.Detach();
            }
            warmRecovery.Sort();
        }

        // Recovery: the big Worker is remembered by sharding in its own database (a fresh node would restart it by
        // itself before any attach), so its journal and snapshot rows are copied into a template database whose
        // node never saw it; each sample starts a fresh node on a copy of the template and times attach → snapshot
        // event of the big Worker only (the node is up and the region registered before the clock starts).
        var template = Path.Combine(root, "template");
        await using (var node = await BenchNode.StartAsync(template))
        {
            var x = node.Client("x");
            await x.AttachAsync();
            await x.RunAsync("schema");
        }
        CopyRows(Path.Combine(big, "yoi.db"), Path.Combine(template, "yoi.db"), "journal", "worker|big");
        CopyRows(Path.Combine(big, "yoi-snapshots.db"), Path.Combine(template, "yoi-snapshots.db"), "snapshot", "worker|big");
        var samples = new List<double>();
        for (var i = 0; i < o.RecoverySamples; i++)
        {
            var dir = Path.Combine(root, "recovery-" + i);
            Directory.CreateDirectory(dir);
            foreach (var db in new[] { "yoi.db", "yoi-snapshots.db" })
                File.Copy(Path.Combine(template, db), Path.Combine(dir, db));
            await using var node = await BenchNode.StartAsync(dir);
            var warm = node.Client("x");
            await warm.AttachAsync(create: false);
            var client = node.Client("big");
            var sw = Stopwatch.StartNew();
            var snapshot = await client.AttachAsync(create: false);
            samples.Add(sw.Elapsed.TotalMilliseconds);
            if (snapshot.Entries.Count == 0) throw new InvalidOperationException("recovered nothing");
        }
        samples.Sort();
        result["recovery"] = new JsonObject
        {
            ["turns"] = turnsDone,
            ["entries"] = entries,
            ["entry_unit"] = "journal events",
            ["median_ms"] = samples[samples.Count / 2],
            ["warm_node_median_ms"] = warmRecovery[warmRecovery.Count / 2],
            ["note"] = "fresh node each sample, Worker not yet live: attach → snapshot event (latest snapshot, every 500 events, + the events after it); "
                + $"warm node: the same Worker stopped and attached again on the node that wrote it, after {o.RecoveryWarmUp} warm-up recoveries",
        };
        return result;
    }

    /// <summary>JIT warm-up, the same plan in every part: fresh agents of 50 turns each, 200 ms idle after each, until
    /// <paramref name="turns"/> turns or 30 s. Tiered compilation needs thousands of calls before a hot path is fully
    /// optimised, and it defers tier-1 compilation while new code keeps being jitted: without idle gaps Yoi's turn
    /// measured 0.97 ms right after 3,000 warm-up turns, with them 0.40 ms. A runtime in service has long passed that
    /// point, so the figures are taken after it. Returns the turns done.</summary>
    internal static async Task<int> WarmUpAsync(BenchNode node, int turns)
    {
        var clock = Stopwatch.StartNew();
        var done = 0;
        while (done < turns && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            var warm = node.Client("warm-up-" + done / 50);
            await warm.AttachAsync();
            for (var i = 0; i < 50 && done < turns; i++, done++) await warm.RunAsync("warm-up " + i);
            await Task.Delay(200);
        }
        return done;
    }

    internal static JsonObject Percentiles(double[] times)
    {
        var sorted = times.Order().ToArray();
        return new JsonObject
        {
            ["turns"] = sorted.Length,
            ["median_ms"] = sorted[sorted.Length / 2],
            ["p99_ms"] = sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * 0.99))],
        };
    }

    /// <summary>Copies one persistence id's rows of <paramref name="table"/> between two closed Akka.Persistence.Sql SQLite files.</summary>
    private static void CopyRows(string from, string to, string table, string persistenceId)
    {
        SqliteConnection.ClearAllPools();
        using var c = new SqliteConnection($"Data Source={to};Pooling=False");
        c.Open();
        void Exec(string sql)
        {
            using var cmd = c.CreateCommand();
            cmd.CommandText = sql;
            cmd.Parameters.AddWithValue("$p", persistenceId);
            cmd.ExecuteNonQuery();
        }
        Exec($"ATTACH DATABASE '{from.Replace("'", "''")}' AS src");
        if (table == "journal")
        {
            // The journal's writer fence (WriterFence) refuses rows not written by the Worker's owner: this copy
            // takes ownership as writer "bench-copy"; the template node's recovery claims the Worker as usual.
            c.CreateFunction("yoi_writer", () => "bench-copy");
            Exec("INSERT OR REPLACE INTO main.yoi_writer (persistence_id, writer) VALUES ($p, 'bench-copy')");
        }
        {
            var columns = new List<string>();
            using (var cmd = c.CreateCommand())
            {
                cmd.CommandText = $"PRAGMA table_info({table})";
                using var r = cmd.ExecuteReader();
                while (r.Read()) if (r.GetString(1) != "ordering") columns.Add(r.GetString(1));
            }
            if (columns.Count == 0) throw new InvalidOperationException($"no {table} table in {to}");
            var list = string.Join(", ", columns);
            Exec($"INSERT INTO main.{table} ({list}) SELECT {list} FROM src.{table} WHERE persistence_id = $p");
        }
        Exec("DETACH DATABASE src");
        Exec("PRAGMA wal_checkpoint(TRUNCATE)");
    }

    private static (long Rss, long Heap) Memory()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, true, true);
            GC.WaitForPendingFinalizers();
        }
        var heap = GC.GetTotalMemory(true);
        using var p = Process.GetCurrentProcess();
        p.Refresh();
        return (p.WorkingSet64, heap);
    }

    /// <summary>Payload bytes written for one persistence id: journal rows (append-only) plus every snapshot
    /// seen (old ones are deleted after a new one is saved, so each is counted once when first polled).</summary>
    private sealed class StoredBytes(string file, string persistenceId)
    {
        private readonly Dictionary<long, long> _snapshots = new();

        private SqliteConnection Open()
        {
            var c = new SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=False");
            c.Open();
            return c;
        }

        private long Scalar(string sql)
        {
            using var c = Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = sql;
            cmd.Parameters.AddWithValue("$p", persistenceId);
            var v = cmd.ExecuteScalar();
            return v is DBNull or null ? 0 : Convert.ToInt64(v);
        }

        public long JournalRows() => Scalar("SELECT COUNT(*) FROM journal WHERE persistence_id = $p");

        public void Poll()
        {
            // Snapshots live in their own file beside the journal (yoi-snapshots.db).
            using var c = new SqliteConnection($"Data Source={Path.Combine(Path.GetDirectoryName(file)!, "yoi-snapshots.db")};Mode=ReadOnly;Pooling=False");
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT sequence_number, LENGTH(snapshot) FROM snapshot WHERE persistence_id = $p";
            cmd.Parameters.AddWithValue("$p", persistenceId);
            using var r = cmd.ExecuteReader();
            while (r.Read()) _snapshots[r.GetInt64(0)] = r.GetInt64(1);
        }

        public long Journal() => Scalar("SELECT SUM(LENGTH(message)) FROM journal WHERE persistence_id = $p");

        public long Total() => Journal() + _snapshots.Values.Sum();
    }
}
