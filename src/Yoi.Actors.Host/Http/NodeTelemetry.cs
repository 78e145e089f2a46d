using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Yoi.Actors.Telemetry;

namespace Yoi.Actors.Host.Http;

/// <summary>The node's OpenTelemetry providers. OTLP export of traces, metrics and logs is configured by the standard
/// <c>OTEL_*</c> variables (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, <c>_PROTOCOL</c>, <c>_HEADERS</c>, the per-signal
/// endpoints, <c>OTEL_SERVICE_NAME</c>, <c>OTEL_RESOURCE_ATTRIBUTES</c>, <c>OTEL_TRACES_SAMPLER</c>…) and is off when no
/// endpoint is set; the Prometheus exporter serves <c>/metrics</c> when the HTTP server is on. With neither, nothing is
/// registered and the Yoi sources have no listener.</summary>
public static class NodeTelemetry
{
    public static bool OtlpConfigured(Func<string, string?>? env = null)
    {
        env ??= Environment.GetEnvironmentVariable;
        return new[] { "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT" }
            .Any(v => !string.IsNullOrWhiteSpace(env(v)));
    }

    public static void Add(IHostApplicationBuilder builder, bool prometheus)
    {
        var otlp = OtlpConfigured();
        // The SDK reads OTEL_* through IConfiguration, and a node without --http is built with DisableDefaults (no
        // environment source): without this its exporters went to the default endpoint and OTEL_SERVICE_NAME was lost.
        builder.Configuration.AddInMemoryCollection(Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .Where(e => e.Key is string k && k.StartsWith("OTEL_", StringComparison.Ordinal))
            .Select(e => new KeyValuePair<string, string?>((string)e.Key, e.Value as string)));
        // Logs carry trace and span ids wherever a span is ambient (console and OTLP alike).
        builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
        if (!otlp && !prometheus) return;

        var otel = builder.Services.AddOpenTelemetry()
            // "yoi" unless OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES say otherwise (the env detector is applied last).
            .ConfigureResource(r => r.Clear().AddService("yoi", serviceVersion: typeof(NodeTelemetry).Assembly.GetName().Version?.ToString())
                .AddTelemetrySdk().AddEnvironmentVariableDetector())
            .WithMetrics(m =>
            {
                m.AddMeter(YoiTelemetry.Name);
                if (prometheus) m.AddPrometheusExporter();
                if (otlp) m.AddOtlpExporter();
            });
        if (otlp)
        {
            otel.WithTracing(t => t.AddSource(YoiTelemetry.Name).AddOtlpExporter());
            otel.WithLogging(l => l.AddOtlpExporter(), o => o.IncludeFormattedMessage = true);
        }
    }
}
