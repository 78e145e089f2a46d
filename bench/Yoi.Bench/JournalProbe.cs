using System.Diagnostics;
using Akka.Actor;
using Akka.Persistence;
using Yoi.Messages;

namespace Yoi.Bench;

/// <summary>The cost of the journal alone: a bare persistent actor on the node's journal configuration persists one
/// session-log entry at a time (or a batch per handler), each after the previous one's handler ran.</summary>
public static class JournalProbe
{
    public static async Task RunAsync(string home, int writes = 2000)
    {
        await using var node = await BenchNode.StartAsync(home);
        foreach (var batch in new[] { 1, 4 })
        {
            var done = new TaskCompletionSource<double[]>();
            node.System.ActorOf(Props.Create(() => new Prober("probe-" + batch, writes, batch, done)));
            var times = await done.Task.WaitAsync(TimeSpan.FromMinutes(2));
            Array.Sort(times);
            Console.WriteLine($"journal round trip ({batch} entr{(batch == 1 ? "y" : "ies")} per Persist batch, {writes} batches): " +
                              $"median {times[writes / 2] * 1000:F0} µs, p99 {times[(int)(writes * 0.99)] * 1000:F0} µs");
        }
    }

    private sealed class Prober : ReceivePersistentActor
    {
        private readonly double[] _times;
        private readonly int _batch;
        private readonly TaskCompletionSource<double[]> _done;
        private readonly Stopwatch _clock = new();
        private int _n;

        public Prober(string id, int writes, int batch, TaskCompletionSource<double[]> done)
        {
            PersistenceId = id;
            _times = new double[writes];
            _batch = batch;
            _done = done;
            Command<string>(_ => Next());
            Recover<IJournalEvent>(_ => { });
        }

        public override string PersistenceId { get; }

        protected override void PreStart() => Self.Tell("go");

        private void Next()
        {
            _clock.Restart();
            var entries = Enumerable.Range(0, _batch)
                .Select(i => (IJournalEvent)new ToolResultEntry(new ToolResultItem("call-" + i, "echo: probe " + _n))).ToList();
            PersistAll(entries, e =>
            {
                if (!ReferenceEquals(e, entries[^1])) return;
                _times[_n++] = _clock.Elapsed.TotalMilliseconds;
                if (_n < _times.Length) Next();
                else _done.TrySetResult(_times);
            });
        }
    }
}
