using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Yoi.Actors.Telemetry;

namespace Yoi.Actors.Tests.Telemetry;

/// <summary>A real OpenTelemetry tracer provider with the in-memory exporter, listening to "Yoi.Actors". Only the runs
/// of Workers whose name starts with <c>prefix</c> are sampled (parent-based below them), so Workers of tests running in
/// parallel are not recorded.</summary>
public sealed class TraceCapture : IDisposable
{
    private readonly TracerProvider _provider;

    public TraceCapture(string prefix)
    {
        _provider = Sdk.CreateTracerProviderBuilder()
            .AddSource(YoiTelemetry.Name)
            .SetSampler(new ParentBasedSampler(new PrefixSampler("invoke_agent " + prefix)))
            .AddInMemoryExporter(Spans)
            .Build()!;
    }

    public List<Activity> Spans { get; } = [];

    public List<Activity> Snapshot()
    {
        lock (Spans) return Spans.ToList();
    }

    /// <summary>Waits until a span matching <paramref name="match"/> has been exported (spans export when they end).</summary>
    public async Task<Activity> WaitAsync(Func<Activity, bool> match, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (DateTime.UtcNow < deadline)
        {
            if (Snapshot().FirstOrDefault(match) is { } a) return a;
            await Task.Delay(20);
        }
        throw new TimeoutException("span not exported; have: " + string.Join(", ", Snapshot().Select(s => s.DisplayName)));
    }

    public void Dispose() => _provider.Dispose();

    private sealed class PrefixSampler(string prefix) : Sampler
    {
        public override SamplingResult ShouldSample(in SamplingParameters p) =>
            new(p.Name.StartsWith(prefix, StringComparison.Ordinal) ? SamplingDecision.RecordAndSample : SamplingDecision.Drop);
    }
}

public static class ActivityExtensions
{
    public static object? Tag(this Activity a, string key) => a.GetTagItem(key);
}
