using System.Text.Json;
using System.Text.Json.Serialization;

namespace Yoi.Messages;

/// <summary>Everything persisted in a Worker's journal: the reference's <see cref="LogEntry"/> kinds plus
/// the Yoi markers below (our deviations: durable Paused, non-destructive rollback/rewind, journaled
/// notify buffer, Worker creation with its resolved manifest).</summary>
public interface IJournalEvent;

/// <summary>An entry waiting in the notify buffer (reference-protocol §8.1), tag `kind`.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(PendingNotify), "notify")]
[JsonDerivedType(typeof(PendingWorkerEvent), "worker_event")]
public abstract record PendingNotification;

public sealed record PendingNotify(string Message, bool AutoRun) : PendingNotification;

public sealed record PendingWorkerEvent(WorkerEvent Event) : PendingNotification;

public enum DiscardReason { Rollback, Rewind }

/// <summary>First event of every Worker: its identity and the resolved manifest (secrets never included).</summary>
public sealed record WorkerCreated(long Ts, string WorkerName, Guid SessionId, Guid SegmentId, JsonElement Manifest) : IJournalEvent;

/// <summary>Marker: the visible projection of segment <c>SegmentId</c> keeps only its first <c>KeepEntries</c>
/// entries. The discarded suffix stays in the journal for audit.</summary>
public sealed record EntriesDiscarded(long Ts, Guid SegmentId, int KeepEntries, DiscardReason Reason) : IJournalEvent;

/// <summary>An entry was pushed onto the notify buffer (survives restarts).</summary>
public sealed record NotifyQueued(long Ts, PendingNotification Entry) : IJournalEvent;

/// <summary>The first <c>Count</c> buffered entries were drained into history.</summary>
public sealed record NotifyDrained(long Ts, int Count) : IJournalEvent;

/// <summary>Durable Paused: the run ended paused; cleared by <see cref="RunResumed"/>, a new invoke or an abandon.</summary>
public sealed record RunPaused(long Ts) : IJournalEvent;

public sealed record RunResumed(long Ts) : IJournalEvent;

/// <summary>Compaction: the visible projection moves to the new segment <c>SegmentId</c> (its segment_start follows).
/// The previous segment's entries stay in the journal (ours beyond the reference: nothing is destroyed).</summary>
public sealed record SegmentRotated(long Ts, Guid SegmentId, Guid FromSegmentId) : IJournalEvent;

/// <summary>Delegation (parent side): a child Worker `Name` (full name `parent/child`) was spawned with the delegated
/// rules; its Write rules are loans (deny(Write) layers on the parent) until <see cref="ChildRemoved"/>.</summary>
public sealed record ChildSpawned(long Ts, string Name, IReadOnlyList<ScopeRule> Scope) : IJournalEvent;

/// <summary>Delegation (parent side): the child left the registry (stop, shut down, failure, prune); its loans are
/// reclaimed and it is appended to the audit list of reclaimed children.</summary>
public sealed record ChildRemoved(long Ts, string Name, string Reason) : IJournalEvent;

/// <summary>Delegation (parent side): the child's report <c>DeliveryId</c> was taken into the notify buffer (dedup:
/// a redelivery with an id ≤ the last one recorded is acknowledged and dropped).</summary>
public sealed record ChildReportReceived(long Ts, string Child, long DeliveryId) : IJournalEvent;

/// <summary>Delegation (child side): the outbox. A report to the parent is journaled before it is sent and resent
/// until <see cref="ReportDelivered"/>: delivered exactly once even across restarts of either side.</summary>
public sealed record ReportQueued(long Ts, long DeliveryId, WorkerEvent Event) : IJournalEvent;

public sealed record ReportDelivered(long Ts, long DeliveryId) : IJournalEvent;

/// <summary>Delegation (ancestor side, reference-delegation §3.4): a descendant <c>Name</c> (full name) was spawned by
/// <c>ParentWorker</c> somewhere below this Worker's child, with the delegated rules. Control-plane only: it makes the
/// descendant visible and addressable here; no loan, no notification.</summary>
public sealed record SubDelegationRecorded(long Ts, string ParentWorker, string Name, IReadOnlyList<ScopeRule> Scope) : IJournalEvent;

/// <summary>Discovery: a peer Worker (reciprocal registration, reference-delegation §5.3).</summary>
public sealed record PeerAdded(long Ts, string Name) : IJournalEvent;

/// <summary>Stable manifests for the journal's JSON serializer: a row's manifest names its record kind.</summary>
public static class JournalManifest
{
    private static readonly (string Manifest, Type Type)[] Table =
    [
        ("entry", typeof(LogEntry)),
        ("worker_created", typeof(WorkerCreated)),
        ("entries_discarded", typeof(EntriesDiscarded)),
        ("notify_queued", typeof(NotifyQueued)),
        ("notify_drained", typeof(NotifyDrained)),
        ("run_paused", typeof(RunPaused)),
        ("run_resumed", typeof(RunResumed)),
        ("segment_rotated", typeof(SegmentRotated)),
        ("child_spawned", typeof(ChildSpawned)),
        ("child_removed", typeof(ChildRemoved)),
        ("child_report_received", typeof(ChildReportReceived)),
        ("report_queued", typeof(ReportQueued)),
        ("report_delivered", typeof(ReportDelivered)),
        ("peer_added", typeof(PeerAdded)),
        ("sub_delegation_recorded", typeof(SubDelegationRecorded)),
    ];

    public static string Of(IJournalEvent e) => Of(e.GetType());

    public static string Of(Type t)
    {
        foreach (var (m, type) in Table)
            if (type.IsAssignableFrom(t)) return m;
        throw new ArgumentException($"{t.Name} is not a journal event type");
    }

    public static Type TypeOf(string manifest)
    {
        foreach (var (m, type) in Table)
            if (m == manifest) return type;
        throw new ArgumentException($"unknown journal manifest '{manifest}'");
    }
}
