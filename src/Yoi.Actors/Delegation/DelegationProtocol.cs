using Akka.Actor;
using Yoi.Actors.Engine;
using Yoi.Messages;

namespace Yoi.Actors.Delegation;

/// <summary>Parent → new child: create yourself with this resolved manifest (JSON) and run <c>Task</c>. The child
/// answers <see cref="ChildStarted"/> or <see cref="ChildStartFailed"/>.</summary>
public sealed record CreateChildWorker(string ManifestJson, string Task) : IYoiMessage;

public sealed record ChildStarted(string Name) : IYoiMessage;

public sealed record ChildStartFailed(string Name, string Error) : IYoiMessage;

/// <summary>Child → parent report (reference-protocol §3), from the child's journaled outbox; resent until acked.</summary>
public sealed record ChildReport(string Child, long DeliveryId, WorkerEvent Event) : IYoiMessage;

/// <summary>Parent → child: every report up to <c>DeliveryId</c> is recorded.</summary>
public sealed record ChildReportAck(long DeliveryId) : IYoiMessage;

/// <summary>Child → itself: resend unacknowledged reports.</summary>
public sealed record ResendReports : IYoiMessage
{
    public static ResendReports Instance { get; } = new();
}

/// <summary>Fault injection (tests, chaos drills): the Worker throws while handling it, so its supervisor acts.</summary>
public sealed record InjectWorkerFailure(string Reason) : IYoiMessage;

/// <summary>A delegation tool asks its Worker (Ask with a timeout): <c>Tool</c> is the tool name, <c>InputJson</c>
/// the tool input. The Worker answers <see cref="DelegationToolReply"/>.</summary>
public sealed record DelegationToolCall(string Tool, string InputJson) : IYoiMessage
{
    /// <summary>W3C traceparent of the tool's <c>execute_tool</c> span (telemetry on): a spawned child's run is its child.</summary>
    public string? TraceParent { get; init; }
}

/// <summary>Success: <c>Summary</c> (+ <c>Content</c>); failure: <c>ErrorKind</c> + <c>Error</c>. <c>Child</c> names the
/// resolved child (full name) for tools that go on to talk to it.</summary>
public sealed record DelegationToolReply(string Summary, string? Content = null, ToolErrorKind? ErrorKind = null, string? Error = null,
    string? Child = null) : IYoiMessage
{
    public static DelegationToolReply Fail(ToolErrorKind kind, string error) => new("", null, kind, error);
}

/// <summary>Internal: the allocation actor answered a spawn's reservation.</summary>
public sealed record SpawnReserved(IActorRef ReplyTo, string Child, string ManifestJson, string Task, IReadOnlyList<ScopeRule> Scope,
    AllocationReply Reply) : IYoiMessage;

/// <summary>Internal: a peer registration checked the other Worker's existence.</summary>
public sealed record PeerChecked(string Peer, bool Exists, IActorRef? Client) : IYoiMessage;

/// <summary>Peer registration is reciprocal: the other side records this Worker as its peer.</summary>
public sealed record AddPeer(string Name) : IYoiMessage;

// ------------------------------------------------------------------ allocation actor

/// <summary>Reserve write scope for a child (§4.5 delegate). <c>Restore</c> re-registers a recovered loan without checks.</summary>
public sealed record ReserveAllocation(string Spawner, string Child, IReadOnlyList<ScopeRule> Rules, bool Restore = false) : IYoiMessage;

/// <summary>Releases a child's allocation and those of its whole subtree.</summary>
public sealed record ReleaseAllocation(string Child) : IYoiMessage;

public sealed record AllocationReply(bool Ok, string? Error = null) : IYoiMessage;

public sealed record ListAllocations : IYoiMessage
{
    public static ListAllocations Instance { get; } = new();
}

public sealed record AllocationEntry(string Name, string DelegatedFrom, IReadOnlyList<ScopeRule> Rules);

public sealed record AllocationList(IReadOnlyList<AllocationEntry> Entries) : IYoiMessage;

// ------------------------------------------------------------------ restore-time reclaim (§1.8)

/// <summary>A recovered parent asks each re-created child whether it exists (its journal recovered to a created Worker).</summary>
public sealed record ProbeChild : IYoiMessage
{
    public static ProbeChild Instance { get; } = new();
}

/// <summary>The child's answer to <see cref="ProbeChild"/>, sent after its own recovery.</summary>
public sealed record ChildProbed(string Name, bool Exists) : IYoiMessage;

/// <summary>Internal: RestoreWorker of a name that is not visible asked whether it exists at all (§5.1: "worker state
/// missing" is checked first, then "not visible"). <c>Exists</c> null: the inspection did not answer. The answer goes
/// to <c>ToolReplyTo</c> (the RestoreWorker tool) or, for the restore_worker method, to the clients.</summary>
public sealed record RestoreChecked(string Name, bool? Exists, IActorRef? ToolReplyTo) : IYoiMessage;
