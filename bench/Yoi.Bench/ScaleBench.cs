using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;

namespace Yoi.Bench;

/// <summary>`--only scale` (issue 20, item 4): how many Workers one node holds. Creates N Workers (one turn each, then
/// detached, so each passivates), then keeps L live and attached running turns; reports RSS and managed heap, time to
/// create, restore of a passive Worker (attach → snapshot) p50/p99 idle and under load, a node restart with R
/// remembered live Workers, the journal's size and every sharding warning about timeouts.</summary>
public static class ScaleBench
{
    public sealed record Options(int Workers, int Live, int Remembered, int Concurrency, int RestoreSamples, int LoadRounds)
    {
        public static Options Parse(string[] args, bool quick)
        {
            int Arg(string name, int full, int small) =>
                int.Parse(args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() ?? (quick ? small : full).ToString());
            return new(Arg("--workers", 100_000, 10_000), Arg("--live", 1_000, 1_000), Arg("--remembered", 10_000, 2_000),
                Arg("--concurrency", 250, 250), Arg("--restore-samples", 500, 200), Arg("--load-rounds", 5, 3));
        }
    }

    /// <summary>Short idle passivation so that detached Workers leave memory during the bench (default: 2 min).</summary>
    private static readonly TimeSpan IdlePassivation = TimeSpan.FromSeconds(2);

    public static async Task RunAsync(string home, Options o)
    {
        Directory.CreateDirectory(home);
        Console.WriteLine($"== scale: {o.Workers:N0} Workers created (one turn each, then passivated), {o.Live:N0} live, " +
                          $"restart with {o.Remembered:N0} remembered; {o.Concurrency} creations in flight");
        var node = await BenchNode.StartAsync(home, idlePassivation: IdlePassivation);
        Warnings.Listen(node.System);
        try
        {
            Report("empty node", node);

            // 1. Create: attach (create), one turn, detach — `Concurrency` Workers at a time.
            var clock = Stopwatch.StartNew();
            var next = -1;
            var lastReport = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, o.Concurrency).Select(_ => Task.Run(async () =>
            {
                for (var i = Interlocked.Increment(ref next); i < o.Workers; i = Interlocked.Increment(ref next))
                {
                    var c = node.Client(Name(i));
                    await c.AttachAsync();
                    await c.RunAsync("hello");
                    c.Detach();
                    if (i % 10_000 == 0 && i > 0)
                        lock (lastReport) Console.WriteLine($"  created {i:N0} in {clock.Elapsed.TotalSeconds:F0} s (live: {LiveCount(node)})");
                }
            })));
            var created = clock.Elapsed;
            Console.WriteLine($"created {o.Workers:N0} Workers in {created.TotalSeconds:F1} s ({o.Workers / created.TotalSeconds:F0} Workers/s, one turn each)");
            await WaitForLiveAsync(node, n => n == 0, TimeSpan.FromSeconds(120), "passivation of every detached Worker");
            Report($"{o.Workers:N0} registered, 0 live", node);
            Console.WriteLine($"journal: {JournalSize(home)}");

            // 2. Restore of a passive Worker, the node otherwise idle: attach → snapshot, one at a time.
            var rnd = new Random(42);
            var idleRestore = await RestoreSamplesAsync(node, o.RestoreSamples, rnd, o.Workers);
            Console.WriteLine($"restore (attach → snapshot) of a passive Worker, idle node: {Percentiles(idleRestore)}");

            // 3. Keep `Live` Workers attached and running turns; restore samples meanwhile.
            var live = Enumerable.Range(0, o.Live).Select(i => node.Client(Name(i))).ToArray();
            await Task.WhenAll(live.Select(c => c.AttachAsync(create: false)));
            using var stop = new CancellationTokenSource();
            var turns = 0L;
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var loadClock = Stopwatch.StartNew();
            var load = Task.WhenAll(live.Select(c => Task.Run(async () =>
            {
                for (var r = 0; r < o.LoadRounds; r++)
                {
                    await c.RunAsync("turn " + r);
                    Interlocked.Increment(ref turns);
                }
            })));
            var busyRestore = new List<double>();
            while (!load.IsCompleted && busyRestore.Count < o.RestoreSamples)
                busyRestore.AddRange(await RestoreSamplesAsync(node, 1, rnd, o.Workers, from: o.Live));
            await load;
            var loadSecs = loadClock.Elapsed.TotalSeconds;
            var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds;
            Console.WriteLine($"{o.Live:N0} live Workers × {o.LoadRounds} turns: {turns / loadSecs:F0} turns/s, " +
                              $"{cpuMs / turns:F2} ms CPU per turn (whole process, restore samples included)");
            Console.WriteLine($"restore of a passive Worker while {o.Live:N0} run turns: {Percentiles(busyRestore.ToArray())}");
            await Task.Delay(IdlePassivation * 2); // the restored samples passivate again
            Report($"{o.Workers:N0} registered, {o.Live:N0} live (attached)", node);
            foreach (var c in live) c.Detach();

