using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence;
using Yoi.Actors.Engine;
using Yoi.Actors.Manifest;
using Yoi.Messages;

namespace Yoi.Actors.Worker;

/// <summary>One Worker: a persistent, sharded actor whose journal is the session log. Become-states
/// Idle / Running / Paused (and Compacting, a manual compaction under way) implement the method × state table of
/// reference-protocol §5.1, all declared in this file; the turn engine runs in a piped task and talks back through
/// <see cref="WorkerTurnHost"/> messages. Each state's handler table is built once (WorkerActor.Handlers).</summary>
public sealed partial class WorkerActor : UntypedPersistentActor, IWithTimers
{
    public ITimerScheduler Timers { get; set; } = null!;

    public const int AlertCapacity = 512;
    private const string AlreadyRunning = "Worker is already executing a turn";
    private const string AlreadyRunningControl = "Worker is already executing a turn; rewind/compact can only run while idle or paused";
    private const string DiscoveryWhileRunning = "Worker discovery/control requests are only handled while the Worker is idle or paused";

    private readonly string _name;
    private readonly WorkerRuntime _runtime;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly HashSet<IActorRef> _clients = [];
    private readonly HashSet<IActorRef> _commitClients = []; // attached with AttachClient.Commits
    private readonly LinkedList<AlertEvent> _alerts = new();
    private readonly InFlightBlocks _inFlight = new();
    private WorkerState _state = new();
    private WorkerManifest? _manifest;
    private IModelClient? _model;
    private IReadOnlyList<ITool> _tools = [];
    private Greeting? _greeting;
    private WorkerStatus _status = WorkerStatus.Idle;
    private ulong _llmCallCount;
    private long _snapshotSeqNr;
    private int _sinceSnapshot;
    /// <summary>Run ids are unique in the process, not per incarnation: after a restart (its own, or its parent's, which
    /// Akka propagates to surviving children) a cancelled engine of the old incarnation still reports to the same
    /// actor ref, and must not be taken for the new incarnation's run.</summary>
    private static int s_runSeq;
    private ActiveRun? _run;

    public WorkerActor(string name, WorkerRuntime runtime)
    {
        _name = name;
        _runtime = runtime;
    }

    /// <summary>Recovery: the latest snapshot, then the events after it.</summary>
    private void Recovering()
    {
        Recover<SnapshotOffer>(offer =>
        {
            _state = WorkerState.FromSnapshot((WorkerSnapshot)offer.Snapshot);
            _snapshotSeqNr = offer.Metadata.SequenceNr;
        });
        Recover<IJournalEvent>(e => _state.Apply(e));
        Recover<RecoveryCompleted>(_ => OnRecovered());
    }

    public override string PersistenceId => "worker|" + _name;

    /// <remarks>Props by type and arguments: the expression form compiles a lambda per call (one DynamicMethod per
    /// Worker spawned).</remarks>
    public static Props Props(string name, WorkerRuntime runtime) => Akka.Actor.Props.Create(typeof(WorkerActor), name, runtime);

    private void OnRecovered()
    {
        _sinceSnapshot = (int)Math.Max(0, LastSequenceNr - _snapshotSeqNr);
        if (_state.Created) Activate(WorkerManifest.FromJson(_state.Manifest));
        if (_state.Paused) BecomePaused(); else BecomeIdle();
        // A run that was in flight when the Worker died (crash, node loss, hand-off) is resumed on request;
        // otherwise it stays interrupted and the next run closes it (interrupt prep).
        if (_state.Created && _state.RunInFlight && !_state.Paused && _manifest!.Session.ResumeOnRecovery)
            StartResumeRun();
        OnDelegationRecovered();
    }

    // ------------------------------------------------------------------ states

    private void BecomeIdle()
    {
        _status = WorkerStatus.Idle;
        SetReceiveTimeout(_runtime.IdlePassivation ?? TimeSpan.FromMinutes(2));
        Become(s_idleHandlers ?? Shared(ref s_idleHandlers, Idle));
    }

    private void BecomePaused()
    {
        _status = WorkerStatus.Paused;
        SetReceiveTimeout(_runtime.IdlePassivation ?? TimeSpan.FromMinutes(2));
        Become(s_pausedHandlers ?? Shared(ref s_pausedHandlers, Paused));
    }

    private void BecomeRunning()
    {
        _status = WorkerStatus.Running;
        SetReceiveTimeout(null);
        Become(s_runningHandlers ?? Shared(ref s_runningHandlers, Running));
    }

