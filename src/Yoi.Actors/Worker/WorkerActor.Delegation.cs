using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Yoi.Actors.Delegation;
using Yoi.Actors.Engine;
using Yoi.Actors.Hosting;
using Yoi.Actors.Manifest;
using Yoi.Actors.Scope;
using Yoi.Messages;
using Yoi.Messages.Json;

namespace Yoi.Actors.Worker;

/// <summary>Delegation as supervision (reference-delegation §1–§5, spec README mapping): children are persistent child
/// actors (full name <c>parent/child</c>, persistence id <c>worker|parent/child</c>) created by SpawnWorker, supervised
/// (restart from the journal up to a limit, then stop); the child registry and its write loans are journaled; reports
/// go up through a journaled outbox and are deduplicated by delivery id; envelopes for descendants are forwarded down.
/// This partial routes, persists and supervises; the decisions are pure (<see cref="SpawnPlan"/>, <see cref="Discovery"/>)
/// and every way a child goes away ends in <see cref="ReclaimChild"/>.</summary>
public sealed partial class WorkerActor
{
    public const int ChildRestartLimit = 3;
    private static readonly TimeSpan ChildRestartWindow = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan ReportResendInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan AllocationTimeout = TimeSpan.FromSeconds(10);

    private readonly Dictionary<string, PendingSpawn> _pendingSpawns = new(StringComparer.Ordinal);
    private readonly HashSet<string> _restoreProbes = new(StringComparer.Ordinal);
    private bool _restorePruned;

    /// <summary>The weak notification of reference-delegation §1.8 (restore-time reclaim of unreachable children).</summary>
    public const string RestorePrunedNotice =
        "Restored Worker state contained missing or unreachable delegated child Workers; their delegated write scopes were reclaimed before resume.";
    private long _nextDeliveryId;
    private WriteLoans? _loans;

    private sealed record PendingSpawn(IActorRef ReplyTo, IActorRef Child, string Task, IReadOnlyList<ScopeRule> Scope);

    /// <summary>This Worker's name, for the name arithmetic (short name, children, descendants).</summary>
    private WorkerName Me => new(_name);

    /// <summary>A child Worker: its name has a parent segment. Its actor parent is the parent Worker.</summary>
    private bool IsChild => Me.IsChild;

    private DelegationState Delegation => _state.Delegation;

    private string FullChildName(string shortName) => Me.Child(shortName);

    protected override SupervisorStrategy SupervisorStrategy() => new ChildSupervisorStrategy(Self, ChildRestartLimit, ChildRestartWindow);

    /// <summary>Children survive their parent's restart (the parent recovers and finds them); the default would stop them.</summary>
    protected override void PreRestart(Exception reason, object message)
    {
        _run?.Cancel();
        PostStop(); // the report resend timer goes with the incarnation (Timers)
    }

    /// <summary>Called first from <see cref="EveryStateCommands"/> (every state): its child Terminated (with a predicate) must
    /// precede the client one.</summary>
    private void DelegationCommands()
    {
        Command<Terminated>(t => OnChildTerminated(t.ActorRef), t => IsMyChild(t.ActorRef));
        Command<ProbeChild>(_ => Sender.Tell(new ChildProbed(_name, _state.Created)));
        Command<ChildProbed>(OnChildProbed);
        Command<RestoreChecked>(OnRestoreChecked);
        Command<WorkerEnvelope>(ForwardDown);
        Command<CreateChildWorker>(OnCreateChild);
        Command<ChildStarted>(OnChildStarted);
        Command<ChildStartFailed>(OnChildStartFailed);
        Command<ChildReport>(OnChildReport);
        Command<ChildReportAck>(OnReportAck);
        Command<ResendReports>(_ => SendOutbox());
        Command<ChildFailed>(OnChildFailed);
        Command<SpawnWorkerRequest>(r => Spawn(r, Sender));
        Command<ResolveWorkerRequest>(r => Reply(Sender, Discovery.ResolveChild(r.Name, Me, Delegation), c => new DelegationToolReply("", c.Name)));
        Command<StopWorkerRequest>(r => StopChild(r, Sender));
        Command<ListWorkersRequest>(_ => ListWorkersTool(Sender));
        Command<RestoreWorkerRequest>(r => RestoreTool(r, Sender));
        Command<SendToPeerRequest>(r => SendToPeer(r, Sender));
        Command<SpawnReserved>(OnSpawnReserved);
        Command<PeerChecked>(OnPeerChecked);
        Command<AddPeer>(p => { if (_state.Created && !Delegation.Peers.Contains(p.Name) && p.Name != _name) Commit(new PeerAdded(Now(), p.Name)); });
        Command<InjectWorkerFailure>(f => throw new InvalidOperationException("injected failure: " + f.Reason));
    }

