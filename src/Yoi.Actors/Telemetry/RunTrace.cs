using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Yoi.Actors.Engine;
using Yoi.Messages;
using Yoi.Messages.Json;

namespace Yoi.Actors.Telemetry;

/// <summary>What a run's telemetry starts from: the Worker, its model, the parent span (a delegating tool call, from
/// the message that started the run) and the run it continues (a resume after restart or failover, from the journal).</summary>
public sealed record RunTraceStart(
    string Agent,
    Guid ConversationId,
    string RunKind,
    string Provider,
    string RequestModel,
    bool RecordContent,
    string? ParentTraceParent = null,
    string? ContinuesTraceParent = null,
    string? SystemPrompt = null);

/// <summary>One run's telemetry: the <c>invoke_agent {worker}</c> span, its <c>chat {model}</c> spans (fed by the engine's
/// published events and the observed model stream) and its <c>execute_tool {tool}</c> spans, plus the GenAI metrics.
/// Created by the Worker only when <see cref="YoiTelemetry.Active"/>. Engine and tool callbacks arrive from other
/// threads: the chat state is guarded by a lock; the span itself is never made ambient on the actor thread.</summary>
public sealed class RunTrace
{
    private readonly object _gate = new();
    private readonly RunTraceStart _start;
    private readonly string _provider;
    private readonly ILogger _log;
    private string _trigger;
    private ChatCall? _chat;
    private uint _pendingContinuation;
    private string? _pendingContinuationReason;
    private bool _ended;

    private RunTrace(RunTraceStart start, Activity? activity)
    {
        _start = start;
        _provider = GenAi.Provider(start.Provider);
        _trigger = start.RunKind;
        Activity = activity;
        _log = YoiTelemetry.LoggerFactory.CreateLogger("Yoi.Actors.Worker");
    }

    /// <summary>The <c>invoke_agent</c> span; null when traces are off or not sampled here.</summary>
    public Activity? Activity { get; }

    public bool RecordContent => _start.RecordContent;

    /// <summary>The traceparent to keep in the journal (recorded runs only: a link to an unrecorded span leads nowhere).</summary>
    public string? JournalTraceParent => Activity is { Recorded: true } a ? YoiTelemetry.TraceParentOf(a) : null;

    public static RunTrace? Start(RunTraceStart start)
    {
        if (!YoiTelemetry.Active) return null;
        Activity? activity = null;
        if (YoiTelemetry.Source.HasListeners())
        {
            var parent = YoiTelemetry.ParseTraceParent(start.ParentTraceParent);
            var continued = YoiTelemetry.ParseTraceParent(start.ContinuesTraceParent);
            ActivityLink[]? links = continued == default ? null : [new ActivityLink(continued, new ActivityTagsCollection { ["yoi.link"] = "continues" })];
            activity = YoiTelemetry.StartDetached(GenAi.OperationInvokeAgent + " " + start.Agent, ActivityKind.Internal, parent,
            [
                new(GenAi.OperationName, GenAi.OperationInvokeAgent),
                new(GenAi.AgentName, start.Agent),
                new(GenAi.ConversationId, start.ConversationId.ToString()),
                new(GenAi.ProviderName, GenAi.Provider(start.Provider)),
                new(GenAi.RequestModel, start.RequestModel),
                new(GenAi.RunKind, start.RunKind),
                new(GenAi.RunTrigger, start.RunKind),
            ], links);
            if (activity is { IsAllDataRequested: true } && start.RecordContent && start.SystemPrompt is { } prompt)
                activity.SetTag(GenAi.SystemInstructions, JsonSerializer.Serialize(new[] { new { type = "text", content = prompt } }));
        }
        var trace = new RunTrace(start, activity);
        trace.Log(LogLevel.Information, "run started: worker {Worker} ({Kind})", start.Agent, start.RunKind);
        return trace;
    }

    /// <summary>The run's trigger (user_send, notify, worker_event, …) once its invoke entry is written.</summary>
    public void SetTrigger(InvokeKind trigger)
    {
        _trigger = JsonNamingPolicy.SnakeCaseLower.ConvertName(trigger.ToString());
        Activity?.SetTag(GenAi.RunTrigger, _trigger);
    }

    /// <summary>The run ended: outcome finished / paused / rolled_back / limit_reached / error / stopped.</summary>
    public void End(string outcome, string? errorType = null)
    {
        ChatCall? open;
        lock (_gate)
        {
            if (_ended) return;
            _ended = true;
            open = _chat;
            _chat = null;
        }
        open?.Finish(errorType ?? "interrupted", this);
        YoiTelemetry.Runs.Add(1, new KeyValuePair<string, object?>(GenAi.RunOutcome, outcome), new KeyValuePair<string, object?>(GenAi.RunTrigger, _trigger));
        Log(outcome == "error" ? LogLevel.Warning : LogLevel.Information, "run ended: worker {Worker} {Outcome}", _start.Agent, outcome);
        if (Activity is not { } a) return;
        a.SetTag(GenAi.RunOutcome, outcome);
        if (errorType is not null)
        {
            a.SetTag(GenAi.ErrorType, errorType);
            a.SetStatus(ActivityStatusCode.Error, errorType);
        }
        YoiTelemetry.StopDetached(a);
    }