    /// <summary>A manual compaction (WorkerActor.Compaction): the status stays Idle, methods wait in the stash.</summary>
    private void BecomeCompacting()
    {
        SetReceiveTimeout(null);
        Become(s_compactingHandlers ?? Shared(ref s_compactingHandlers, Compacting));
    }

    private void Idle()
    {
        CommonCommands();
        Command<ClientMethod>(m =>
        {
            switch (m.Method)
            {
                case RunMethod r: StartUserRun(r.Input, null); break;
                case RunTrackedMethod rt: StartUserRun(rt.Input, [SubmissionExtension(rt.SubmissionId)]); break;
                case NotifyMethod n: Queue(new PendingNotify(n.Message, n.AutoRun), n.AutoRun ? InvokeKind.Notify : null); break;
                case WorkerEventMethod w: OnWorkerEvent(w.Event, wake: true); break;
                case ResumeMethod: Error(ErrorCode.NotPaused, "Worker is not paused"); break;
                case CancelMethod or PauseMethod: Error(ErrorCode.NotRunning, "Worker is not running"); break;
                case CompactMethod: Compact(); break;
                case ListRewindTargetsMethod: Broadcast(Rewind.ListTargets(_state.Entries, _state.SegmentId)); break;
                case RewindToMethod rw: RewindTo(rw); break;
                case ShutdownMethod: ShutDown(); break;
                case ListWorkersMethod or RestoreWorkerMethod or RegisterPeerMethod: DiscoveryMethod(m); break;
                default: CommonMethod(m); break;
            }
        });
        Command<ReceiveTimeout>(_ => PassivateIfUnattended());
    }

    private void Running()
    {
        CommonCommands();
        Command<ClientMethod>(m =>
        {
            var run = _run!;
            switch (m.Method)
            {
                case RunMethod or RunTrackedMethod or ResumeMethod: Error(ErrorCode.AlreadyRunning, AlreadyRunning); break;
                case NotifyMethod n: Queue(new PendingNotify(n.Message, n.AutoRun), wake: null); break;
                case WorkerEventMethod w: OnWorkerEvent(w.Event, wake: false); break;
                case CancelMethod: run.Cancel(); break;
                case PauseMethod: run.Intent |= RunEndIntent.Pause; run.Cancel(); break;
                case ShutdownMethod: run.Intent |= RunEndIntent.Shutdown; run.Cancel(); break;
                case CompactMethod or ListRewindTargetsMethod or RewindToMethod: Error(ErrorCode.AlreadyRunning, AlreadyRunningControl); break;
                case ListWorkersMethod or RestoreWorkerMethod or RegisterPeerMethod: Error(ErrorCode.AlreadyRunning, DiscoveryWhileRunning); break;
                default: CommonMethod(m); break;
            }
        });
    }

    private void Paused()
    {
        CommonCommands();
        Command<ClientMethod>(m =>
        {
            switch (m.Method)
            {
                case RunMethod r: StartUserRun(r.Input, null); break;
                case RunTrackedMethod rt: StartUserRun(rt.Input, [SubmissionExtension(rt.SubmissionId)]); break;
                case NotifyMethod n: Queue(new PendingNotify(n.Message, n.AutoRun), wake: null); break;
                case WorkerEventMethod w: OnWorkerEvent(w.Event, wake: false); break;
                case ResumeMethod: StartResumeRun(); break;
                case CancelMethod: AbandonPausedTurn(); break;
                case PauseMethod: break; // idempotent: no event
                case CompactMethod: Error(ErrorCode.InvalidRequest, "Cannot compact while the Worker is paused; resume or start a fresh turn first"); break;
                case ListRewindTargetsMethod: Broadcast(Rewind.ListTargets(_state.Entries, _state.SegmentId)); break;
                case RewindToMethod: Error(ErrorCode.InvalidRequest, "Cannot apply rewind while the Worker is paused; resume or wait for idle first"); break;
                case ShutdownMethod: ShutDown(); break;
                case ListWorkersMethod or RestoreWorkerMethod or RegisterPeerMethod: DiscoveryMethod(m); break;
                default: CommonMethod(m); break;
            }
        });
        Command<ReceiveTimeout>(_ => PassivateIfUnattended());
    }

    /// <summary>A manual compaction under way: every method waits in the stash until it is over.</summary>
    private void Compacting()
    {
        CommonCommands();
        Command<ClientMethod>(_ => Stash.Stash());
    }

