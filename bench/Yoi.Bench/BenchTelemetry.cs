using System.Diagnostics;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Yoi.Actors.Telemetry;

namespace Yoi.Bench;

/// <summary>`--telemetry off|sampled|on`: the cost of the Worker's telemetry per run. <c>sampled</c>: traces with a 10 %
/// trace-id ratio sampler; <c>on</c>: every trace, the metrics (1 s periodic reader) and the run logs. The exporters
/// drop what they get (the SDK's processing is measured, not a collector's network).</summary>
public static class BenchTelemetry
{
    public static IDisposable? Start(string mode)
    {
        if (mode == "off") return null;
        var disposables = new List<IDisposable>();
        var tracing = Sdk.CreateTracerProviderBuilder().AddSource(YoiTelemetry.Name)
            .SetSampler(mode == "sampled" ? new TraceIdRatioBasedSampler(0.1) : new AlwaysOnSampler())
            .AddProcessor(new BatchActivityExportProcessor(new Drop<Activity>()))
            .Build()!;
        disposables.Add(tracing);
        if (mode == "on")
        {
            disposables.Add(Sdk.CreateMeterProviderBuilder().AddMeter(YoiTelemetry.Name)
                .AddReader(new PeriodicExportingMetricReader(new Drop<Metric>(), 1000)).Build()!);
            var logs = LoggerFactory.Create(b => b.AddOpenTelemetry(o => o.AddProcessor(new BatchLogRecordExportProcessor(new Drop<LogRecord>()))));
            YoiTelemetry.LoggerFactory = logs;
            disposables.Add(logs);
        }
        Console.WriteLine($"telemetry: {mode}");
        return new All(disposables);
    }

    private sealed class Drop<T> : BaseExporter<T> where T : class
    {
        public override ExportResult Export(in Batch<T> batch) => ExportResult.Success;
    }

    private sealed class All(List<IDisposable> items) : IDisposable
    {
        public void Dispose()
        {
            foreach (var d in items) d.Dispose();
        }
    }
}