    private bool IsMyChild(IActorRef r) => r.Path.Parent.Equals(Self.Path);

    /// <summary>The tools of this Worker: builtin tools that see the write loans, plus the delegation tools when
    /// `[feature.workers]` is enabled.</summary>
    private IReadOnlyList<ITool> CreateTools(WorkerManifest manifest)
    {
        _loans ??= new WriteLoans(this);
        var tools = _runtime.LoanAwareToolFactory is { } f ? f(manifest, _loans) : _runtime.ToolFactory(manifest);
        if (manifest.Workers is { Enabled: true })
            tools = [.. tools, .. DelegationTools.Create(Self, Context.System, Me).Where(t => tools.All(x => x.Name != t.Name))];
        return tools;
    }

    private sealed class WriteLoans(WorkerActor worker) : IWriteLoans
    {
        public bool AnyWriteLoan => worker._state.Delegation.LoanedWriteRules.Count > 0;
        public IReadOnlyList<ScopeRule> LoanedWriteRules => worker._state.Delegation.LoanedWriteRules;
    }

    private IActorRef? Allocation => ActorRegistry.For(Context.System).TryGet<AllocationRegistry>(out var a) ? a : null;

    private IActorRef Region => ActorRegistry.For(Context.System).Get<WorkerRegion>();

    /// <summary>After recovery: re-create the registered children (each recovers from its own journal), re-register
    /// their loans in the node's allocation table and resend any unacknowledged report.</summary>
    private void OnDelegationRecovered()
    {
        _nextDeliveryId = Delegation.NextDeliveryId;
        foreach (var child in Delegation.Children)
        {
            var shortName = new WorkerName(child.Name).Short;
            var actor = Context.Child(shortName);
            if (actor.IsNobody()) actor = Context.ActorOf(Props(child.Name, _runtime), shortName);
            Context.Watch(actor);
            Allocation?.Tell(new ReserveAllocation(_name, child.Name, child.Scope, Restore: true));
            _restoreProbes.Add(child.Name);
            actor.Tell(ProbeChild.Instance);
        }
        // A parent-originated run interrupted by a restart (this child's own, its parent's — Akka restarts a restarting
        // parent's children — or the node's) and not resumed: the parent hears of it once, as errored.
        if (IsChild && _state.Created && _state.RunInFlight && !_state.Paused && !_manifest!.Session.ResumeOnRecovery
            && Delegation.ParentOriginatedRun && !Delegation.InterruptReported)
            ReportToParent(new ErroredWorkerEvent(_name, DelegationState.InterruptedReport));
        SendOutbox();
    }

    /// <summary>Restore-time reclaim (§1.8): a registered child whose journal does not hold a Worker (state missing) or
    /// that stops during its recovery is pruned: registry removal, loan and allocation reclaimed, no shut_down report.
    /// Once every child has answered, one weak notification (no auto-run) tells the model.</summary>
    private void OnChildProbed(ChildProbed p)
    {
        if (!_restoreProbes.Contains(p.Name)) return;
        if (p.Exists)
        {
            _restoreProbes.Remove(p.Name);
            FinishRestoreProbes();
            return;
        }
        var actor = Context.Child(new WorkerName(p.Name).Short);
        if (!actor.IsNobody())
        {
            Context.Unwatch(actor);
            Context.Stop(actor);
        }
        PruneUnreachable(p.Name);
    }

    private void PruneUnreachable(string full)
    {
        _restoreProbes.Remove(full);
        if (Delegation.Child(full) is not null) _restorePruned = true;
        ReclaimChild(full, "unreachable at restore", FinishRestoreProbes);
    }

    private void FinishRestoreProbes()
    {
        if (_restoreProbes.Count > 0 || !_restorePruned) return;
        _restorePruned = false;
        Queue(new PendingNotify(RestorePrunedNotice, false), wake: null);
    }

    /// <summary>A parent is never passivated while it has children (they would stop with it); a child never passivates.</summary>
    private bool MayPassivate() => !IsChild && Delegation.Children.Count == 0 && _pendingSpawns.Count == 0;

