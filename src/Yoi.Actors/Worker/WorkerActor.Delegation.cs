using System.Text.Json;
using System.Text.RegularExpressions;
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
/// go up through a journaled outbox and are deduplicated by delivery id; envelopes for descendants are forwarded down.</summary>
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
    private ICancelable? _resendTimer;
    private WriteLoans? _loans;

    private sealed record PendingSpawn(IActorRef ReplyTo, IActorRef Child, string Task, IReadOnlyList<ScopeRule> Scope);

    /// <summary>A child Worker: its name has a parent segment. Its actor parent is the parent Worker.</summary>
    private bool IsChild => _name.Contains('/');

    private string ShortName => _name[(_name.LastIndexOf('/') + 1)..];

    private DelegationState Delegation => _state.Delegation;

    private string FullChildName(string shortName) => _name + "/" + shortName;

    protected override SupervisorStrategy SupervisorStrategy() => new ChildSupervisorStrategy(Self, ChildRestartLimit, ChildRestartWindow);

    /// <summary>Children survive their parent's restart (the parent recovers and finds them); the default would stop them.</summary>
    protected override void PreRestart(Exception reason, object message)
    {
        _run?.Cancel();
        _resendTimer?.Cancel();
        PostStop();
    }

    /// <summary>Registered first in every state (before the main file's handlers).</summary>
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
        Command<ResendReports>(_ => { _resendTimer = null; SendOutbox(); });
        Command<ChildFailed>(OnChildFailed);
        Command<DelegationToolCall>(OnToolCall);
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
            tools = [.. tools, .. DelegationTools.Create(Self, Context.System).Where(t => tools.All(x => x.Name != t.Name))];
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
            var shortName = child.Name[(child.Name.LastIndexOf('/') + 1)..];
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
        var actor = Context.Child(p.Name[(p.Name.LastIndexOf('/') + 1)..]);
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
        if (Delegation.Child(full) is null)
        {
            FinishRestoreProbes();
            return;
        }
        _restorePruned = true;
        Commit(new ChildRemoved(Now(), full, "unreachable at restore"), () =>
        {
            Allocation?.Tell(new ReleaseAllocation(full));
            FinishRestoreProbes();
        });
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
        if (!env.WorkerName.StartsWith(_name + "/", StringComparison.Ordinal)) return;
        var rest = env.WorkerName[(_name.Length + 1)..];
        var slash = rest.IndexOf('/');
        var next = slash < 0 ? rest : rest[..slash];
        var child = next.Length == 0 ? ActorRefs.Nobody : Context.Child(next);
        if (child.IsNobody() || Delegation.Child(FullChildName(next)) is null && !_pendingSpawns.ContainsKey(FullChildName(next)))
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
        if (slash < 0) child.Forward(env.Message);
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
        _resendTimer ??= Context.System.Scheduler.ScheduleTellOnceCancelable(ReportResendInterval, Self, ResendReports.Instance, Self);
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
        if (!e.SubWorker.StartsWith(_name + "/", StringComparison.Ordinal)) return; // not below this Worker
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
            Allocation?.Tell(new ReleaseAllocation(full));
            pending.ReplyTo.Tell(DelegationToolReply.Fail(ToolErrorKind.ExecutionFailed, $"spawned worker `{child.Path.Name}` did not start: it stopped during start"));
            return;
        }
        if (Delegation.Child(full) is not null)
            Commit(new ChildRemoved(Now(), full, "stopped"), () =>
            {
                Allocation?.Tell(new ReleaseAllocation(full));
                OnWorkerEvent(new ShutDownWorkerEvent(full), wake: true);
            });
        else
            OnWorkerEvent(new ShutDownWorkerEvent(full), wake: true);
    }

    // ------------------------------------------------------------------ tools

    private void OnToolCall(DelegationToolCall call)
    {
        var replyTo = Sender;
        JsonElement input;
        try
        {
            using var doc = JsonDocument.Parse(call.InputJson);
            input = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            replyTo.Tell(DelegationToolReply.Fail(ToolErrorKind.InvalidArgument, $"invalid {call.Tool} input: {e.Message}"));
            return;
        }
        try
        {
            switch (call.Tool)
            {
                case "SpawnWorker": Spawn(input, replyTo); break;
                case "SendToWorker" or "ReadWorkerOutput": replyTo.Tell(new DelegationToolReply("", ResolveChild(input).Name)); break;
                case "StopWorker": StopChild(input, replyTo); break;
                case "ListWorkers":
                    var list = VisibleWorkers();
                    replyTo.Tell(new DelegationToolReply($"{list.Count} visible worker(s)", JsonSerializer.Serialize(list, Pretty)));
                    break;
                case "RestoreWorker":
                    if (Restore(RequiredString(input, "name", call.Tool), replyTo) is var (result, summary))
                        replyTo.Tell(new DelegationToolReply(summary, JsonSerializer.Serialize(result)));
                    break;
                case "SendToPeerWorker": SendToPeer(input, replyTo); break;
                default: replyTo.Tell(DelegationToolReply.Fail(ToolErrorKind.Internal, $"unknown delegation tool {call.Tool}")); break;
            }
        }
        catch (ToolException e)
        {
            replyTo.Tell(DelegationToolReply.Fail(e.Kind, e.Message));
        }
    }

    private static readonly JsonSerializerOptions Pretty = new() { WriteIndented = true };

    private static ToolException Invalid(string message) => new(ToolErrorKind.InvalidArgument, message);

    private static string RequiredString(JsonElement input, string key, string tool) =>
        input.ValueKind == JsonValueKind.Object && input.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()!
            : throw Invalid($"invalid {tool} input: missing string field `{key}`");

    /// <summary>A direct child by its name, or a descendant learned from scope_sub_delegated by its path below this
    /// Worker (`c1/d1`) or its full name.</summary>
    private ChildRecord ResolveChild(JsonElement input)
    {
        var name = RequiredString(input, "name", "worker");
        if (Delegation.Child(FullChildName(name)) is { } child) return child;
        var descendant = Delegation.Descendant(FullChildName(name)) ?? Delegation.Descendant(name);
        return descendant is not null ? new ChildRecord(descendant.Name, descendant.Scope) : throw Invalid($"no spawned worker named `{name}`");
    }

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex WorkerNameRule();

    /// <summary>SpawnWorker, reference-delegation §1.3 steps 1–8 here (nothing mutated), the reservation in the
    /// allocation actor, then <see cref="OnSpawnReserved"/>.</summary>
    private void Spawn(JsonElement input, IActorRef replyTo)
    {
        if (input.ValueKind != JsonValueKind.Object) throw Invalid("invalid SpawnWorker input: expected an object");
        var name = RequiredString(input, "name", "SpawnWorker");
        var task = RequiredString(input, "task", "SpawnWorker");
        if (!input.TryGetProperty("scope", out var scopeJson) || scopeJson.ValueKind != JsonValueKind.Array)
            throw Invalid("invalid SpawnWorker input: missing array field `scope`");
        if (name == ShortName || name == _name) throw Invalid($"worker name `{name}` collides with spawner's own name");
        if (!WorkerNameRule().IsMatch(name) || name is "." or "..")
            throw Invalid($"invalid SpawnWorker input: invalid worker name `{name}` (use [A-Za-z0-9._-], 1-64 chars)");

        var rules = new List<ScopeRule>();
        foreach (var r in scopeJson.EnumerateArray())
        {
            ScopeRule? rule;
            try { rule = r.Deserialize<ScopeRule>(YoiJson.Options); }
            catch (JsonException e) { throw Invalid("invalid SpawnWorker input: " + e.Message); }
            if (rule is null || rule.Target is null) throw Invalid("invalid SpawnWorker input: scope entries need target and permission");
            if (!r.TryGetProperty("recursive", out _)) rule = rule with { Recursive = true };
            rules.Add(rule);
        }
        if (rules.Count == 0) throw Invalid("scope must not be empty");
        foreach (var r in rules)
            if (!Path.IsPathRooted(r.Target)) throw Invalid($"scope.target must be absolute: {r.Target}");

        var manifest = _manifest!;
        var delegation = manifest.DelegationScope ?? ScopeConfig.Empty;
        if (delegation.IsEmpty)
            throw Invalid("this Worker has no delegation scope grant ([[delegation_scope.allow]] is empty); its direct filesystem scope only covers the Worker's own tools");
        foreach (var r in rules)
            if (!DelegationCheck.AllowsRule(delegation, r))
                throw Invalid($"requested child scope {r.Target} {r.Permission} is outside this Worker's delegation scope grant");

        var limits = manifest.Workers ?? new WorkersFeature();
        var depth = _name.Count(ch => ch == '/') + 1;
        if (depth > limits.MaxDepth)
            throw Invalid($"spawning `{name}` would exceed the maximum delegation depth ({limits.MaxDepth}; [feature.workers] max_depth)");
        if (Delegation.Children.Count + _pendingSpawns.Count >= limits.MaxChildren)
            throw Invalid($"this Worker already has {Delegation.Children.Count + _pendingSpawns.Count} child Worker(s), the maximum ([feature.workers] max_children = {limits.MaxChildren}); stop one first");

        var full = FullChildName(name);
        if (Delegation.Child(full) is not null || _pendingSpawns.ContainsKey(full) || !Context.Child(name).IsNobody())
            throw Invalid($"worker `{name}` is already allocated");

        var cwd = manifest.WorkingDirectory;
        if (input.TryGetProperty("cwd", out var cwdJson) && cwdJson.ValueKind == JsonValueKind.String)
        {
            var requested = cwdJson.GetString()!;
            if (!Path.IsPathRooted(requested)) throw Invalid($"cwd `{requested}` must be absolute");
            if (File.Exists(requested)) throw Invalid($"cwd `{requested}` must be a directory");
            if (!Directory.Exists(requested)) throw Invalid($"cwd `{requested}` does not exist");
            var canonical = PathResolution.Resolve(requested) ?? requested;
            if (new ScopePolicy(new ScopeConfig(rules, [])).PermissionAt(canonical) == Access.None)
                throw Invalid($"cwd `{requested}` is outside the child's delegated readable scope");
            cwd = canonical;
        }

        var profile = input.TryGetProperty("profile", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString()!.Trim() : "";
        CheckProfile(profile);
        var instruction = input.TryGetProperty("instruction", out var ins) && ins.ValueKind == JsonValueKind.String ? ins.GetString() : null;

        // The handoff (§1.5, `inherit`): the spawner's manifest; scope = the requested rules; the child may lend on at
        // most what it holds (attenuated delegation, so depth limits mean something); instruction replaced if given.
        var child = manifest with
        {
            Name = full,
            Scope = new ScopeConfig(rules, []),
            DelegationScope = new ScopeConfig(rules, []),
            Cwd = cwd,
            Workspace = manifest.WorkspaceRoot,
            Engine = instruction is null ? manifest.Engine : manifest.Engine with { Instruction = instruction },
        };
        var manifestJson = child.ToJson().GetRawText();
        var allocation = Allocation;
        if (allocation is null)
        {
            Self.Tell(new SpawnReserved(replyTo, full, manifestJson, task, rules, new AllocationReply(true)));
            return;
        }
        allocation.Ask<AllocationReply>(new ReserveAllocation(_name, full, rules), AllocationTimeout).PipeTo(Self,
            success: r => new SpawnReserved(replyTo, full, manifestJson, task, rules, r),
            failure: e => new SpawnReserved(replyTo, full, manifestJson, task, rules, new AllocationReply(false, "allocation table: " + e.Message)));
    }

    /// <summary>§1.4, adapted: there is no profile registry on this node, so `inherit` (and an omitted profile) derive
    /// the child from the spawner's manifest; registry selectors name no known profile.</summary>
    private static void CheckProfile(string profile)
    {
        if (profile is "" or "inherit") return;
        if (profile == "default") throw Invalid("no default profile is configured; available: inherit");
        if (profile.StartsWith("path:") || profile.StartsWith('/') || profile.StartsWith("./") || profile.StartsWith("../") || profile.Contains('/')
            || profile.EndsWith(".dcdl") || profile.EndsWith(".json") || profile.EndsWith(".toml") || profile.EndsWith(".nix"))
            throw Invalid($"profile `{profile}`: SpawnWorker accepts registry selectors only (default, inherit, builtin:<n>, user:<n>, project:<n>, <n>); available: inherit");
        var colon = profile.IndexOf(':');
        if (colon >= 0)
        {
            var prefix = profile[..colon];
            if (prefix is not ("builtin" or "user" or "project"))
                throw Invalid($"profile `{profile}`: unsupported selector prefix `{prefix}`; available: inherit");
            if (colon == profile.Length - 1) throw Invalid($"profile `{profile}`: empty profile name; available: inherit");
        }
        throw Invalid($"profile `{profile}` not found; available: inherit");
    }

    private void OnSpawnReserved(SpawnReserved s)
    {
        var shortName = s.Child[(s.Child.LastIndexOf('/') + 1)..];
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
            Allocation?.Tell(new ReleaseAllocation(s.Child));
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
        var shortName = started.Name[(started.Name.LastIndexOf('/') + 1)..];
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
        Allocation?.Tell(new ReleaseAllocation(failed.Name));
        var shortName = failed.Name[(failed.Name.LastIndexOf('/') + 1)..];
        pending.ReplyTo.Tell(DelegationToolReply.Fail(ToolErrorKind.ExecutionFailed, $"spawned worker `{shortName}` did not start: {failed.Error}"));
    }

    /// <summary>StopWorker (§2.4): best-effort shutdown of the child, then removal with full reclaim. Success does not
    /// depend on the child; its Terminated still tells the model it stopped.</summary>
    private void StopChild(JsonElement input, IActorRef replyTo)
    {
        var record = ResolveChild(input);
        var shortName = record.Name[(record.Name.LastIndexOf('/') + 1)..];
        if (Delegation.Child(record.Name) is null)
        {
            // a descendant: its own parent stops it and reclaims its loan (Terminated there); here the record goes
            Region.Tell(new WorkerEnvelope(record.Name, new ClientMethod(new ShutdownMethod())));
            var relative = record.Name[(_name.Length + 1)..];
            Commit(new ChildRemoved(Now(), record.Name, "stopped"), () =>
                replyTo.Tell(new DelegationToolReply($"stopped worker `{relative}`; reclaimed scope: {DelegationCheck.Describe(record.Scope)}")));
            return;
        }
        var child = Context.Child(shortName);
        if (!child.IsNobody()) child.Tell(new ClientMethod(new ShutdownMethod()));
        Commit(new ChildRemoved(Now(), record.Name, "stopped"), () =>
        {
            Allocation?.Tell(new ReleaseAllocation(record.Name));
            replyTo.Tell(new DelegationToolReply($"stopped worker `{shortName}`; reclaimed scope: {DelegationCheck.Describe(record.Scope)}"));
        });
    }

    // ------------------------------------------------------------------ discovery and peers (§5)

    private List<Dictionary<string, object?>> VisibleWorkers()
    {
        var items = new List<Dictionary<string, object?>>
        {
            new()
            {
                ["worker_name"] = _name, ["visibility"] = "self_worker", ["state"] = "readable",
                ["active"] = new { session_id = _state.SessionId, segment_id = _state.SegmentId },
                ["live"] = new { socket_path = _name, reachable = true, status = Wire(_status) },
                ["restore"] = new { possible = false, reason = "already live" },
                ["comm_registry"] = new { registered = false },
                ["spawned_children"] = new { count = Delegation.Children.Count, reachable = Delegation.Children.Count(c => ChildAlive(c.Name)), unreachable = Delegation.Children.Count(c => !ChildAlive(c.Name)) },
            },
        };
        foreach (var c in Delegation.Children)
        {
            var alive = ChildAlive(c.Name);
            items.Add(new()
            {
                ["worker_name"] = c.Name[(c.Name.LastIndexOf('/') + 1)..], ["full_name"] = c.Name, ["visibility"] = "spawned_child", ["state"] = "readable",
                ["live"] = new { socket_path = c.Name, reachable = alive },
                ["restore"] = new { possible = !alive },
                ["comm_registry"] = new { registered = true, socket_path = c.Name, scope_delegated = c.Scope.Select(r => new { target = r.Target, permission = r.Permission == Permission.Write ? "write" : "read", recursive = r.Recursive }) },
            });
        }
        foreach (var d in Delegation.Descendants)
        {
            var alive = ChildAlive(_name + "/" + d.Name[(_name.Length + 1)..].Split('/')[0]);
            items.Add(new()
            {
                ["worker_name"] = d.Name[(_name.Length + 1)..], ["full_name"] = d.Name, ["visibility"] = "spawned_child", ["state"] = "readable",
                ["live"] = new { socket_path = d.Name, reachable = alive },
                ["restore"] = new { possible = false },
                ["comm_registry"] = new { registered = true, socket_path = d.Name, callback_address = d.ParentWorker, scope_delegated = d.Scope.Select(r => new { target = r.Target, permission = r.Permission == Permission.Write ? "write" : "read", recursive = r.Recursive }) },
            });
        }
        foreach (var peer in Delegation.Peers)
            items.Add(new()
            {
                ["worker_name"] = peer, ["visibility"] = "peer", ["state"] = "readable",
                ["live"] = new { socket_path = peer, reachable = true },
                ["restore"] = new { possible = true },
                ["comm_registry"] = new { registered = false },
            });
        return items.OrderBy(i => (string)i["worker_name"]!, StringComparer.Ordinal).ToList();
    }

    private bool ChildAlive(string full) => !Context.Child(full[(full.LastIndexOf('/') + 1)..]).IsNobody();

    /// <summary>RestoreWorker (§5.2): self and live children are already live; a registered child whose actor is gone
    /// is re-created from its journal; a peer is a sharded Worker that starts on demand. Any other name fails: with
    /// «worker state missing» when no such Worker exists, else «not visible» — decided asynchronously (null here; the
    /// answer follows as <see cref="RestoreChecked"/>).</summary>
    private (object Result, string Summary)? Restore(string name, IActorRef? toolReplyTo)
    {
        if (name == _name || name == ShortName)
            return (new { action = "already_live", worker_name = _name, socket_path = _name, status = Wire(_status) }, $"worker `{name}` is already live");
        if (Delegation.Child(FullChildName(name)) is { } child)
        {
            if (ChildAlive(child.Name))
                return (new { action = "already_live", worker_name = name, socket_path = child.Name }, $"worker `{name}` is already live");
            Context.Watch(Context.ActorOf(Props(child.Name, _runtime), name));
            return (new { action = "restored", worker_name = name, socket_path = child.Name }, $"worker `{name}` restored from worker state");
        }
        if (Delegation.Peers.Contains(name))
        {
            Region.Tell(new WorkerEnvelope(name, new InspectWorker(ActorRefs.Nobody)));
            return (new { action = "already_live", worker_name = name, socket_path = name }, $"worker `{name}` is already live");
        }
        if ((Delegation.Descendant(FullChildName(name)) ?? Delegation.Descendant(name)) is { } d)
            return (new { action = "already_live", worker_name = name, socket_path = d.Name }, $"worker `{name}` is already live");
        // a reclaimed child still has its state: it exists, but is no longer visible (§1.8 side effect)
        if (Delegation.Reclaimed.Any(c => c.Name == FullChildName(name))) throw Invalid($"worker `{name}` is not visible to this Worker");
        if (name.Length == 0 || !name.Split('/').All(part => WorkerNameRule().IsMatch(part)))
            throw Invalid($"worker state missing for `{name}`");
        Region.Ask<WorkerInspection>((Func<IActorRef, object>)(reply => new WorkerEnvelope(name, new InspectWorker(reply))), AllocationTimeout, CancellationToken.None)
            .PipeTo(Self, success: i => new RestoreChecked(name, i.Exists, toolReplyTo), failure: _ => new RestoreChecked(name, null, toolReplyTo));
        return null;
    }

    private void OnRestoreChecked(RestoreChecked c)
    {
        var (kind, message) = c.Exists switch
        {
            true => (ToolErrorKind.InvalidArgument, $"worker `{c.Name}` is not visible to this Worker"),
            false => (ToolErrorKind.InvalidArgument, $"worker state missing for `{c.Name}`"),
            null => (ToolErrorKind.ExecutionFailed, $"worker `{c.Name}`: its state could not be inspected within {AllocationTimeout.TotalSeconds:0}s"),
        };
        if (c.ToolReplyTo is { } replyTo) replyTo.Tell(DelegationToolReply.Fail(kind, message));
        else Error(kind == ToolErrorKind.InvalidArgument ? ErrorCode.InvalidRequest : ErrorCode.Internal, message);
    }

    private void SendToPeer(JsonElement input, IActorRef replyTo)
    {
        var name = RequiredString(input, "name", "SendToPeerWorker");
        var message = RequiredString(input, "message", "SendToPeerWorker");
        if (name == _name || name == ShortName) throw Invalid($"worker `{name}` is visible as SelfWorker, not as a peer");
        if (Delegation.Child(FullChildName(name)) is not null) throw Invalid($"worker `{name}` is visible as SpawnedChild, not as a peer");
        if (!Delegation.Peers.Contains(name)) throw Invalid($"worker `{name}` is not visible to this Worker");
        Region.Tell(new WorkerEnvelope(name, new ClientMethod(new NotifyMethod($"[Peer message from `{_name}`]\n{message}", true)) { TraceParent = _inboundTraceParent }));
        replyTo.Tell(new DelegationToolReply($"sent peer message to `{name}`"));
    }

    /// <summary>list_workers / restore_worker / register_peer (§2.8): Idle and Paused only (Running rejects earlier).</summary>
    private void DiscoveryMethod(ClientMethod m)
    {
        try
        {
            switch (m.Method)
            {
                case ListWorkersMethod:
                    Broadcast(new WorkersListedEvent(JsonSerializer.SerializeToElement(VisibleWorkers())));
                    break;
                case RestoreWorkerMethod r:
                    if (Restore(r.Name, null) is { } restored)
                        Broadcast(new WorkerRestoredEvent(JsonSerializer.SerializeToElement(restored.Result)));
                    break;
                case RegisterPeerMethod p:
                    if (p.Name == _name) throw Invalid($"worker `{p.Name}` cannot be registered as a peer of itself");
                    if (!WorkerNameRule().IsMatch(p.Name.Split('/')[0])) throw Invalid($"worker `{p.Name}` does not exist");
                    Region.Ask<WorkerInspection>((Func<IActorRef, object>)(reply => new WorkerEnvelope(p.Name, new InspectWorker(reply))), AllocationTimeout, CancellationToken.None)
                        .PipeTo(Self, success: i => new PeerChecked(p.Name, i.Exists, m.Client), failure: _ => new PeerChecked(p.Name, false, m.Client));
                    break;
            }
        }
        catch (ToolException e)
        {
            Error(ErrorCode.InvalidRequest, e.Message);
        }
    }

    private void OnPeerChecked(PeerChecked c)
    {
        if (!c.Exists)
        {
            Error(ErrorCode.InvalidRequest, $"worker `{c.Peer}` does not exist");
            return;
        }
        void Done()
        {
            Region.Tell(new WorkerEnvelope(c.Peer, new AddPeer(_name)));
            Broadcast(new PeerRegisteredEvent(JsonSerializer.SerializeToElement(new { source = _name, peer = c.Peer })));
        }
        if (Delegation.Peers.Contains(c.Peer)) Done();
        else Commit(new PeerAdded(Now(), c.Peer), Done);
    }

    private IReadOnlyList<string> ChildNames() => Delegation.Children.Select(c => c.Name).ToList();

    private IReadOnlyList<string> LoanDescriptions() => Delegation.Children
        .SelectMany(c => c.Scope.Where(r => r.Permission == Permission.Write).Select(r => JsonSerializer.Serialize(new { child = c.Name, target = r.Target, permission = "write", recursive = r.Recursive })))
        .ToList();
}