    /// <summary>Accepted in every state (<see cref="CommonCommands"/>): delegation, client attachment, engine reports,
    /// snapshot housekeeping. Order matters where two handlers take the same type: the first match wins, so a child's
    /// Terminated (delegation, with its predicate) is registered before a client's.</summary>
    private void EveryStateCommands()
    {
        DelegationCommands(); // WorkerActor.Delegation: first, see above
        Command<AttachClient>(OnAttach);
        Command<InspectWorker>(i => i.ReplyTo.Tell(Inspect() with { PreviousSegments = _state.PreviousSegments.ToList() }));
        Command<WorkerHandOff>(_ => HandOff());
        Command<DetachClient>(d => Detach(d.Client));
        Command<Terminated>(t => Detach(t.ActorRef));
        Command<CommitItem>(OnCommitItem);
        Command<FlushUnwritten>(OnFlushUnwritten);
        Command<DurabilityBarrier>(OnDurabilityBarrier);
        Command<DrainPending>(OnDrainPending);
        Command<EnginePublished>(OnEnginePublished);
        Command<EngineWarned>(w => { if (w.RunId == _run?.Id) Alert(AlertLevel.Warn, AlertSource.Engine, w.Message); });
        Command<EngineFinished>(OnEngineFinished);
        CompactionCommands();
        Command<SaveSnapshotSuccess>(s => DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(f => _log.Warning(f.Cause, "snapshot of {0} failed", _name));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => _log.Warning(f.Cause, "deleting old snapshots of {0} failed", _name));
    }

    /// <summary>Methods whose handling does not depend on the state.</summary>
    private void CommonMethod(ClientMethod m)
    {
        switch (m.Method)
        {
            case ListCompletionsMethod c:
                m.Client?.Tell(Completions.List(_manifest?.WorkingDirectory, c.Prefix));
                break;
            default:
                // Host-level methods never reach a Worker; a client that sends one gets a clear refusal.
                m.Client?.Tell(new ErrorEvent(ErrorCode.InvalidRequest, $"invalid method: `{m.Method.GetType().Name}` is not a Worker method"));
                break;
        }
    }

    // ------------------------------------------------------------------ clients

    private void OnAttach(AttachClient a)
    {
        if (_state.Created)
        {
            Attach(a.Client, a.Commits);
            return;
        }
        if (a.ManifestToml is null)
        {
            a.Client.Tell(new AttachRejected(_name, new ErrorEvent(ErrorCode.InvalidRequest, $"worker `{_name}` does not exist")));
            PassivateIfUnattended();
            return;
        }
        WorkerManifest manifest;
        try
        {
            manifest = ManifestLoader.Parse(a.ManifestToml, a.ManifestDir ?? Environment.CurrentDirectory, _runtime.CatalogOrBuiltin);
            _runtime.ModelFactory(manifest, _name); // fail now, not at the first run, if the model cannot be built
        }
        catch (Exception e) when (e is ManifestException or IOException or JsonException or ArgumentException or InvalidOperationException)
        {
            a.Client.Tell(new AttachRejected(_name, new ErrorEvent(ErrorCode.InvalidRequest, "invalid manifest: " + e.Message)));
            PassivateIfUnattended();
            return;
        }
        var created = new WorkerCreated(Now(), _name, Guid.CreateVersion7(), Guid.CreateVersion7(), manifest.ToJson());
        Persist(created, e =>
        {
            Applied(e);
            Activate(manifest);
            Attach(a.Client, a.Commits);
        });
    }

    /// <summary>Alert replay, then exactly one snapshot, then live events — atomically, since the actor is
    /// single-threaded: every committed entry is in the snapshot or arrives live, never both.</summary>
    private void Attach(IActorRef client, bool commits = false)
    {
        // A connection re-sends an unanswered attach (its first may have gone to a node that died): the answer to the
        // first is already on its way, in order.
        if (_clients.Contains(client)) return;
        foreach (var alert in _alerts) client.Tell(alert);
        client.Tell(new SnapshotEvent(_state.Entries.ToList(), _greeting! with { ContextTokens = ContextTokens() }, _status, _inFlight.Snapshot()));
        if (_clients.Add(client)) Context.Watch(client);
        if (commits && _commitClients.Add(client)) client.Tell(new JournalCommitted(LastSequenceNr));
    }

    private void Detach(IActorRef client)
    {
        if (_clients.Remove(client)) Context.Unwatch(client);
        _commitClients.Remove(client);
    }

    private void Broadcast(Event e)
    {
        foreach (var client in _clients) client.Tell(e);
    }

    private void Error(ErrorCode code, string message) => Broadcast(new ErrorEvent(code, message));