    /// <summary>ShutDown: a child stops (its parent sees Terminated: registry removal, reclaim, "has stopped"); a
    /// top-level Worker passivates, and its subtree stops with it.</summary>
    private void StopOrPassivate()
    {
        if (IsChild) Context.Stop(Self);
        else Context.Parent.Tell(new Passivate(PoisonPill.Instance));
    }

    // ------------------------------------------------------------------ routing

    /// <summary>An envelope for a descendant: forward it down one level (the inner message once it is the target).</summary>
    private void ForwardDown(WorkerEnvelope env)
    {
        if (env.WorkerName == _name)
        {
            Self.Forward(env.Message);
            return;
        }
        var target = new WorkerName(env.WorkerName);
        if (!target.IsBelow(Me)) return;
        var next = target.NextBelow(Me);
        var child = next.Short.Length == 0 ? ActorRefs.Nobody : Context.Child(next.Short);
        if (child.IsNobody() || Delegation.Child(next) is null && !_pendingSpawns.ContainsKey(next))
        {
            var missing = new ErrorEvent(ErrorCode.InvalidRequest, $"worker `{env.WorkerName}` does not exist");
            switch (env.Message)
            {
                case AttachClient a: a.Client.Tell(new AttachRejected(env.WorkerName, missing)); break;
                case ClientMethod { Client: { } c }: c.Tell(missing); break;
                case InspectWorker i: i.ReplyTo.Tell(new WorkerInspection(env.WorkerName, false, WorkerStatus.Idle, "", Guid.Empty, Guid.Empty, 0, 0, 0, 0, [], [], null)); break;
            }
            if (!_state.Created) PassivateIfUnattended();
            return;
        }
        if (next == target) child.Forward(env.Message);
        else child.Forward(env);
    }

    // ------------------------------------------------------------------ child side: creation and reports

    private void OnCreateChild(CreateChildWorker c)
    {
        var parent = Sender;
        if (_state.Created)
        {
            parent.Tell(new ChildStarted(_name));
            return;
        }
        WorkerManifest manifest;
        try
        {
            using var doc = JsonDocument.Parse(c.ManifestJson);
            manifest = WorkerManifest.FromJson(doc.RootElement);
            _runtime.ModelFactory(manifest, _name);
        }
        catch (Exception e)
        {
            parent.Tell(new ChildStartFailed(_name, e.Message));
            return;
        }
        Persist(new WorkerCreated(Now(), _name, Guid.CreateVersion7(), Guid.CreateVersion7(), manifest.ToJson()), e =>
        {
            Applied(e);
            Activate(manifest);
            parent.Tell(new ChildStarted(_name));
        });
    }

    /// <summary>turn_ended / errored go into the journaled outbox, then to the parent until acknowledged. shut_down is
    /// the parent's own observation (Terminated), so it is not sent. Top-level Workers send nothing.</summary>
    private void ReportToParent(WorkerEvent e)
    {
        if (!IsChild || e is ShutDownWorkerEvent) return;
        var id = _nextDeliveryId = Math.Max(_nextDeliveryId, Delegation.NextDeliveryId);
        _nextDeliveryId++;
        Commit(new ReportQueued(Now(), id, e), SendOutbox);
    }

    private void SendOutbox()
    {
        if (!IsChild || Delegation.Outbox.Count == 0) return;
        foreach (var entry in Delegation.Outbox) Context.Parent.Tell(new ChildReport(_name, entry.DeliveryId, entry.Event));
        if (!Timers.IsTimerActive(nameof(ResendReports)))
            Timers.StartSingleTimer(nameof(ResendReports), ResendReports.Instance, ReportResendInterval);
    }

    private void OnReportAck(ChildReportAck ack)
    {
        if (Delegation.Outbox.Any(o => o.DeliveryId <= ack.DeliveryId)) Commit(new ReportDelivered(Now(), ack.DeliveryId));
    }

    // ------------------------------------------------------------------ parent side: reports, failures, stops

    /// <summary>Each report is taken exactly once: its delivery id is journaled with the notify entry; a redelivery is
    /// acknowledged and dropped.</summary>
    private void OnChildReport(ChildReport r)
    {
        var sender = Sender;
        if (Delegation.LastDelivered.TryGetValue(r.Child, out var last) && r.DeliveryId <= last)
        {
            sender.Tell(new ChildReportAck(r.DeliveryId));
            return;
        }
        Commit(new ChildReportReceived(Now(), r.Child, r.DeliveryId), () =>
        {
            sender.Tell(new ChildReportAck(r.DeliveryId));
            if (r.Event is ScopeSubDelegatedWorkerEvent sd) OnSubDelegated(sd);
            else OnWorkerEvent(r.Event, wake: true);
        });
    }