    /// <summary>Logs with this run's span ambient, so the log record carries its trace and span ids.</summary>
    private void Log(LogLevel level, string message, params object?[] args)
    {
        if (!_log.IsEnabled(level)) return;
        var previous = System.Diagnostics.Activity.Current;
        if (Activity is not null) System.Diagnostics.Activity.Current = Activity;
        try
        {
#pragma warning disable CA2254 // the templates are the constants above
            _log.Log(level, message, args);
#pragma warning restore CA2254
        }
        finally
        {
            System.Diagnostics.Activity.Current = previous;
        }
    }

    // ------------------------------------------------------------------ engine events (TracingTurnHost)

    public void OnEngineEvent(Event e)
    {
        switch (e)
        {
            case LlmCallStartEvent s:
                lock (_gate)
                {
                    if (_ended) return;
                    _chat?.Finish("superseded", this);
                    _chat = new ChatCall(this, s.LlmCall, _pendingContinuation, _pendingContinuationReason);
                    _pendingContinuation = 0;
                    _pendingContinuationReason = null;
                }
                break;
            case LlmCallEndEvent:
                ChatCall? done;
                lock (_gate)
                {
                    done = _chat;
                    _chat = null;
                }
                done?.Finish(null, this);
                break;
            case LlmRetryEvent r:
                YoiTelemetry.LlmRetries.Add(1, new KeyValuePair<string, object?>(GenAi.ProviderName, _provider),
                    new KeyValuePair<string, object?>(GenAi.ErrorType, r.Status is { } st ? st.ToString() : "transport"));
                lock (_gate) _chat?.Retry(r);
                break;
            case LlmContinuationEvent c:
                YoiTelemetry.LlmContinuations.Add(1, new KeyValuePair<string, object?>(GenAi.ProviderName, _provider));
                lock (_gate)
                {
                    _pendingContinuation = c.Attempt;
                    _pendingContinuationReason = c.Reason;
                }
                break;
            case TextDoneEvent t when RecordContent:
                lock (_gate) _chat?.Output.Add(new { type = "text", content = t.Text });
                break;
            case ToolCallDoneEvent tc when RecordContent:
                lock (_gate) _chat?.Output.Add(new { type = "tool_call", id = tc.Id, name = tc.Name, arguments = tc.Arguments });
                break;
        }
    }

    // ------------------------------------------------------------------ model stream (TracedModelClient)

    public void OnRequest(ModelRequest request)
    {
        if (!RecordContent) return;
        lock (_gate)
            if (_chat is { Activity: { IsAllDataRequested: true } a } && a.GetTagItem(GenAi.InputMessages) is null)
                a.SetTag(GenAi.InputMessages, JsonSerializer.Serialize(request.Items, YoiJson.Options));
    }

    public void OnStreamEvent(StreamEvent e)
    {
        lock (_gate)
        {
            if (_chat is not { } chat) return;
            switch (e)
            {
                case StreamResponse r:
                    chat.ResponseId = r.Id ?? chat.ResponseId;
                    chat.ResponseModel = r.Model ?? chat.ResponseModel;
                    break;
                case StreamUsage u:
                    chat.Input = u.InputTokens ?? chat.Input;
                    chat.Output_ = u.OutputTokens ?? chat.Output_;
                    chat.CacheRead = u.CacheReadInputTokens ?? chat.CacheRead;
                    chat.CacheCreation = u.CacheCreationInputTokens ?? chat.CacheCreation;
                    break;
                case BlockStop { StopReason: { } reason }:
                    chat.FinishReason = reason switch
                    {
                        StopReason.EndTurn => "stop",
                        StopReason.MaxTokens => "length",
                        StopReason.StopSequence => "stop",
                        _ => "tool_call",
                    };
                    break;
                case StreamError err:
                    chat.ErrorType = err.Code ?? "stream_error";
                    break;
            }
        }
    }

    public void OnModelFailure(Exception ex)
    {
        lock (_gate)
            if (_chat is { } chat) chat.ErrorType = ErrorTypeOf(ex);
    }

    internal static string ErrorTypeOf(Exception ex) => ex switch
    {
        ModelException { Status: { } status } => status.ToString(),
        ModelException { Code: { } code } => code,
        TimeoutException => "timeout",
        OperationCanceledException => "cancelled",
        _ => ex.GetType().FullName ?? "error",
    };

    // ------------------------------------------------------------------ tools (TracedTool)

