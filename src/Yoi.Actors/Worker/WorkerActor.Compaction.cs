using System.Text.Json;
using Akka.Actor;
using Yoi.Actors.Compaction;
using Yoi.Actors.Engine;
using Yoi.Actors.Manifest;
using Yoi.Messages;

namespace Yoi.Actors.Worker;

// A finished summariser sub-run, back on the actor. Local only (carries exceptions).
internal sealed record CompactionCompleted(int Id, CompactionProduct? Product, CompactionException? Error) : INoSerializationVerificationNeeded;

/// <summary>Compaction, pruning and token accounting (reference-engine §6, §7): manual `compact` (Idle), the proactive
/// pre-run threshold, the mid-run request-threshold safety net (yield → compaction → automatic resume in the new
/// segment), the circuit breaker, progress entries and events. The old segment's entries stay in the journal; the
/// visible projection moves to the new segment (<see cref="SegmentRotated"/>).</summary>
public sealed partial class WorkerActor
{
    public const string CompactionDomain = "yoi.compaction";
    public const int CompactionBreakerLimit = 3;
    public const string CompactThrashText = "compaction thrash: the context is still over request_threshold right after a compaction";

    private int _compactionSeq;
    private int _compactionFailures;
    private bool _compactionDisabled;
    private bool _justCompacted;
    private PendingCompaction? _compaction;

    private sealed record PendingCompaction(int Id, Action<CompactionException?> After);

    private CompactionSection? CompactionSettings => _manifest?.Compaction;

    /// <summary>Registered in every state: the summariser's result.</summary>
    private void CompactionCommands() => Command<CompactionCompleted>(OnCompactionCompleted);

    /// <summary><c>total_tokens()</c> of the visible history with the persisted usage records (greeting, thresholds).</summary>
    private ulong ContextTokens() => TokenAccounting.Total(_state.History, _state.Usage).Tokens;

    // ------------------------------------------------------------------ manual (Idle)

    private void Compact()
    {
        void Skip(string message) => Alert(AlertLevel.Warn, AlertSource.Compactor, message);
        if (CompactionSettings is not { } settings)
        {
            Skip("manual compact is unavailable because [compaction] is not configured");
            return;
        }
        if (_state.History.Count == 0)
        {
            Skip("manual compact skipped: no conversation history to compact");
            return;
        }
        if (_compactionDisabled)
        {
            Skip("manual compact is disabled after repeated compaction failures");
            return;
        }
        if (CompactionSplit.Cut(_state.History, _state.Usage, settings.RetainedTokens) == 0)
        {
            Skip($"manual compact skipped: current context is within the retained tail ({ContextTokens()} <= {settings.RetainedTokens} tokens)");
            return;
        }
        BecomeCompacting(); // executed inline: status stays Idle, methods wait in the stash until it is over
        RunCompaction(CancellationToken.None, error =>
        {
            if (error is not null) Error(error.Code, "Compact failed: " + error.Message);
            BecomeIdle();
            Stash.UnstashAll();
        });
    }

    // ------------------------------------------------------------------ automatic

    /// <summary>Proactive trigger at the start of a run / notification turn / resume: over <c>threshold</c> (and not
    /// disabled, not just compacted) ⇒ compact first; a failure is non-fatal and the run continues on the old segment.
    /// <paramref name="next"/> then runs (synchronously when nothing is done, else in a persist handler).</summary>
    private void PreRunCompaction(Action next)
    {
        if (CompactionSettings is not { Threshold: { } threshold } settings || _compactionDisabled || _justCompacted
            || ContextTokens() <= threshold || CompactionSplit.Cut(_state.History, _state.Usage, settings.RetainedTokens) == 0)
        {
            next();
            return;
        }
        RunCompaction(_run?.Token ?? CancellationToken.None, _ => next());
    }

    /// <summary>The engine's interceptor and host for a run: prune + safety net around <paramref name="inner"/>.</summary>
    private (ITurnHost Host, ITurnInterceptor? Interceptor) WithCompaction(ITurnHost host, ITurnInterceptor? inner)
    {
        if (CompactionSettings is not { } settings) return (host, inner);
        var interceptor = new CompactionInterceptor(settings, _state.Usage.ToList(), inner, _compactionDisabled);
        return (new UsageTrackingHost(host, interceptor), interceptor);
    }

    /// <summary>Run completion, before the ordinary rules: a successful run clears <c>just_compacted</c>; a safety-net
    /// yield is journaled in the old segment (<c>run_completed{interrupted:true, result:"yielded"}</c>), then the
    /// Worker compacts and resumes the same run in the new segment. True when the outcome was taken over.</summary>
    private bool CompactionOnEngineFinished(ActiveRun run, EngineOutcome outcome)
    {
        if (outcome.Result == EngineResult.Finished) _justCompacted = false;
        if (outcome.Result != EngineResult.Yielded || CompactionSettings is null) return false;

        List<IJournalEvent> terminal = [new TurnEndEntry(run.Engine?.TurnCount ?? _state.TurnCount), .. outcome.Usage,
            new RunCompletedEntry(true, EngineResult.Yielded)];
        run.AiActivity = true; // the old segment is closed: nothing to roll back to any more
        CommitAll(terminal, () =>
        {
            if (_justCompacted)
            {
                Alert(AlertLevel.Error, AlertSource.Compactor, CompactThrashText);
                EndRun(run, null, new ErrorEvent(ErrorCode.Internal, CompactThrashText), WorkerStatus.Idle,
                    run.ParentOriginated ? new ErroredWorkerEvent(_name, CompactThrashText) : null);
                return;
            }
            RunCompaction(run.Token, error =>
            {
                if (error is { Kind: CompactionErrorKind.Cancelled } && run.Intent.HasFlag(RunEndIntent.Pause))
                {
                    // Paused while compacting: the turn stays resumable; a resume yields and compacts again.
                    Commit(new RunPaused(Now()), () => EndRun(run, new RunEndEvent(RunResult.Paused), null, WorkerStatus.Paused, null));
                    return;
                }
                if (error is not null)
                {
                    var text = error.Kind == CompactionErrorKind.Cancelled ? "Cancelled" : "Compact failed: " + error.Message;
                    EndRun(run, null, new ErrorEvent(error.Kind == CompactionErrorKind.Cancelled ? ErrorCode.Internal : error.Code, text),
                        WorkerStatus.Idle, run.ParentOriginated ? new ErroredWorkerEvent(_name, text) : null);
                    return;
                }
                Commit(new RunResumed(Now()), StartEngine); // the same logical turn continues in the new segment
            });
        });
        return true;
    }