    /// <summary>§3.4: record the descendant (idempotent: a duplicate changes nothing and goes no further), then, if this
    /// Worker has a parent, re-emit upward with <c>parent_worker</c> = this Worker. No loan changes, no notification.</summary>
    private void OnSubDelegated(ScopeSubDelegatedWorkerEvent e)
    {
        if (!new WorkerName(e.SubWorker).IsBelow(Me)) return; // not below this Worker
        if (Delegation.Descendant(e.SubWorker) is not null || Delegation.Child(e.SubWorker) is not null) return;
        Commit(new SubDelegationRecorded(Now(), e.ParentWorker, e.SubWorker, e.Scope), () =>
            ReportToParent(e with { ParentWorker = _name }));
    }

    private void OnChildFailed(ChildFailed f)
    {
        var full = FullChildName(f.ChildActorName);
        // Stopped at the limit: Terminated follows (registry removal, reclaim, shut_down).
        OnWorkerEvent(new ErroredWorkerEvent(full, f.Restarted
            ? $"worker failed ({f.Error}); restarted from its journal"
            : $"worker failed ({f.Error}); restart limit reached ({ChildRestartLimit} within {ChildRestartWindow.TotalMinutes:0} min), stopped"), wake: true);
    }

    private void OnChildTerminated(IActorRef child)
    {
        var full = FullChildName(child.Path.Name);
        if (_restoreProbes.Contains(full))
        {
            PruneUnreachable(full); // stopped during its recovery: unreachable at restore
            return;
        }
        if (_pendingSpawns.Remove(full, out var pending))
        {
            ReleaseReservation(full);
            pending.ReplyTo.Tell(DelegationToolReply.Fail(ToolErrorKind.ExecutionFailed, $"spawned worker `{child.Path.Name}` did not start: it stopped during start"));
            return;
        }
        ReclaimChild(full, "stopped", () => OnWorkerEvent(new ShutDownWorkerEvent(full), wake: true));
    }

    // ------------------------------------------------------------------ reclaim

    /// <summary>The one way a child leaves the registry — stopped (StopWorker, its own shutdown, failure past the restart
    /// limit: all end in Terminated) or pruned at restore: <see cref="ChildRemoved"/> is journaled, which ends its loans
    /// (the loans are a projection of the registry), then the node's allocation table drops it and its subtree. A
    /// descendant's record is dropped the same way, but its allocation is its own parent's to release. A name that is in
    /// neither list was reclaimed already: only <paramref name="then"/> runs.</summary>
    private void ReclaimChild(string full, string reason, Action? then = null)
    {
        var direct = Delegation.Child(full) is not null;
        if (!direct && Delegation.Descendant(full) is null)
        {
            then?.Invoke();
            return;
        }
        Commit(new ChildRemoved(Now(), full, reason), () =>
        {
            if (direct) ReleaseReservation(full);
            then?.Invoke();
        });
    }

    /// <summary>Drops a child's entry (and its subtree's) from the node's allocation table; also for a spawn that
    /// reserved but never became a child.</summary>
    private void ReleaseReservation(string full) => Allocation?.Tell(new ReleaseAllocation(full));

    // ------------------------------------------------------------------ tools

    private static void Reply<T>(IActorRef replyTo, Checked<T> decision, Func<T, DelegationToolReply> ok) where T : class =>
        replyTo.Tell(decision.Error is { } e ? Fail(e) : ok(decision.Value!));

    private static DelegationToolReply Fail(ToolError e) => DelegationToolReply.Fail(e.Kind, e.Message);

    /// <summary>SpawnWorker: the pure checks and the child's manifest (<see cref="SpawnPlan.Validate"/>), the reservation
    /// in the allocation actor, then <see cref="OnSpawnReserved"/>.</summary>
    private void Spawn(SpawnWorkerRequest request, IActorRef replyTo)
    {
        var decision = SpawnPlan.Validate(request, Me, _manifest!, Delegation, _pendingSpawns.Keys, !Context.Child(request.Name).IsNobody());
        if (decision.Value is not { } plan)
        {
            replyTo.Tell(Fail(decision.Error!));
            return;
        }
        var allocation = Allocation;
        if (allocation is null)
        {
            Self.Tell(new SpawnReserved(replyTo, plan.Child, plan.ManifestJson, plan.Task, plan.Scope, new AllocationReply(true)));
            return;
        }
        allocation.Ask<AllocationReply>(new ReserveAllocation(_name, plan.Child, plan.Scope), AllocationTimeout).PipeTo(Self,
            success: r => new SpawnReserved(replyTo, plan.Child, plan.ManifestJson, plan.Task, plan.Scope, r),
            failure: e => new SpawnReserved(replyTo, plan.Child, plan.ManifestJson, plan.Task, plan.Scope, new AllocationReply(false, "allocation table: " + e.Message)));
    }