    private void Alert(AlertLevel level, AlertSource source, string message)
    {
        var alert = new AlertEvent(level, source, message, Now());
        if (_alerts.Count >= AlertCapacity) _alerts.RemoveFirst();
        _alerts.AddLast(alert);
        Broadcast(alert);
    }

    private void PassivateIfUnattended()
    {
        if (_clients.Count == 0 && _run is null && MayPassivate()) Context.Parent.Tell(new Passivate(PoisonPill.Instance));
    }

    // ------------------------------------------------------------------ journal

    /// <summary>Persists one journal event; memory follows only in the persist handler (disk before memory).
    /// The run's unwritten engine items go first, so the journal keeps the order things happened in.</summary>
    private void Commit(IJournalEvent e, Action? then = null)
    {
        WriteUnwritten();
        PersistEntry(e, then);
    }

    private void PersistEntry(IJournalEvent e, Action? then)
    {
        var started = JournalClock(); // WorkerActor.Telemetry
        Persist(Stamp(e), persisted =>
        {
            JournalWritten(started);
            Applied(persisted);
            then?.Invoke();
        });
    }

    /// <summary>Group commit of the engine's items: every Persist issued in one handler goes to the journal as one
    /// write, so the items a fast engine produces between two durability points cost one round trip, not one each.</summary>
    private void WriteUnwritten()
    {
        if (_run is not { Unwritten.Count: > 0 } run) return;
        var entries = run.Unwritten.ToList();
        run.Unwritten.Clear();
        foreach (var entry in entries) PersistEntry(entry, null);
    }

    /// <summary>Persists the events in order; <paramref name="then"/> runs in the last persist handler. Used where
    /// <paramref name="then"/> may persist again (a follow-up run): a Persist issued from a DeferAsync handler leaves
    /// Akka.Persistence's stashing bookkeeping unbalanced and the actor stalls in "persisting events".</summary>
    private void CommitAll(IReadOnlyList<IJournalEvent> events, Action then)
    {
        for (var i = 0; i < events.Count; i++) Commit(events[i], i == events.Count - 1 ? then : null);
    }

    private void Applied(IJournalEvent e)
    {
        switch (e)
        {
            case InvokeEntry when _run is not null:
                _run.RollbackPoint = _state.Entries.Count;
                break;
            case AssistantItemEntry a:
                _inFlight.Committed(a.Item);
                break;
        }
        _state.Apply(e);
        switch (e)
        {
            // Log lane: the live projection of committed entries (never synthetic echoes).
            case InvokeEntry i: Broadcast(new InvokeStartEvent(i.Trigger)); break;
            case UserInputEntry u: Broadcast(new UserMessageEvent(u.Segments)); break;
            case SystemItemEntry s: Broadcast(new SystemItemEvent(s.Item)); break;
        }
        // In a persist handler LastSequenceNr is this record's.
        foreach (var client in _commitClients) client.Tell(new JournalCommitted(LastSequenceNr));
        // The interval grows with the segment (a quarter of its entries, at least SnapshotEvery): each snapshot holds
        // the whole segment, so a fixed interval would make stored bytes per turn grow with history; this keeps them
        // bounded while recovery still replays at most a quarter of the segment after the snapshot.
        if (++_sinceSnapshot >= Math.Max(_runtime.SnapshotEvery, _state.Entries.Count / 4))
        {
            _sinceSnapshot = 0;
            SaveSnapshot(_state.ToSnapshot());
        }
    }

    private static IJournalEvent Stamp(IJournalEvent e) => e is LogEntry { Ts: 0 } entry ? entry with { Ts = Now() } : e;

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    // ------------------------------------------------------------------ runs

    private void StartUserRun(IReadOnlyList<Segment> input, IReadOnlyList<SessionExtension>? extensions)
    {
        BeginRun(RunKind.User);
        foreach (var _ in input.OfType<UnknownSegment>())
            Alert(AlertLevel.Warn, AlertSource.Worker, "received unknown segment kind; it was ignored");
        PrepareRun();
        PreRunCompaction(() =>
        {
            Commit(new InvokeEntry(InvokeKind.UserSend) { TraceParent = TraceInvoke(InvokeKind.UserSend) });
            Commit(new UserInputEntry(input, extensions));
            var refs = Yoi.Actors.Tools.FileRefs.Resolve(input, _manifest!); // file_ref → attachments right after the input
            foreach (var message in refs.Alerts) Alert(AlertLevel.Warn, AlertSource.Worker, message);
            foreach (var attachment in refs.Attachments) Commit(new SystemItemEntry(attachment));
            DeferAsync(0, _ => StartEngine());
        });
    }

