using System.Diagnostics;
using System.Text.Json;
using Yoi.Actors.Engine;
using Yoi.Actors.Telemetry;
using Yoi.Messages;

namespace Yoi.Bench;

/// <summary>`--only telemetry-cost`: what the Worker's telemetry adds to one run (1 LLM call + 1 tool call + 1 LLM
/// call), isolated from the journal and the actor: the same calls a run makes on its RunTrace and its wrapped host,
/// model and tool, against no-op inner objects. CPU time and allocated bytes per run, on one thread (allocations do not
/// depend on machine load; CPU time much less than wall time does).</summary>
public static class TelemetryCost
{
    public static async Task RunAsync(string mode, int runs)
    {
        var host = new NullHost();
        var model = new NullModel();
        var tool = new NullTool();
        var input = JsonDocument.Parse("""{"text":"hi"}""").RootElement;
        var request = new ModelRequest(null, [], [], RequestConfig.Default);
        var ctx = new ToolCallContext("c1", "tool-batch-0", 0);
        var start = new RunTraceStart("bench", Guid.NewGuid(), "user", "scripted", "bench-model", false);

        async Task OneRun()
        {
            var trace = mode == "none" ? null : RunTrace.Start(start); // none: the run without the telemetry code at all
            ITurnHost h = trace is null ? host : new TracingTurnHost(host, trace);
            IModelClient m = trace is null ? model : new TracedModelClient(model, trace);
            ITool t = trace is null ? tool : new TracedTool(tool, trace);
            for (ulong call = 0; call < 2; call++)
            {
                h.Publish(new LlmCallStartEvent(call));
                await using (var e = await m.OpenAsync(request, CancellationToken.None))
                    while (await e.MoveNextAsync()) { }
                h.Publish(new UsageEvent(100, 10, 0));
                h.Publish(new LlmCallEndEvent(call));
                if (call == 0) await t.ExecuteAsync(input, ctx, CancellationToken.None);
            }
            trace?.End("finished");
        }

        for (var i = 0; i < Math.Min(runs, 20_000); i++) await OneRun(); // JIT warm-up
        GC.Collect();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var bytes = GC.GetTotalAllocatedBytes(precise: true);
        var wall = Stopwatch.StartNew();
        for (var i = 0; i < runs; i++) await OneRun();
        wall.Stop();
        var cpuUsed = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - bytes;
        Console.WriteLine($"telemetry cost ({mode}, {runs} runs): {cpuUsed.TotalMicroseconds / runs:0.00} µs CPU/run, " +
                          $"{wall.Elapsed.TotalMicroseconds / runs:0.00} µs wall/run, {allocated / (double)runs:0} bytes/run");
    }

    private sealed class NullHost : ITurnHost
    {
        public Task CommitAsync(HistoryItem item, CancellationToken ct) => Task.CompletedTask;
        public Task DurableAsync(CancellationToken ct) => Task.CompletedTask;
        public Task<IReadOnlyList<HistoryItem>> DrainPendingAsync(CancellationToken ct) => Task.FromResult<IReadOnlyList<HistoryItem>>([]);
        public void Publish(Event e) { }
        public void Warn(string message) { }
    }

    private sealed class NullModel : IModelClient
    {
        private static readonly StreamEvent[] Events =
            [new StreamResponse("r1", "bench-model"), new StreamUsage(100, 10), new BlockStop(0, BlockType.Text, StopReason.EndTurn)];
        public string Provider => "scripted";
        public string Model => "bench-model";
        public async IAsyncEnumerable<StreamEvent> StreamAsync(ModelRequest request, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
        {
            foreach (var e in Events) yield return e;
            await Task.CompletedTask;
        }
    }

    private sealed class NullTool : ITool
    {
        public string Name => "Echo";
        public string Description => "";
        public JsonElement InputSchema { get; } = JsonDocument.Parse("{}").RootElement;
        public Task<ToolOutput> ExecuteAsync(JsonElement input, ToolCallContext context, CancellationToken ct) => Task.FromResult(new ToolOutput("ok"));
    }
}