    private void OnSpawnReserved(SpawnReserved s)
    {
        var shortName = new WorkerName(s.Child).Short;
        if (!s.Reply.Ok)
        {
            s.ReplyTo.Tell(DelegationToolReply.Fail(ToolErrorKind.InvalidArgument, s.Reply.Error ?? "allocation refused"));
            return;
        }
        if (!Context.Child(shortName).IsNobody() || _pendingSpawns.ContainsKey(s.Child) || Delegation.Child(s.Child) is not null)
        {
            s.ReplyTo.Tell(DelegationToolReply.Fail(ToolErrorKind.InvalidArgument, $"worker `{shortName}` is already allocated"));
            return;
        }
        IActorRef child;
        try
        {
            child = Context.ActorOf(Props(s.Child, _runtime), shortName);
        }
        catch (Exception e)
        {
            ReleaseReservation(s.Child);
            s.ReplyTo.Tell(DelegationToolReply.Fail(ToolErrorKind.ExecutionFailed, $"spawned worker `{shortName}` did not start: {e.Message}"));
            return;
        }
        Context.Watch(child);
        _pendingSpawns[s.Child] = new PendingSpawn(s.ReplyTo, child, s.Task, s.Scope);
        child.Tell(new CreateChildWorker(s.ManifestJson, s.Task));
    }

    /// <summary>The child is created: record it (loans take effect), then deliver the task as a `run`.</summary>
    private void OnChildStarted(ChildStarted started)
    {
        if (!_pendingSpawns.Remove(started.Name, out var pending)) return;
        var shortName = new WorkerName(started.Name).Short;
        Commit(new ChildSpawned(Now(), started.Name, pending.Scope), () =>
        {
            pending.Child.Tell(new ClientMethod(new RunMethod([new TextSegment(pending.Task)])) { TraceParent = TakeSpawnTrace(started.Name) });
            pending.ReplyTo.Tell(new DelegationToolReply($"spawned worker `{shortName}` listening on {started.Name}"));
            // §1.3 step 14: a spawner that itself has a parent tells it (control-plane, through the outbox)
            ReportToParent(new ScopeSubDelegatedWorkerEvent(_name, started.Name, started.Name, pending.Scope));
        });
    }

    private void OnChildStartFailed(ChildStartFailed failed)
    {
        if (!_pendingSpawns.Remove(failed.Name, out var pending)) return;
        Context.Unwatch(pending.Child);
        Context.Stop(pending.Child);
        ReleaseReservation(failed.Name);
        var shortName = new WorkerName(failed.Name).Short;
        pending.ReplyTo.Tell(DelegationToolReply.Fail(ToolErrorKind.ExecutionFailed, $"spawned worker `{shortName}` did not start: {failed.Error}"));
    }

    /// <summary>StopWorker (§2.4): best-effort shutdown of the child, then removal with full reclaim. Success does not
    /// depend on the child; its Terminated still tells the model it stopped. A descendant is stopped by its own parent,
    /// which reclaims its loan (Terminated there); here only its record goes.</summary>
    private void StopChild(StopWorkerRequest request, IActorRef replyTo)
    {
        var resolved = Discovery.ResolveChild(request.Name, Me, Delegation);
        if (resolved.Value is not { } record)
        {
            replyTo.Tell(Fail(resolved.Error!));
            return;
        }
        var name = new WorkerName(record.Name);
        var direct = Delegation.Child(record.Name) is not null;
        var shutdown = new ClientMethod(new ShutdownMethod());
        if (!direct) Region.Tell(new WorkerEnvelope(record.Name, shutdown));
        else if (Context.Child(name.Short) is var child && !child.IsNobody()) child.Tell(shutdown);
        ReclaimChild(record.Name, "stopped", () => replyTo.Tell(new DelegationToolReply(
            $"stopped worker `{(direct ? name.Short : name.RelativeTo(Me))}`; reclaimed scope: {DelegationCheck.Describe(record.Scope)}")));
    }
}