    private void StartNotificationRun(InvokeKind trigger)
    {
        BeginRun(RunKind.Notification);
        PrepareRun();
        PreRunCompaction(() =>
        {
            Commit(new InvokeEntry(trigger) { TraceParent = TraceInvoke(trigger) });
            DeferAsync(0, _ => StartEngine());
        });
    }

    private void StartResumeRun()
    {
        BeginRun(RunKind.Resume);
        PreRunCompaction(() =>
        {
            Commit(new RunResumed(Now()));
            DeferAsync(0, _ => StartEngine());
        });
    }

    private void BeginRun(RunKind kind)
    {
        _run = new ActiveRun(Interlocked.Increment(ref s_runSeq), kind);
        StartRunTrace(kind); // WorkerActor.Telemetry
        _inFlight.Clear();
        BecomeRunning();
        Broadcast(new StatusEvent(WorkerStatus.Running));
    }

    /// <summary>Interrupt prep (when the last run was interrupted) and the lazy first segment_start.</summary>
    private void PrepareRun()
    {
        InterruptPrep();
        if (!_state.SegmentStarted)
            Commit(new SegmentStartEntry(_state.SessionId, SystemPrompt(_manifest!), RequestConfigOf(_manifest!), []));
    }

    /// <summary>Closes every unanswered tool call with "[Interrupted by user]" and commits the interrupt note.</summary>
    private void InterruptPrep()
    {
        if (!_state.LastRunInterrupted) return;
        foreach (var call in _state.UnansweredToolCalls())
            Commit(new ToolResultEntry(new ToolResultItem(call.CallId, "[Interrupted by user]")));
        Commit(new SystemItemEntry(new InterruptSystemItem(InterruptSystemItem.DefaultBody)));
    }

    /// <summary>Room for the items of a typical run (a few calls and results) in the engine's history copy.</summary>
    private const int RunHistoryHeadroom = 16;

    private void StartEngine()
    {
        var run = _run!;
        try
        {
            _model ??= _runtime.ModelFactory(_manifest!, _name);
        }
        catch (Exception e)
        {
            Self.Tell(new EngineFinished(run.Id, new EngineOutcome(null, new EngineError(EngineErrorKind.Client, e.Message), [])));
            return;
        }
        // The engine's own copy (it appends while the actor applies the same items from the journal), sized for the
        // run's items: an exact-size copy reallocates at twice the size on the first append.
        var history = new List<HistoryItem>(_state.History.Count + RunHistoryHeadroom);
        history.AddRange(_state.History);
        run.Engine = new EngineState
        {
            History = history,
            TurnCount = _state.TurnCount,
            LlmCallCount = _llmCallCount,
            LastRunInterrupted = _state.LastRunInterrupted,
        };
        var (host, interceptor) = WithCompaction(new WorkerTurnHost(Self, run.Id), Yoi.Actors.Tools.PermissionPolicy.For(_manifest!));
        var (model, tools, tracedHost) = Instrument(_model, _tools, host); // WorkerActor.Telemetry: unchanged when telemetry is off
        var engine = new TurnEngine(model, tools, EngineSettingsOf(_manifest!), tracedHost, run.Engine, interceptor);
        var token = run.Token;
        // The user input is already in history (committed by the Worker), so the engine resumes from it.
        Task.Run(() => engine.RunAsync(null, token)).PipeTo(Self,
            success: outcome => new EngineFinished(run.Id, outcome),
            failure: e => new EngineFinished(run.Id, new EngineOutcome(null, new EngineError(EngineErrorKind.Aborted, "engine failed: " + e.Message), [])));
    }

    /// <summary>An engine item joins the run's unwritten group; the group is written at the next durability point —
    /// before the next LLM call, before a tool with side effects runs, at the run's end — or by the flush timer
    /// (a long read-only tool), whichever is first. An item from a run that has ended is dropped: that engine was
    /// cancelled.</summary>
    private void OnCommitItem(CommitItem c)
    {
        if (c.RunId != _run?.Id) return;
        _run.AiActivity = true;
        _run.Unwritten.Add(c.Entry);
        if (_run.FlushScheduled) return;
        _run.FlushScheduled = true;
        Timers.StartSingleTimer(nameof(FlushUnwritten), new FlushUnwritten(c.RunId), GroupCommitWindow);
    }

    /// <summary>How long an engine item may wait for its group to be written when no durability point comes first
    /// (only a read-only tool runs between an item and the next LLM call).</summary>
    private static readonly TimeSpan GroupCommitWindow = TimeSpan.FromMilliseconds(5);

