using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Tracing;

namespace Yoi.Bench;

/// <summary>A busy node for profiling (issue 20): A Workers run turns back to back for a fixed time; prints CPU time,
/// bytes allocated, GCs and thread-pool work items per turn. Run it under <c>dotnet-trace collect</c> to see where a
/// turn's CPU goes (bench/RESULTS.md "Cost per node").</summary>
public static class BusyBench
{
    public static async Task RunAsync(string home, int agents, double seconds, int warmUp, bool allocationTypes = false)
    {
        await using var node = await BenchNode.StartAsync(home);
        if (warmUp > 0) await SideBySide.WarmUpAsync(node, warmUp);
        var clients = Enumerable.Range(0, agents).Select(i => node.Client("busy-" + i)).ToList();
        await Task.WhenAll(clients.Select(c => c.AttachAsync()));
        await Task.WhenAll(clients.Select(c => c.RunAsync("warm-up")));

        // Two phases of the same length: the first finishes tiering up the hot path, the second is measured.
        for (var phase = 0; phase < 2; phase++)
        {
            var stop = DateTime.UtcNow.AddSeconds(seconds);
            var turns = 0L;
            using var proc = Process.GetCurrentProcess();
            var cpu = proc.TotalProcessorTime;
            var alloc = GC.GetTotalAllocatedBytes(true);
            var gcs = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
            var work = ThreadPool.CompletedWorkItemCount;
            var contention = Monitor.LockContentionCount;
            using var listener = allocationTypes && phase == 1 ? new AllocationSampler() : null;
            var sw = Stopwatch.StartNew();
            await Task.WhenAll(clients.Select(async c =>
            {
                while (DateTime.UtcNow < stop)
                {
                    await c.RunAsync("turn");
                    Interlocked.Increment(ref turns);
                }
            }));
            var wall = sw.Elapsed.TotalSeconds;
            proc.Refresh();
            var cpuMs = (proc.TotalProcessorTime - cpu).TotalMilliseconds;
            var allocated = GC.GetTotalAllocatedBytes(true) - alloc;
            Console.WriteLine($"{(phase == 0 ? "tier-up" : "measured")}: {agents} agents, {turns} turns in {wall:F1} s = {turns / wall:F0} turns/s; " +
                              $"CPU {cpuMs / turns:F3} ms/turn; allocated {allocated / turns:N0} B/turn; " +
                              $"GCs gen0/1/2 {GC.CollectionCount(0) - gcs.Item1}/{GC.CollectionCount(1) - gcs.Item2}/{GC.CollectionCount(2) - gcs.Item3}; " +
                              $"thread-pool items {(double)(ThreadPool.CompletedWorkItemCount - work) / turns:F1}/turn; " +
                              $"lock contentions {(double)(Monitor.LockContentionCount - contention) / turns:F2}/turn; " +
                              $"load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
            listener?.Print(turns);
        }
    }

    /// <summary>The runtime's allocation sampling (one GCAllocationTick event per ≈ 100 KB allocated, with the type
    /// of the object that crossed the mark): bytes per turn by type, an estimate that converges over many turns.</summary>
    private sealed class AllocationSampler : EventListener
    {
        private readonly ConcurrentDictionary<string, long> _bytes = new();

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventName?.StartsWith("GCAllocationTick") != true || e.Payload is null) return;
            var type = e.Payload[e.PayloadNames!.IndexOf("TypeName")] as string ?? "?";
            var amount = Convert.ToInt64(e.Payload[e.PayloadNames.IndexOf("AllocationAmount64")]);
            _bytes.AddOrUpdate(type, amount, (_, v) => v + amount);
        }

        public void Print(long turns)
        {
            var total = _bytes.Values.Sum();
            Console.WriteLine($"allocation samples by type (≈ bytes per turn, {total / Math.Max(1, turns):N0} B/turn sampled):");
            foreach (var (type, bytes) in _bytes.OrderByDescending(kv => kv.Value).Take(40))
                Console.WriteLine($"  {bytes / Math.Max(1, turns),8:N0}  {type}");
        }
    }
}
