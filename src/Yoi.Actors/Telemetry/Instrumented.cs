using System.Diagnostics;
using System.Text.Json;
using Yoi.Actors.Engine;
using Yoi.Messages;

namespace Yoi.Actors.Telemetry;

/// <summary>The engine's host seen through a run's telemetry: every published event also feeds the chat spans.</summary>
public sealed class TracingTurnHost(ITurnHost inner, RunTrace trace) : ITurnHost
{
    public Task CommitAsync(HistoryItem item, CancellationToken ct) => inner.CommitAsync(item, ct);

    public Task DurableAsync(CancellationToken ct) => inner.DurableAsync(ct);

    public Task<IReadOnlyList<HistoryItem>> DrainPendingAsync(CancellationToken ct) => inner.DrainPendingAsync(ct);

    public void Publish(Event e)
    {
        try
        {
            trace.OnEngineEvent(e);
        }
        catch
        {
            // telemetry never fails a run
        }
        inner.Publish(e);
    }

    public void Warn(string message) => inner.Warn(message);
}

/// <summary>A model client whose requests and stream events feed the run's current chat span (response id and model,
/// finish reason, usage, error type). Events pass through unchanged.</summary>
public sealed class TracedModelClient(IModelClient inner, RunTrace trace) : IModelClient
{
    public string Provider => inner.Provider;

    public string Model => inner.Model;

    public IAsyncEnumerable<StreamEvent> StreamAsync(ModelRequest request, CancellationToken ct) => inner.StreamAsync(request, ct);

    public async ValueTask<IAsyncEnumerator<StreamEvent>> OpenAsync(ModelRequest request, CancellationToken ct)
    {
        trace.OnRequest(request);
        try
        {
            return new Observed(await inner.OpenAsync(request, ct).ConfigureAwait(false), trace);
        }
        catch (Exception e)
        {
            trace.OnModelFailure(e);
            throw;
        }
    }

    private sealed class Observed(IAsyncEnumerator<StreamEvent> inner, RunTrace trace) : IAsyncEnumerator<StreamEvent>
    {
        public StreamEvent Current => inner.Current;

        public async ValueTask<bool> MoveNextAsync()
        {
            bool more;
            try
            {
                more = await inner.MoveNextAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                trace.OnModelFailure(e);
                throw;
            }
            if (more) trace.OnStreamEvent(inner.Current);
            return more;
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}

/// <summary>A tool whose executions are <c>execute_tool {tool}</c> spans (ambient while the tool runs, so a delegating
/// tool hands its span to the child Worker) and <c>yoi.tool.duration</c> measurements.</summary>
public sealed class TracedTool(ITool inner, RunTrace trace) : ITool
{
    public ITool Inner => inner;

    public string Name => inner.Name;

    public string Description => inner.Description;

    public JsonElement InputSchema => inner.InputSchema;

    public bool ReadOnly => inner.ReadOnly;

    public async Task<ToolOutput> ExecuteAsync(JsonElement input, ToolCallContext context, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        using var activity = trace.StartTool(inner.Name, context.CallId, input);
        string? errorType = null;
        try
        {
            var output = await inner.ExecuteAsync(input, context, ct).ConfigureAwait(false);
            if (activity is { IsAllDataRequested: true } && trace.RecordContent)
                activity.SetTag(GenAi.ToolCallResult, output.Content is null ? output.Summary : output.Summary + "\n" + output.Content);
            return output;
        }
        catch (ToolException e)
        {
            errorType = JsonNamingPolicy.SnakeCaseLower.ConvertName(e.Kind.ToString());
            throw;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            errorType = "cancelled";
            throw;
        }
        catch (Exception e)
        {
            errorType = e.GetType().FullName ?? "error";
            throw;
        }
        finally
        {
            if (activity is not null && errorType is not null)
            {
                activity.SetTag(GenAi.ErrorType, errorType);
                activity.SetStatus(ActivityStatusCode.Error, errorType);
            }
            if (YoiTelemetry.ToolDuration.Enabled)
            {
                var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                var tool = new KeyValuePair<string, object?>(GenAi.ToolName, inner.Name);
                if (errorType is null) YoiTelemetry.ToolDuration.Record(seconds, tool);
                else YoiTelemetry.ToolDuration.Record(seconds, tool, new KeyValuePair<string, object?>(GenAi.ErrorType, errorType));
            }
        }
    }
}