    private void OnFlushUnwritten(FlushUnwritten f)
    {
        if (f.RunId != _run?.Id) return;
        _run.FlushScheduled = false;
        WriteUnwritten();
    }

    /// <summary>The engine waits here before a tool with side effects runs: everything it handed over is durable.</summary>
    private void OnDurabilityBarrier(DurabilityBarrier b)
    {
        if (b.RunId != _run?.Id)
        {
            b.Done.TrySetException(new InvalidOperationException("the run has ended"));
            return;
        }
        WriteUnwritten();
        DeferAsync(0, _ => b.Done.TrySetResult());
    }

    /// <summary>Before each LLM call: a durability point (the run's unwritten group is written and the engine waits for
    /// it, so the model only ever sees persisted history, as in the reference), then the notify buffer is drained:
    /// each entry committed as its own system item before the engine sees it.</summary>
    private void OnDrainPending(DrainPending d)
    {
        if (d.RunId != _run?.Id)
        {
            d.Done.TrySetResult([]);
            return;
        }
        if (_state.NotifyBuffer.Count == 0)
        {
            if (_run.Unwritten.Count == 0)
            {
                d.Done.TrySetResult([]);
                return;
            }
            WriteUnwritten();
            DeferAsync(0, _ => d.Done.TrySetResult([]));
            return;
        }
        var drained = _state.NotifyBuffer.ToList();
        _run.Drained.AddRange(drained);
        var items = drained.Select(Notifications.Render).ToList();
        Commit(new NotifyDrained(Now(), drained.Count));
        foreach (var item in items) Commit(new SystemItemEntry(item));
        DeferAsync(0, _ => d.Done.TrySetResult(items.Select(i => (HistoryItem)MessageItem.Text(Role.System, i.ReplayText())).ToList()));
    }

    private void OnEnginePublished(EnginePublished p)
    {
        if (p.RunId != _run?.Id) return;
        if (IsAiActivity(p.Event)) _run.AiActivity = true;
        _inFlight.Apply(p.Event);
        Broadcast(p.Event);
    }

    private static bool IsAiActivity(Event e) => e switch
    {
        TextDeltaEvent or ThinkingStartEvent or ThinkingDeltaEvent or ToolCallStartEvent or ToolCallArgsDeltaEvent
            or ToolCallDoneEvent or ToolResultEvent => true,
        TextDoneEvent t => t.Text.Length > 0,
        _ => false,
    };

    /// <summary>Run completion (reference-protocol §5.2): empty user turn → rollback; otherwise the terminal
    /// entries are journaled, then run_end / error, the follow-up rule and the final status.</summary>
    private void OnEngineFinished(EngineFinished f)
    {
        if (f.RunId != _run?.Id) return;
        var run = _run;
        var outcome = f.Outcome;
        if (run.Engine is not null) _llmCallCount = run.Engine.LlmCallCount;
        if (CompactionOnEngineFinished(run, outcome)) return;
        var cancelled = outcome.Error?.Kind == EngineErrorKind.Cancelled;

        if (cancelled && run.Kind == RunKind.User && !run.AiActivity)
        {
            // Notifications drained into the discarded turn go back to the buffer: none is lost.
            CommitAll([new EntriesDiscarded(Now(), _state.SegmentId, run.RollbackPoint, DiscardReason.Rollback),
                    .. run.Drained.Select(entry => new NotifyQueued(Now(), entry))],
                () => EndRun(run, new RunEndEvent(RunResult.RolledBack), null, WorkerStatus.Idle, null));
            return;
        }

        var pausedByUser = cancelled && run.Intent.HasFlag(RunEndIntent.Pause);
        var pausedByEngine = outcome.Result is EngineResult.Paused or EngineResult.Yielded;
        List<IJournalEvent> terminal = [new TurnEndEntry(run.Engine?.TurnCount ?? _state.TurnCount), .. outcome.Usage];
        terminal.Add(outcome.Error is { } error
            ? new RunErroredEntry(true, error.Display)
            : new RunCompletedEntry(pausedByEngine, outcome.Result!.Value));
        if (pausedByUser || pausedByEngine) terminal.Add(new RunPaused(Now()));

        CommitAll(terminal, () =>
        {
            if (pausedByUser || pausedByEngine)
                EndRun(run, new RunEndEvent(RunResult.Paused), null, WorkerStatus.Paused, null);
            else if (outcome.Error is { } err)
                EndRun(run, null, new ErrorEvent(err.Code, err.Display), WorkerStatus.Idle,
                    run.ParentOriginated ? new ErroredWorkerEvent(_name, err.Display) : null);
            else if (outcome.Result == EngineResult.LimitReached)
                EndRun(run, new RunEndEvent(RunResult.LimitReached), null, WorkerStatus.Idle, null);
            else
                EndRun(run, new RunEndEvent(RunResult.Finished), null, WorkerStatus.Idle,
                    run.ParentOriginated ? new TurnEndedWorkerEvent(_name) : null);
        });
    }

