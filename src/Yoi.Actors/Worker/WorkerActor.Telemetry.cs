using System.Diagnostics;
using System.Text.Json;
using Akka.Actor;
using Yoi.Actors.Delegation;
using Yoi.Actors.Engine;
using Yoi.Actors.Telemetry;
using Yoi.Messages;

namespace Yoi.Actors.Worker;

/// <summary>Telemetry of a Worker (README "Observability"): one <c>invoke_agent</c> span per run, its chat and tool spans
/// through per-run wrappers of the model, the tools and the engine host, the trace context carried in our own messages
/// (a child's or peer's run is a child of the delegating <c>execute_tool</c> span, on any node) and the journaled
/// traceparent a resumed run links to. With nothing listening (<see cref="YoiTelemetry.Active"/> false) no wrapper is
/// built and no field is journaled.</summary>
public sealed partial class WorkerActor
{
    private RunTrace? _runTrace;
    /// <summary>The traceparent of the message being handled (a run or tool call started from another span).</summary>
    private string? _inboundTraceParent;
    /// <summary>The traceparent of an auto-run notification: its run starts once the notification is journaled.</summary>
    private string? _wakeTraceParent;
    /// <summary>Child (full name) → the SpawnWorker span that asked for it, until the child's first run is sent.</summary>
    private Dictionary<string, string>? _spawnTraces;
    private string _nodeAddress = "";

    protected override bool AroundReceive(Receive receive, object message)
    {
        switch (message)
        {
            case ClientMethod { TraceParent: { } tp } m:
                _inboundTraceParent = tp;
                if (m.Method is NotifyMethod { AutoRun: true } or WorkerEventMethod) _wakeTraceParent = tp;
                break;
            case DelegationRequest { TraceParent: { } tp } request:
                _inboundTraceParent = tp;
                if (request is SpawnWorkerRequest spawn) RememberSpawnTrace(spawn.Name, tp);
                break;
        }
        try
        {
            return base.AroundReceive(receive, message);
        }
        finally
        {
            _inboundTraceParent = null;
        }
    }

    protected override void PreStart()
    {
        _nodeAddress = Akka.Cluster.Cluster.Get(Context.System).SelfAddress.ToString();
        YoiTelemetry.RegisterWorker(this, () => (_nodeAddress, Wire(_status)));
        base.PreStart();
    }

    /// <summary>Called when a run begins (<c>BeginRun</c>).</summary>
    private void StartRunTrace(RunKind kind)
    {
        _runTrace?.End("superseded");
        _runTrace = null;
        if (!YoiTelemetry.Active || _manifest is not { } m) return;
        string? parent = kind == RunKind.Notification ? Interlocked.Exchange(ref _wakeTraceParent, null) : _inboundTraceParent;
        _runTrace = RunTrace.Start(new RunTraceStart(
            _name, _state.SessionId, JsonNamingPolicy.SnakeCaseLower.ConvertName(kind.ToString()),
            _model?.Provider ?? m.Model.Scheme, _model?.Model ?? m.Model.ModelId ?? "", m.Telemetry?.RecordContent ?? false,
            ParentTraceParent: parent,
            ContinuesTraceParent: kind == RunKind.Resume ? LastJournaledTraceParent() : null,
            SystemPrompt: _state.SystemPrompt ?? SystemPrompt(m)));
    }

    /// <summary>The run's invoke entry is about to be written: its trigger goes on the span, and the span's traceparent
    /// into the entry (optional field) so a run resumed from this journal can link to it.</summary>
    private string? TraceInvoke(InvokeKind trigger)
    {
        _runTrace?.SetTrigger(trigger);
        return _runTrace?.JournalTraceParent;
    }

    private string? LastJournaledTraceParent()
    {
        for (var i = _state.Entries.Count - 1; i >= 0; i--)
            if (_state.Entries[i] is InvokeEntry invoke) return invoke.TraceParent;
        return null;
    }

    /// <summary>The run's model, tools and host as the engine gets them: wrapped when telemetry is on.</summary>
    private (IModelClient Model, IReadOnlyList<ITool> Tools, ITurnHost Host) Instrument(IModelClient model, IReadOnlyList<ITool> tools, ITurnHost host)
    {
        if (_runTrace is not { } trace) return (model, tools, host);
        return (new TracedModelClient(model, trace), tools.Select(t => (ITool)new TracedTool(t, trace)).ToList(), new TracingTurnHost(host, trace));
    }

    /// <summary>Called when a run ends (<c>EndRun</c>), or with nulls when the Worker stops mid-run.</summary>
    private void EndRunTrace(RunEndEvent? runEnd, ErrorEvent? error)
    {
        if (_runTrace is not { } trace) return;
        _runTrace = null;
        if (error is not null) trace.End("error", JsonNamingPolicy.SnakeCaseLower.ConvertName(error.Code.ToString()));
        else if (runEnd is not null) trace.End(JsonNamingPolicy.SnakeCaseLower.ConvertName(runEnd.Result.ToString()));
        else trace.End("stopped", "worker_stopped");
    }

    private void StopTelemetry()
    {
        EndRunTrace(null, null);
        YoiTelemetry.UnregisterWorker(this);
    }

    private void RememberSpawnTrace(string child, string traceParent) =>
        (_spawnTraces ??= new(StringComparer.Ordinal))[FullChildName(child)] = traceParent;

    /// <summary>The traceparent for a spawned child's first run (the SpawnWorker span), once.</summary>
    private string? TakeSpawnTrace(string child) => _spawnTraces is { } traces && traces.Remove(child, out var tp) ? tp : null;

    /// <summary>Journal write latency: the persist call's timestamp, only when the histogram is listened to.</summary>
    private static long JournalClock() => YoiTelemetry.JournalWriteDuration.Enabled ? Stopwatch.GetTimestamp() : 0;

    private static void JournalWritten(long started)
    {
        if (started != 0) YoiTelemetry.JournalWritten(started);
    }
}
