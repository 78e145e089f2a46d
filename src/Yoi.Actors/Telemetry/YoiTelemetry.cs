using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Yoi.Actors.Telemetry;

/// <summary>The node's telemetry sources: one <see cref="ActivitySource"/> and one <see cref="Meter"/>, both named
/// "Yoi.Actors". Nothing here exports: the host attaches OpenTelemetry providers (OTLP, Prometheus) when configured.
/// With no listener attached every instrument is disabled and <see cref="Active"/> is false, so a Worker builds no
/// per-run telemetry at all (the "off" cost is one check per run).</summary>
public static class YoiTelemetry
{
    public const string Name = "Yoi.Actors";

    private static readonly string? Version = typeof(YoiTelemetry).Assembly.GetName().Version?.ToString();

    public static readonly ActivitySource Source = new(Name, Version);

    public static readonly Meter Meter = new(Name, Version);

    public static readonly Histogram<long> TokenUsage = Meter.CreateHistogram<long>("gen_ai.client.token.usage", "{token}",
        "Number of input and output tokens used per LLM call", advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = GenAi.TokenBuckets.Select(b => (long)b).ToArray() });

    public static readonly Histogram<double> OperationDuration = Meter.CreateHistogram<double>("gen_ai.client.operation.duration", "s",
        "Duration of GenAI operations (LLM calls, retries included)", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = GenAi.DurationBuckets });

    public static readonly Counter<long> Runs = Meter.CreateCounter<long>("yoi.runs", "{run}", "Worker runs ended, by outcome and trigger");

    public static readonly Counter<long> LlmRetries = Meter.CreateCounter<long>("yoi.llm.retries", "{retry}", "LLM call retries (the engine's retry policy)");

    public static readonly Counter<long> LlmContinuations = Meter.CreateCounter<long>("yoi.llm.continuations", "{continuation}", "LLM stream continuations after a broken stream");

    public static readonly Histogram<double> ToolDuration = Meter.CreateHistogram<double>("yoi.tool.duration", "s", "Tool execution time, by tool",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = GenAi.DurationBuckets });

    public static readonly Histogram<double> JournalWriteDuration = Meter.CreateHistogram<double>("yoi.journal.write.duration", "s",
        "Time from a Worker's persist call to its persist handler (journal write latency as the Worker sees it)",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] });

    public static readonly UpDownCounter<long> ConnectedClients = Meter.CreateUpDownCounter<long>("yoi.clients.connected", "{connection}",
        "Client connections open on this node's endpoints");

    public static readonly Counter<long> EndpointRejections = Meter.CreateCounter<long>("yoi.endpoint.rejections", "{rejection}",
        "Requests or connections refused by an endpoint, by endpoint and reason (auth, limit)");

    private static readonly ConcurrentDictionary<object, Func<(string Node, string Status)>> LiveWorkers = new();

    /// <summary>Workers by status per node, read when a reader collects (no cost between collections).</summary>
    public static readonly ObservableGauge<long> Workers = Meter.CreateObservableGauge("yoi.workers", ObserveWorkers, "{worker}",
        "Live Workers on this node, by status");

    /// <summary>True when anything listens: a trace listener or an enabled metric instrument.</summary>
    public static bool Active => Source.HasListeners() || OperationDuration.Enabled || Runs.Enabled || TokenUsage.Enabled;

    /// <summary>Where the telemetry code logs (run start/end with trace and span ids). The host sets its factory.</summary>
    public static ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    public static void RegisterWorker(object worker, Func<(string Node, string Status)> status) => LiveWorkers[worker] = status;

    public static void UnregisterWorker(object worker) => LiveWorkers.TryRemove(worker, out _);

    private static IEnumerable<Measurement<long>> ObserveWorkers()
    {
        var counts = new Dictionary<(string, string), long>();
        foreach (var status in LiveWorkers.Values)
        {
            var key = status();
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        foreach (var ((node, status), n) in counts)
            yield return new Measurement<long>(n, new KeyValuePair<string, object?>(GenAi.Node, node), new KeyValuePair<string, object?>(GenAi.WorkerStatus, status));
    }

    public static void Rejected(string endpoint, string reason) =>
        EndpointRejections.Add(1, new KeyValuePair<string, object?>("yoi.endpoint", endpoint), new KeyValuePair<string, object?>(GenAi.Reason, reason));

    /// <summary>Journal write latency from a <see cref="Stopwatch.GetTimestamp"/> taken at the persist call.</summary>
    public static void JournalWritten(long startTimestamp)
    {
        if (JournalWriteDuration.Enabled) JournalWriteDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds);
    }

    /// <summary>The W3C <c>traceparent</c> of the current span (carried in our own messages to child and peer Workers),
    /// or null when there is none.</summary>
    public static string? CurrentTraceParent() => TraceParentOf(Activity.Current);

    public static string? TraceParentOf(Activity? a) => a is { IdFormat: ActivityIdFormat.W3C } ? a.Id : null;

    public static ActivityContext ParseTraceParent(string? traceParent) =>
        traceParent is not null && ActivityContext.TryParse(traceParent, null, isRemote: true, out var context) ? context : default;

    /// <summary>Starts an activity without making it <see cref="Activity.Current"/>: on an actor thread the ambient
    /// activity would leak into every later message handled by that thread.</summary>
    internal static Activity? StartDetached(string name, ActivityKind kind, ActivityContext parent, IEnumerable<KeyValuePair<string, object?>>? tags = null,
        IEnumerable<ActivityLink>? links = null)
    {
        var previous = Activity.Current;
        try
        {
            return Source.StartActivity(name, kind, parent, tags, links);
        }
        finally
        {
            Activity.Current = previous;
        }
    }

    internal static void StopDetached(Activity activity)
    {
        var previous = Activity.Current;
        activity.Stop();
        Activity.Current = previous;
    }
}
