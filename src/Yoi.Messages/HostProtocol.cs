using System.Text.Json;
using System.Text.Json.Serialization;

namespace Yoi.Messages;

// Host-level methods and their replies (spec README "Host, endpoint and wire protocol"): served by the node a
// client is connected to, without `attach`, for the CLI's inspection commands. Each method gets exactly one
// reply event on the same connection (or `error{invalid_request,…}`).

/// <summary>Marker of the methods a node answers itself (never forwarded to a Worker).</summary>
public interface IHostMethod;

/// <summary>`cluster_show` → <see cref="ClusterStateEvent"/>.</summary>
public sealed record ClusterShowMethod : Method, IHostMethod;

/// <summary>`cluster_leave {address}` → <see cref="ClusterCommandEvent"/>.</summary>
public sealed record ClusterLeaveMethod(string Address) : Method, IHostMethod;

/// <summary>`cluster_down {address}` → <see cref="ClusterCommandEvent"/>.</summary>
public sealed record ClusterDownMethod(string Address) : Method, IHostMethod;

/// <summary>`shards` → <see cref="ShardsEvent"/>.</summary>
public sealed record ShardsMethod : Method, IHostMethod;

/// <summary>`workers` → <see cref="WorkersEvent"/>: every live Worker in the cluster (and the passive
/// ones this node's journal knows).</summary>
public sealed record WorkersMethod : Method, IHostMethod;

/// <summary>`inspect {worker}` → <see cref="WorkerInspectionEvent"/>.</summary>
public sealed record InspectMethod(string Worker) : Method, IHostMethod;

/// <summary>`restore {worker}` → <see cref="RestoreResultEvent"/> (brings a passive Worker back, never creates one).</summary>
public sealed record RestoreMethod(string Worker) : Method, IHostMethod;

/// <summary>`health` → <see cref="HealthEvent"/>: the connected node's readiness (the checks `/readyz` runs).</summary>
public sealed record HealthMethod : Method, IHostMethod;

// --- replies ---

public sealed record ClusterMemberInfo(
    string Address, string Status, IReadOnlyList<string> Roles, bool Reachable, bool Leader, bool Self);

/// <summary>The connected node's view of the cluster (<c>Cluster.Get(sys).State</c>).</summary>
public sealed record ClusterStateEvent(
    string SelfAddress,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Leader,
    IReadOnlyList<ClusterMemberInfo> Members,
    IReadOnlyList<string> Unreachable) : Event;

/// <summary>A cluster command was issued (`action` = `leave` | `down`).</summary>
public sealed record ClusterCommandEvent(string Action, string Address, string Message) : Event;

public sealed record ShardInfo(string ShardId, int Entities);

public sealed record RegionNodeInfo(
    string Address, int Shards, int Entities, IReadOnlyList<ShardInfo> ShardList,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error = null);

public sealed record RegionInfo(string Region, IReadOnlyList<RegionNodeInfo> Nodes);

/// <summary>Shard regions, shards and entity counts per node.</summary>
public sealed record ShardsEvent(IReadOnlyList<RegionInfo> Regions) : Event;

/// <summary>One Worker: `status` is idle | running | paused (live), passive (only in the journal) or unknown
/// (live, but it did not answer in time: see `error`).</summary>
public sealed record ClusterWorkerInfo(
    string Name, string Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Node,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ShardId,
    IReadOnlyList<string> Children,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Entries = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error = null);

/// <summary>`failed`: nodes whose shard region did not answer in time.</summary>
public sealed record WorkersEvent(IReadOnlyList<ClusterWorkerInfo> Workers, IReadOnlyList<string> Failed) : Event;

/// <summary>A Worker's inspection. `manifest` is the resolved manifest journaled at creation (it never holds
/// secrets: keys are named by `api_key_env`); `previous_segments`: the segments compaction left behind.</summary>
public sealed record WorkerInspectionEvent(
    string Name, string Status, string Node, Guid SessionId, Guid SegmentId, int Entries, ulong TurnCount,
    int NotifyPending, int Clients, IReadOnlyList<string> Children, IReadOnlyList<JsonElement> Loans, JsonElement Manifest,
    IReadOnlyList<PreviousSegmentInfo> PreviousSegments) : Event;

/// <summary>A segment left by compaction, oldest first: its entries stay in the journal. `rotated_at`: ms since the epoch.</summary>
public sealed record PreviousSegmentInfo(Guid SegmentId, int Entries, long RotatedAt);

/// <summary>`action`: `restored` (it was passive and is live now) or `already_live`.</summary>
public sealed record RestoreResultEvent(string Worker, string Action, string Status, string Node) : Event;

/// <summary>One readiness check: `status` is `healthy` | `unhealthy`.</summary>
public sealed record HealthCheckInfo(
    string Name, string Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Description = null);

/// <summary>`ready`: every check is healthy. The checks are those of `/readyz` (member Up, worker region registered,
/// journal and snapshot store answer), by name.</summary>
public sealed record HealthEvent(bool Ready, IReadOnlyList<HealthCheckInfo> Checks) : Event;
