using Yoi.Messages;

namespace Yoi.Actors.Delegation;

/// <summary>A child in the parent's registry (reference-delegation §1.7): full name and the delegated rules.</summary>
public sealed record ChildRecord(string Name, IReadOnlyList<ScopeRule> Scope);

/// <summary>A report waiting in a child's outbox until its parent acknowledges it.</summary>
public sealed record OutboxEntry(long DeliveryId, WorkerEvent Event);

/// <summary>Serializable image of <see cref="DelegationState"/> (part of the Worker snapshot).</summary>
public sealed record DelegationSnapshot(
    IReadOnlyList<ChildRecord> Children,
    IReadOnlyList<ChildRecord> Reclaimed,
    IReadOnlyDictionary<string, long> LastDelivered,
    IReadOnlyList<OutboxEntry> Outbox,
    long NextDeliveryId,
    IReadOnlyList<string> Peers);

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
                Reloan();
                break;
            case ChildReportReceived rr:
                if (!LastDelivered.TryGetValue(rr.Child, out var last) || rr.DeliveryId > last) LastDelivered[rr.Child] = rr.DeliveryId;
                break;
            case ReportQueued q:
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
        new(Children.ToList(), Reclaimed.ToList(), new Dictionary<string, long>(LastDelivered), Outbox.ToList(), NextDeliveryId, Peers.ToList());

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
        state.Reloan();
        return state;
    }
}