    private void EndRun(ActiveRun run, RunEndEvent? runEnd, ErrorEvent? error, WorkerStatus status, WorkerEvent? upward)
    {
        if (runEnd is not null) Broadcast(runEnd);
        if (error is not null) Broadcast(error);
        if (upward is not null) ReportUpward(upward);
        EndRunTrace(runEnd, error); // WorkerActor.Telemetry
        _run = null;
        run.Dispose();
        _inFlight.Clear();

        if (!run.Intent.HasFlag(RunEndIntent.Shutdown) && status == WorkerStatus.Idle && _state.HasAutoRunPending)
        {
            Broadcast(new StatusEvent(WorkerStatus.Running)); // follow-up turn: no Idle in between
            StartNotificationRun(InvokeKind.Notify);
            return;
        }
        Broadcast(new StatusEvent(status));
        if (status == WorkerStatus.Paused) BecomePaused(); else BecomeIdle();
        if (run.Intent.HasFlag(RunEndIntent.Shutdown)) ShutDown();
    }

    /// <summary>Cancel while Paused: close the interrupted turn and record that it was abandoned.</summary>
    private void AbandonPausedTurn()
    {
        InterruptPrep();
        Commit(new PausedTurnAbandonedEntry());
        DeferAsync(0, _ =>
        {
            _inFlight.Clear();
            BecomeIdle();
            Broadcast(new StatusEvent(WorkerStatus.Idle));
        });
    }

    // ------------------------------------------------------------------ notify, control

    /// <summary>Pushes onto the journaled notify buffer; <paramref name="wake"/> stages a notification turn.</summary>
    private void Queue(PendingNotification entry, InvokeKind? wake) =>
        Commit(new NotifyQueued(Now(), entry), () =>
        {
            if (wake is { } trigger && _status == WorkerStatus.Idle && _run is null) StartNotificationRun(trigger);
        });

    private void OnWorkerEvent(WorkerEvent e, bool wake)
    {
        if (!e.IsAgentVisible) return; // control-plane only: no buffer entry, no turn
        Queue(new PendingWorkerEvent(e), wake ? InvokeKind.WorkerEvent : null);
    }

    private void RewindTo(RewindToMethod request)
    {
        var valid = Rewind.Validate(_state.Entries, _state.SegmentId, request, out var error);
        if (valid is not { } v)
        {
            Error(ErrorCode.InvalidRequest, error!);
            return;
        }
        var before = _state.Entries.Count;
        Commit(new EntriesDiscarded(Now(), _state.SegmentId, v.Keep, DiscardReason.Rewind), () =>
        {
            Broadcast(new RewindAppliedEvent(_state.Entries.ToList(), v.Input.Segments,
                new RewindSummary(v.Keep, before - v.Keep, v.Warning)));
            _inFlight.Clear();
            Broadcast(new StatusEvent(WorkerStatus.Idle));
        });
    }

    private void ShutDown()
    {
        Broadcast(new ShutdownEvent());
        ReportUpward(new ShutDownWorkerEvent(_name));
        foreach (var client in _clients) Context.Unwatch(client);
        _clients.Clear();
        _commitClients.Clear();
        StopOrPassivate(); // WorkerActor.Delegation: a child stops, a top-level Worker passivates
    }

    /// <summary>The shard moves to another node: stop now. Everything committed is in the journal; a run in
    /// flight restores there as interrupted (or resumes, with resume_on_recovery).</summary>
    private void HandOff()
    {
        _run?.Cancel();
        if (_run is { Unwritten.Count: > 0 })
        {
            WriteUnwritten(); // the engine's unwritten group is part of the run: journal it before stopping
            DeferAsync(0, _ => Context.Stop(Self));
        }
        else
            Context.Stop(Self);
    }

    /// <summary>Child → parent reports. A top-level Worker has no parent to tell.</summary>
    private void ReportUpward(WorkerEvent e) => ReportToParent(e); // WorkerActor.Delegation

    // ------------------------------------------------------------------ configuration