            // 4. `Remembered` live Workers, then a node restart: remember-entities restarts every one of them.
            var remembered = Enumerable.Range(0, o.Remembered).Select(i => node.Client(Name(i))).ToArray();
            await ForEachAsync(remembered, o.Concurrency, c => c.AttachAsync(create: false));
            Report($"{o.Remembered:N0} live (attached) before the restart", node);
            Console.WriteLine($"sharding warnings so far: {Warnings.Summary()}");
        }
        finally
        {
            await node.DisposeAsync();
        }

        var restart = Stopwatch.StartNew();
        // A long idle passivation: the restarted Workers are unattended, and the count below must see them all.
        node = await BenchNode.StartAsync(home, idlePassivation: TimeSpan.FromMinutes(10));
        Warnings.Listen(node.System);
        try
        {
            var up = restart.Elapsed;
            await WaitForLiveAsync(node, n => n >= o.Remembered, TimeSpan.FromSeconds(300), $"{o.Remembered:N0} remembered Workers started");
            var started = restart.Elapsed;
            // Every remembered Worker answers an attach once its recovery is done (commands are stashed until then).
            var clients = Enumerable.Range(0, o.Remembered).Select(i => node.Client(Name(i))).ToArray();
            await ForEachAsync(clients, o.Concurrency, c => c.AttachAsync(create: false));
            var recovered = restart.Elapsed;
            Console.WriteLine($"restart with {o.Remembered:N0} remembered: node up {up.TotalSeconds:F1} s, all started " +
                              $"{started.TotalSeconds:F1} s, all recovered (attach answered) {recovered.TotalSeconds:F1} s");
            Report($"after the restart, {o.Remembered:N0} live", node);
            Console.WriteLine($"sharding warnings after the restart: {Warnings.Summary()}");
            foreach (var c in clients) c.Detach();
        }
        finally
        {
            await node.DisposeAsync();
        }
    }

    private static string Name(int i) => $"scale-{i:D6}";

    private static async Task<double[]> RestoreSamplesAsync(BenchNode node, int samples, Random rnd, int workers, int from = 0)
    {
        var times = new double[samples];
        for (var s = 0; s < samples; s++)
        {
            var c = node.Client(Name(rnd.Next(from, workers)));
            var sw = Stopwatch.StartNew();
            await c.AttachAsync(create: false);
            times[s] = sw.Elapsed.TotalMilliseconds;
            c.Detach();
        }
        return times;
    }

    private static async Task ForEachAsync<T>(IReadOnlyList<T> items, int concurrency, Func<T, Task> body)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            for (var i = Interlocked.Increment(ref next); i < items.Count; i = Interlocked.Increment(ref next)) await body(items[i]);
        })));
    }

    /// <summary>Live Worker entities on this node, from the shard region's own state.</summary>
    private static int LiveCount(BenchNode node)
    {
        var state = node.Region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
        return state.Shards.Sum(s => s.EntityIds.Count);
    }

    private static async Task WaitForLiveAsync(BenchNode node, Func<int, bool> done, TimeSpan timeout, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var n = LiveCount(node);
            if (done(n)) return;
            if (deadline.Elapsed > timeout) throw new TimeoutException($"{what}: {n} live after {timeout.TotalSeconds} s");
            await Task.Delay(200);
        }
    }

    private static void Report(string when, BenchNode node)
    {
        for (var i = 0; i < 2; i++) GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        var p = Process.GetCurrentProcess();
        p.Refresh();
        Console.WriteLine($"{when}: RSS {p.WorkingSet64 / 1048576.0:F0} MiB, managed heap {GC.GetTotalMemory(false) / 1048576.0:F0} MiB, live {LiveCount(node):N0}");
    }

    private static string JournalSize(string home)
    {
        long Size(string pattern) => Directory.GetFiles(home, pattern).Sum(f => new FileInfo(f).Length);
        return $"yoi.db* {Size("yoi.db*") / 1048576.0:F0} MiB, yoi-snapshots.db* {Size("yoi-snapshots.db*") / 1048576.0:F0} MiB";
    }

    private static string Percentiles(double[] times)
    {
        if (times.Length == 0) return "no samples";
        var s = times.Order().ToArray();
        double At(double q) => s[Math.Min(s.Length - 1, (int)(s.Length * q))];
        return $"p50 {At(0.5):F1} ms, p99 {At(0.99):F1} ms, max {s[^1]:F1} ms ({s.Length} samples)";
    }

    /// <summary>Counts the node's warnings and errors by source, and those that mention a timeout (shard load
    /// timeouts, remember-entities store timeouts): the target is none.</summary>
    private sealed class Warnings : ReceiveActor
    {
        private static int _all, _timeouts;
        private static readonly List<string> Samples = [];

        public static void Listen(ActorSystem system)
        {
            _all = _timeouts = 0;
            lock (Samples) Samples.Clear();
            var listener = system.ActorOf(Props.Create(() => new Warnings()));
            system.EventStream.Subscribe(listener, typeof(Warning));
            system.EventStream.Subscribe(listener, typeof(Error));
        }

        public Warnings() => Receive<LogEvent>(e =>
        {
            Interlocked.Increment(ref _all);
            var text = e.Message?.ToString() ?? "";
            // Sharding words its store load failure "Failed to load initial entity ids from remember entities store within [5 s]".
            if (text.Contains("timeout", StringComparison.OrdinalIgnoreCase) || text.Contains("timed out", StringComparison.OrdinalIgnoreCase)
                || text.Contains("within [", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _timeouts);
                lock (Samples) if (Samples.Count < 3) Samples.Add($"{e.LogSource}: {text}");
            }
        });

        public static string Summary()
        {
            lock (Samples) return $"{_all} warnings/errors, {_timeouts} about timeouts" + (Samples.Count > 0 ? " — " + string.Join(" | ", Samples) : "");
        }
    }
}
