using Yoi.Messages;

namespace Yoi.Actors.Delegation;

/// <summary>A child in the parent's registry (reference-delegation §1.7): full name and the delegated rules.</summary>
public sealed record ChildRecord(string Name, IReadOnlyList<ScopeRule> Scope);

/// <summary>A descendant below one of this Worker's children, learned from scope_sub_delegated (§3.4): its full name,
/// the Worker that spawned it (its callback address) and the rules it was lent.</summary>
public sealed record DescendantRecord(string Name, string ParentWorker, IReadOnlyList<ScopeRule> Scope);

/// <summary>A report waiting in a child's outbox until its parent acknowledges it.</summary>
public sealed record OutboxEntry(long DeliveryId, WorkerEvent Event);

/// <summary>Serializable image of <see cref="DelegationState"/> (part of the Worker snapshot).</summary>
public sealed record DelegationSnapshot(
    IReadOnlyList<ChildRecord> Children,
    IReadOnlyList<ChildRecord> Reclaimed,
    IReadOnlyDictionary<string, long> LastDelivered,
    IReadOnlyList<OutboxEntry> Outbox,
    long NextDeliveryId,
    IReadOnlyList<string> Peers,
    IReadOnlyList<DescendantRecord>? Descendants = null,
    bool ParentOriginatedRun = false,
    bool InterruptReported = false);

/// <summary>The delegation part of a Worker's journal projection: the child registry (whose Write rules are the
/// loans), the audit list of reclaimed children, the per-child last delivered report id (parent side), the outbox
/// (child side) and the peers.</summary>
public sealed class DelegationState
{
    public List<ChildRecord> Children { get; } = [];
    public List<ChildRecord> Reclaimed { get; } = [];
    public Dictionary<string, long> LastDelivered { get; } = [];
    public List<OutboxEntry> Outbox { get; } = [];
    public long NextDeliveryId { get; private set; } = 1;
    public SortedSet<string> Peers { get; } = new(StringComparer.Ordinal);
    public List<DescendantRecord> Descendants { get; } = [];

    public DescendantRecord? Descendant(string name) => Descendants.FirstOrDefault(d => d.Name == name);

    /// <summary>Child side: the report sent when a parent-originated run was interrupted by a restart and not resumed.</summary>
    public const string InterruptedReport = "run interrupted (the Worker restarted) and not resumed; send it a message to continue";

    /// <summary>Child side: the latest run was started by `run` / `resume` (it reports upward), not by a notification.</summary>
    public bool ParentOriginatedRun { get; private set; }

    /// <summary>Child side: the interruption of the latest run was already reported (once, whatever the recoveries).</summary>
    public bool InterruptReported { get; private set; }

    public ChildRecord? Child(string name) => Children.FirstOrDefault(c => c.Name == name);

    /// <summary>Every Write rule currently lent to a child: deny(Write) layers on this Worker's own scope.</summary>
    /// <remarks>An immutable array replaced on every change: tools read it from other threads.</remarks>
    public IReadOnlyList<ScopeRule> LoanedWriteRules { get; private set; } = [];

    private void Reloan() => LoanedWriteRules = Children.SelectMany(c => c.Scope).Where(r => r.Permission == Permission.Write).ToArray();

    public void Apply(IJournalEvent e)
    {
        switch (e)
        {
            case ChildSpawned s when Child(s.Name) is null:
                Children.Add(new ChildRecord(s.Name, s.Scope));
                Reloan();
                break;
            case ChildRemoved r when Child(r.Name) is { } record:
                Children.Remove(record);
                Reclaimed.Add(record);
                // its subtree stopped with it (actor children): the descendants learned through it are gone too
                Descendants.RemoveAll(d => d.Name.StartsWith(record.Name + "/", StringComparison.Ordinal));
                Reloan();
                break;
            case ChildRemoved r:
                Descendants.RemoveAll(d => d.Name == r.Name || d.Name.StartsWith(r.Name + "/", StringComparison.Ordinal));
                break;
            case SubDelegationRecorded sd when Descendant(sd.Name) is null:
                Descendants.Add(new DescendantRecord(sd.Name, sd.ParentWorker, sd.Scope));
                break;
            case ChildReportReceived rr:
                if (!LastDelivered.TryGetValue(rr.Child, out var last) || rr.DeliveryId > last) LastDelivered[rr.Child] = rr.DeliveryId;
                break;
            case InvokeEntry i:
                ParentOriginatedRun = i.Trigger == InvokeKind.UserSend;
                InterruptReported = false;
                break;
            case RunResumed:
                ParentOriginatedRun = true;
                InterruptReported = false;
                break;
            case ReportQueued q:
                if (q.Event is ErroredWorkerEvent { Message: InterruptedReport }) InterruptReported = true;
                Outbox.Add(new OutboxEntry(q.DeliveryId, q.Event));
                NextDeliveryId = Math.Max(NextDeliveryId, q.DeliveryId + 1);
                break;
            case ReportDelivered d:
                Outbox.RemoveAll(o => o.DeliveryId <= d.DeliveryId);
                break;
            case PeerAdded p:
                Peers.Add(p.Name);
                break;
        }
    }

    public DelegationSnapshot ToSnapshot() =>
        new(Children.ToList(), Reclaimed.ToList(), new Dictionary<string, long>(LastDelivered), Outbox.ToList(), NextDeliveryId, Peers.ToList(),
            Descendants.ToList(), ParentOriginatedRun, InterruptReported);

    public static DelegationState FromSnapshot(DelegationSnapshot? s)
    {
        var state = new DelegationState();
        if (s is null) return state;
        state.Children.AddRange(s.Children);
        state.Reclaimed.AddRange(s.Reclaimed);
        foreach (var (k, v) in s.LastDelivered) state.LastDelivered[k] = v;
        state.Outbox.AddRange(s.Outbox);
        state.NextDeliveryId = s.NextDeliveryId;
        foreach (var p in s.Peers) state.Peers.Add(p);
        if (s.Descendants is not null) state.Descendants.AddRange(s.Descendants);
        state.ParentOriginatedRun = s.ParentOriginatedRun;
        state.InterruptReported = s.InterruptReported;
        state.Reloan();
        return state;
    }
}