    private void Activate(WorkerManifest manifest)
    {
        _manifest = manifest;
        _tools = CreateTools(manifest); // WorkerActor.Delegation: loan-aware builtin tools + delegation tools
        try
        {
            _model = _runtime.ModelFactory(manifest, _name);
        }
        catch (Exception e)
        {
            _model = null; // retried at the next run, which reports the failure as a provider error
            Alert(AlertLevel.Error, AlertSource.Worker, "model client unavailable: " + e.Message);
        }
        // the catalog's provider id (`openrouter`) when the model came from a ref, else the scheme
        _greeting = new Greeting(_name, manifest.WorkingDirectory, manifest.Model.Provider ?? _model?.Provider ?? manifest.Model.Scheme,
            _model?.Model ?? manifest.Model.ModelId ?? "", Yoi.Actors.Tools.BuiltinTools.ScopeSummary(manifest),
            _tools.Select(t => t.Name).Order(StringComparer.Ordinal).ToList(), manifest.ContextWindow);
    }

    private EngineSettings EngineSettingsOf(WorkerManifest m) => new(
        _state.SystemPrompt ?? SystemPrompt(m),
        _state.Config,
        m.Engine.MaxTurns,
        new ToolOutputLimits(m.Engine.ToolOutputDefaultMaxBytes, m.Engine.ToolOutputPerTool),
        _runtime.Retry,
        CacheKey: _state.SegmentId.ToString());

    private string SystemPrompt(WorkerManifest m) => m.Engine.Instruction
        ?? $"You are {_name}, an agent hosted by Yoi.Actors. Work on the user's requests carefully and use your tools when they help.";

    private static RequestConfig RequestConfigOf(WorkerManifest m) =>
        new(m.Engine.MaxTokens, m.Engine.Temperature, m.Engine.TopP, m.Engine.TopK, m.Engine.StopSequences ?? [], m.Engine.Reasoning);

    private static SessionExtension SubmissionExtension(string submissionId) =>
        new("worker.input-submission.v1", JsonSerializer.SerializeToElement(new { submission_id = submissionId }));

    private static string Wire(WorkerStatus s) => s.ToString().ToLowerInvariant();

    protected override void PostStop()
    {
        StopTelemetry(); // WorkerActor.Telemetry
        _run?.Dispose();
        // MCP server processes belong to this incarnation: stop them with it.
        foreach (var connection in _tools.OfType<Tools.McpTool>().Select(t => t.Connection).Distinct())
            _ = connection.DisposeAsync().AsTask();
        base.PostStop();
    }

    private enum RunKind { User, Resume, Notification }

    /// <summary>How the client asked the run to end, besides cancelling it (both may be asked: pause, then shutdown).</summary>
    [Flags]
    private enum RunEndIntent { None = 0, Pause = 1, Shutdown = 2 }

    /// <summary>The run in flight: its cancel signal, what was asked of it, and what rollback needs.</summary>
    private sealed class ActiveRun(int id, RunKind kind) : IDisposable
    {
        private readonly CancellationTokenSource _cts = new();
        public int Id { get; } = id;
        public RunKind Kind { get; } = kind;
        public CancellationToken Token => _cts.Token;
        public EngineState? Engine { get; set; }
        public int RollbackPoint { get; set; }
        public bool AiActivity { get; set; }
        public RunEndIntent Intent { get; set; }
        public List<PendingNotification> Drained { get; } = [];

        /// <summary>Engine items not yet handed to the journal (group commit), in the order the engine produced them.</summary>
        public List<LogEntry> Unwritten { get; } = [];
        public bool FlushScheduled { get; set; }

        /// <summary>`run` and `resume` report upward; notification turns are silent.</summary>
        public bool ParentOriginated => Kind != RunKind.Notification;

        public void Cancel() => _cts.Cancel();
        public void Dispose() => _cts.Dispose();
    }

    /// <summary>The answer to <see cref="InspectWorker"/>: read-only; a Worker that does not exist passivates.</summary>
    private WorkerInspection Inspect()
    {
        var node = Akka.Cluster.Cluster.Get(Context.System).SelfAddress.ToString();
        if (!_state.Created) PassivateIfUnattended();
        return new WorkerInspection(_name, _state.Created, _status, node, _state.SessionId, _state.SegmentId,
            _state.Entries.Count, _state.TurnCount, _state.NotifyBuffer.Count, _clients.Count, ChildNames(), LoanDescriptions(),
            _state.Created ? _state.Manifest.GetRawText() : null);
    }
}