    // ------------------------------------------------------------------ the compaction itself

    /// <summary>Journals the `running` block in the current segment, emits compact_start and runs the summariser off
    /// the actor; <see cref="OnCompactionCompleted"/> rotates the segment (or records the failure) and then calls
    /// <paramref name="after"/> from a persist handler (so it may persist again).</summary>
    private void RunCompaction(CancellationToken ct, Action<CompactionException?> after)
    {
        var id = ++_compactionSeq;
        var settings = CompactionSettings!;
        Commit(Progress("running", "Compacting…", null, null), () =>
        {
            Broadcast(new CompactStartEvent());
            _compaction = new PendingCompaction(id, after);
            IModelClient model;
            try
            {
                model = CompactionModel(settings);
            }
            catch (Exception e)
            {
                Self.Tell(new CompactionCompleted(id, null, new CompactionException(CompactionErrorKind.Engine, "model client unavailable: " + e.Message,
                    new EngineError(EngineErrorKind.Client, e.Message))));
                return;
            }
            // The summariser reads through the Worker's scope but with its own tracker: its reads do not count as the
            // agent's reads for read-before-write.
            var read = _tools.OfType<Yoi.Actors.Tools.ReadTool>().FirstOrDefault();
            var summariser = new Summariser(model, settings, _runtime.Retry,
                read is null ? null : new Yoi.Actors.Tools.ReadTool(read.Workspace, new Yoi.Actors.Tools.FileTracker()),
                read?.Tracker.RecentPaths.Take(5).ToList());
            var history = _state.History.ToList();
            var usage = _state.Usage.ToList();
            var cacheKey = _state.SegmentId.ToString();
            Task.Run(() => summariser.RunAsync(history, usage, cacheKey, ct), CancellationToken.None).PipeTo(Self,
                success: product => new CompactionCompleted(id, product, null),
                failure: e => new CompactionCompleted(id, null, (e as AggregateException)?.InnerException as CompactionException
                    ?? e as CompactionException
                    ?? (ct.IsCancellationRequested
                        ? new CompactionException(CompactionErrorKind.Cancelled, "Cancelled")
                        : new CompactionException(CompactionErrorKind.Engine, e.Message, new EngineError(EngineErrorKind.Internal, e.Message)))));
        });
    }

    private IModelClient CompactionModel(CompactionSection settings)
    {
        if (settings.Model is { } m && m != _manifest!.Model.ModelId)
            return _runtime.ModelFactory(_manifest with { Model = _manifest.Model with { ModelId = m } }, _name);
        return _model ??= _runtime.ModelFactory(_manifest!, _name);
    }

    private void OnCompactionCompleted(CompactionCompleted c)
    {
        if (_compaction?.Id != c.Id) return;
        var op = _compaction;
        _compaction = null;
        if (c.Product is { } product)
        {
            var oldSegment = _state.SegmentId;
            var newSegment = Guid.CreateVersion7();
            Commit(new SegmentRotated(Now(), newSegment, oldSegment));
            Commit(new SegmentStartEntry(_state.SessionId, _state.SystemPrompt, _state.Config, product.NewHistory,
                CompactedFrom: new SegmentOrigin(oldSegment, _state.TurnCount)), () => Broadcast(new SegmentRotatedEvent(_state.Entries[0])));
            Commit(Progress("done", "Compacted.", null, newSegment), () =>
            {
                Broadcast(new CompactDoneEvent(newSegment));
                if (CompactionSettings?.Automatic == true) _justCompacted = true;
                _compactionFailures = 0;
                op.After(null);
            });
            return;
        }
        var error = c.Error ?? new CompactionException(CompactionErrorKind.Engine, "unknown compaction failure");
        Commit(Progress("failed", "Compact failed: " + error.Message, error.Message, null), () =>
        {
            Broadcast(new CompactFailedEvent(error.Message));
            Alert(AlertLevel.Error, AlertSource.Compactor, "Compact failed: " + error.Message);
            if (error.Kind != CompactionErrorKind.Cancelled && ++_compactionFailures >= CompactionBreakerLimit) _compactionDisabled = true;
            op.After(error);
        });
    }

    /// <summary>The `yoi.compaction` progress block (reference-engine §6.5).</summary>
    private static ExtensionEntry Progress(string state, string message, string? error, Guid? newSegment) =>
        new(CompactionDomain, JsonSerializer.SerializeToElement(new
        {
            kind = "compaction_block",
            schema_version = 1,
            block_id = "compact",
            state,
            message,
            error,
            new_segment_id = newSegment,
        }));
}