    public Activity? StartTool(string tool, string callId, JsonElement input)
    {
        if (Activity is null) return null;
        // Made ambient on purpose: the tool runs in its own task, and a delegating tool reads Activity.Current to hand
        // the child Worker its parent span.
        var a = YoiTelemetry.Source.StartActivity(GenAi.OperationExecuteTool + " " + tool, ActivityKind.Internal, Activity.Context,
        [
            new(GenAi.OperationName, GenAi.OperationExecuteTool),
            new(GenAi.ToolName, tool),
            new(GenAi.ToolCallId, callId),
            new(GenAi.ToolType, "function"),
        ]);
        if (a is { IsAllDataRequested: true } && RecordContent) a.SetTag(GenAi.ToolCallArguments, input.GetRawText());
        return a;
    }

    internal KeyValuePair<string, object?>[] MetricTags(string? responseModel, string? errorType)
    {
        var tags = new List<KeyValuePair<string, object?>>(5)
        {
            new(GenAi.OperationName, GenAi.OperationChat),
            new(GenAi.ProviderName, _provider),
            new(GenAi.RequestModel, _start.RequestModel),
        };
        if (responseModel is not null) tags.Add(new(GenAi.ResponseModel, responseModel));
        if (errorType is not null) tags.Add(new(GenAi.ErrorType, errorType));
        return tags.ToArray();
    }

    /// <summary>One LLM call (retries included), from llm_call_start to llm_call_end or the run's end.</summary>
    private sealed class ChatCall
    {
        private readonly long _started = Stopwatch.GetTimestamp();

        public ChatCall(RunTrace run, ulong llmCall, uint continuation, string? continuationReason)
        {
            if (run.Activity is { } parent)
            {
                Activity = YoiTelemetry.StartDetached(GenAi.OperationChat + " " + run._start.RequestModel, ActivityKind.Client, parent.Context,
                [
                    new(GenAi.OperationName, GenAi.OperationChat),
                    new(GenAi.ProviderName, run._provider),
                    new(GenAi.RequestModel, run._start.RequestModel),
                    new(GenAi.ConversationId, run._start.ConversationId.ToString()),
                    new(GenAi.LlmCall, (long)llmCall),
                ]);
                if (continuation > 0)
                    Activity?.AddEvent(new ActivityEvent("yoi.llm.continuation", tags: new ActivityTagsCollection
                    {
                        ["yoi.attempt"] = (long)continuation,
                        ["yoi.reason"] = run.RecordContent ? continuationReason : null,
                    }));
            }
        }

        public Activity? Activity { get; }
        public List<object> Output { get; } = [];
        public string? ResponseId { get; set; }
        public string? ResponseModel { get; set; }
        public string? FinishReason { get; set; }
        public string? ErrorType { get; set; }
        public ulong? Input { get; set; }
        public ulong? Output_ { get; set; }
        public ulong? CacheRead { get; set; }
        public ulong? CacheCreation { get; set; }

        public void Retry(LlmRetryEvent r) => Activity?.AddEvent(new ActivityEvent("yoi.llm.retry", tags: new ActivityTagsCollection
        {
            ["yoi.attempt"] = (long)r.FailedAttempt,
            ["yoi.max_attempts"] = (long)r.MaxAttempts,
            ["yoi.wait_ms"] = (long)r.WaitMs,
            ["http.response.status_code"] = r.Status is { } s ? (long)s : null,
        }));

        /// <summary><paramref name="failure"/>: why the call did not reach llm_call_end (null: it did).</summary>
        public void Finish(string? failure, RunTrace run)
        {
            var errorType = failure is null ? null : ErrorType ?? failure;
            var tags = run.MetricTags(ResponseModel, errorType);
            YoiTelemetry.OperationDuration.Record(Stopwatch.GetElapsedTime(_started).TotalSeconds, tags);
            if (Input is { } input) YoiTelemetry.TokenUsage.Record((long)input, [.. tags, new(GenAi.TokenType, "input")]);
            if (Output_ is { } output) YoiTelemetry.TokenUsage.Record((long)output, [.. tags, new(GenAi.TokenType, "output")]);
            if (Activity is not { } a) return;
            if (ResponseId is not null) a.SetTag(GenAi.ResponseId, ResponseId);
            if (ResponseModel is not null) a.SetTag(GenAi.ResponseModel, ResponseModel);
            if (FinishReason is not null) a.SetTag(GenAi.ResponseFinishReasons, new[] { FinishReason });
            if (Input is { } i) a.SetTag(GenAi.UsageInputTokens, (long)i);
            if (Output_ is { } o) a.SetTag(GenAi.UsageOutputTokens, (long)o);
            if (CacheRead is { } cr) a.SetTag(GenAi.UsageCacheReadInputTokens, (long)cr);
            if (CacheCreation is { } cc) a.SetTag(GenAi.UsageCacheCreationInputTokens, (long)cc);
            if (run.RecordContent && Output.Count > 0)
                a.SetTag(GenAi.OutputMessages, JsonSerializer.Serialize(new[] { new { role = "assistant", parts = Output, finish_reason = FinishReason } }));
            if (errorType is not null)
            {
                a.SetTag(GenAi.ErrorType, errorType);
                a.SetStatus(ActivityStatusCode.Error, errorType);
            }
            YoiTelemetry.StopDetached(a);
        }
    }
}
