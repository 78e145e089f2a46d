using System.Text.Json.Serialization;
using Yoi.Messages;

namespace Yoi.Actors.Delegation;

/// <summary>One row of ListWorkers / list_workers (reference-delegation §5.1), in the wire shape of the reference.</summary>
public sealed record VisibleWorker(
    [property: JsonPropertyName("worker_name")] string Name,
    [property: JsonPropertyName("full_name"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? FullName,
    [property: JsonPropertyName("visibility")] string Visibility,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("active"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ActiveSegment? Active,
    [property: JsonPropertyName("live")] LiveEndpoint Live,
    [property: JsonPropertyName("restore")] RestoreAvailability Restore,
    [property: JsonPropertyName("comm_registry")] CommRegistry CommRegistry,
    [property: JsonPropertyName("spawned_children"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ChildCounts? SpawnedChildren = null);

public sealed record ActiveSegment([property: JsonPropertyName("session_id")] Guid SessionId, [property: JsonPropertyName("segment_id")] Guid SegmentId);

public sealed record LiveEndpoint(
    [property: JsonPropertyName("socket_path")] string SocketPath,
    [property: JsonPropertyName("reachable")] bool Reachable,
    [property: JsonPropertyName("status"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Status = null);

public sealed record RestoreAvailability(
    [property: JsonPropertyName("possible")] bool Possible,
    [property: JsonPropertyName("reason"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason = null);

public sealed record CommRegistry(
    [property: JsonPropertyName("registered")] bool Registered,
    [property: JsonPropertyName("socket_path"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? SocketPath = null,
    [property: JsonPropertyName("callback_address"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? CallbackAddress = null,
    [property: JsonPropertyName("scope_delegated"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<DelegatedRule>? ScopeDelegated = null);

public sealed record ChildCounts([property: JsonPropertyName("count")] int Count, [property: JsonPropertyName("reachable")] int Reachable,
    [property: JsonPropertyName("unreachable")] int Unreachable);

public sealed record DelegatedRule([property: JsonPropertyName("target")] string Target, [property: JsonPropertyName("permission")] string Permission,
    [property: JsonPropertyName("recursive")] bool Recursive)
{
    public static DelegatedRule Of(ScopeRule r) => new(r.Target, r.Permission == Messages.Permission.Write ? "write" : "read", r.Recursive);
}

/// <summary>What RestoreWorker / restore_worker answers (§5.2).</summary>
public sealed record RestoreResult(
    [property: JsonPropertyName("action")] string Action,
    [property: JsonPropertyName("worker_name")] string Name,
    [property: JsonPropertyName("socket_path")] string SocketPath,
    [property: JsonPropertyName("status"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Status = null);

/// <summary>The payload of peer_registered.</summary>
public sealed record PeerRegistration([property: JsonPropertyName("source")] string Source, [property: JsonPropertyName("peer")] string Peer);

/// <summary>One write loan as <c>yoi inspect</c> shows it.</summary>
public sealed record LoanDescription([property: JsonPropertyName("child")] string Child, [property: JsonPropertyName("target")] string Target,
    [property: JsonPropertyName("permission")] string Permission, [property: JsonPropertyName("recursive")] bool Recursive);

/// <summary>What RestoreWorker does with a name (§5.2), decided without an actor.</summary>
public abstract record RestoreDecision
{
    /// <summary>Self, a live child, a descendant: nothing to do.</summary>
    public sealed record AlreadyLive(RestoreResult Result, string Summary) : RestoreDecision;

    /// <summary>A registered child whose actor is gone: re-create it from its journal.</summary>
    public sealed record RecreateChild(string Child, RestoreResult Result, string Summary) : RestoreDecision;

    /// <summary>A peer: a sharded Worker that starts on demand (one message wakes it).</summary>
    public sealed record WakePeer(string Peer, RestoreResult Result, string Summary) : RestoreDecision;

    public sealed record Refused(ToolError Error) : RestoreDecision;

    /// <summary>Not visible here: whether it exists at all decides between «worker state missing» and «not visible»,
    /// which needs an inspection of the sharded Worker.</summary>
    public sealed record CheckExistence(string Name) : RestoreDecision;
}

/// <summary>Discovery and peers (reference-delegation §5), as pure functions of the Worker's name, status and
/// delegation registry; <c>alive</c> tells whether a child's actor is running.</summary>
public static class Discovery
{
    public static IReadOnlyList<VisibleWorker> VisibleWorkers(WorkerName self, Guid sessionId, Guid segmentId, string status,
        DelegationState registry, Func<string, bool> alive)
    {
        var reachable = registry.Children.Count(c => alive(c.Name));
        var items = new List<VisibleWorker>
        {
            new(self, null, "self_worker", "readable", new ActiveSegment(sessionId, segmentId), new LiveEndpoint(self, true, status),
                new RestoreAvailability(false, "already live"), new CommRegistry(false),
                new ChildCounts(registry.Children.Count, reachable, registry.Children.Count - reachable)),
        };
        foreach (var c in registry.Children)
        {
            var up = alive(c.Name);
            items.Add(new(new WorkerName(c.Name).Short, c.Name, "spawned_child", "readable", null, new LiveEndpoint(c.Name, up),
                new RestoreAvailability(!up), new CommRegistry(true, c.Name, ScopeDelegated: c.Scope.Select(DelegatedRule.Of).ToList())));
        }
        foreach (var d in registry.Descendants)
        {
            var name = new WorkerName(d.Name);
            items.Add(new(name.RelativeTo(self), d.Name, "spawned_child", "readable", null, new LiveEndpoint(d.Name, alive(name.NextBelow(self))),
                new RestoreAvailability(false), new CommRegistry(true, d.Name, d.ParentWorker, d.Scope.Select(DelegatedRule.Of).ToList())));
        }
        foreach (var peer in registry.Peers)
            items.Add(new(peer, null, "peer", "readable", null, new LiveEndpoint(peer, true), new RestoreAvailability(true), new CommRegistry(false)));
        return items.OrderBy(i => i.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>RestoreWorker (§5.2): self and live children are already live; a registered child whose actor is gone is
    /// re-created; a peer is woken; a reclaimed child still has its state but is no longer visible (§1.8 side effect);
    /// any other valid name needs the existence check.</summary>
    public static RestoreDecision Restore(string name, WorkerName self, string status, DelegationState registry, Func<string, bool> alive)
    {
        if (name == self.Value || name == self.Short)
            return new RestoreDecision.AlreadyLive(new RestoreResult("already_live", self, self, status), $"worker `{name}` is already live");
        var full = self.Child(name);
        if (registry.Child(full) is { } child)
            return alive(child.Name)
                ? new RestoreDecision.AlreadyLive(new RestoreResult("already_live", name, child.Name), $"worker `{name}` is already live")
                : new RestoreDecision.RecreateChild(child.Name, new RestoreResult("restored", name, child.Name), $"worker `{name}` restored from worker state");
        if (registry.Peers.Contains(name))
            return new RestoreDecision.WakePeer(name, new RestoreResult("already_live", name, name), $"worker `{name}` is already live");
        if ((registry.Descendant(full) ?? registry.Descendant(name)) is { } d)
            return new RestoreDecision.AlreadyLive(new RestoreResult("already_live", name, d.Name), $"worker `{name}` is already live");
        if (registry.Reclaimed.Any(c => c.Name == full.Value))
            return new RestoreDecision.Refused(ToolError.Invalid($"worker `{name}` is not visible to this Worker"));
        if (!WorkerName.IsValid(name))
            return new RestoreDecision.Refused(ToolError.Invalid($"worker state missing for `{name}`"));
        return new RestoreDecision.CheckExistence(name);
    }

    /// <summary>The answer to a RestoreWorker whose existence check came back: <paramref name="exists"/> null when the
    /// inspection did not answer within <paramref name="timeout"/>.</summary>
    public static ToolError RestoreRefusal(string name, bool? exists, TimeSpan timeout) => exists switch
    {
        true => ToolError.Invalid($"worker `{name}` is not visible to this Worker"),
        false => ToolError.Invalid($"worker state missing for `{name}`"),
        null => new ToolError(Engine.ToolErrorKind.ExecutionFailed, $"worker `{name}`: its state could not be inspected within {timeout.TotalSeconds:0}s"),
    };

    /// <summary>A direct child by its name, or a descendant learned from scope_sub_delegated by its path below this
    /// Worker (`c1/d1`) or its full name.</summary>
    public static Checked<ChildRecord> ResolveChild(string name, WorkerName self, DelegationState registry)
    {
        var full = self.Child(name);
        if (registry.Child(full) is { } child) return child;
        var descendant = registry.Descendant(full) ?? registry.Descendant(name);
        return descendant is not null ? new ChildRecord(descendant.Name, descendant.Scope) : ToolError.Invalid($"no spawned worker named `{name}`");
    }

    /// <summary>SendToPeerWorker: only a registered peer, and never self or a child under another name.</summary>
    public static ToolError? PeerMessageRefusal(string name, WorkerName self, DelegationState registry)
    {
        if (name == self.Value || name == self.Short) return ToolError.Invalid($"worker `{name}` is visible as SelfWorker, not as a peer");
        if (registry.Child(self.Child(name)) is not null) return ToolError.Invalid($"worker `{name}` is visible as SpawnedChild, not as a peer");
        if (!registry.Peers.Contains(name)) return ToolError.Invalid($"worker `{name}` is not visible to this Worker");
        return null;
    }

    /// <summary>register_peer, before the other Worker's existence is checked.</summary>
    public static ToolError? PeerRegistrationRefusal(string name, WorkerName self)
    {
        if (name == self.Value) return ToolError.Invalid($"worker `{name}` cannot be registered as a peer of itself");
        if (!WorkerName.IsValidSegment(new WorkerName(name).Root)) return ToolError.Invalid($"worker `{name}` does not exist");
        return null;
    }

    /// <summary>The write loans, one JSON object each (for <c>yoi inspect</c>).</summary>
    public static IReadOnlyList<LoanDescription> Loans(DelegationState registry) => registry.Children
        .SelectMany(c => c.Scope.Where(r => r.Permission == Permission.Write).Select(r => new LoanDescription(c.Name, r.Target, "write", r.Recursive)))
        .ToList();
}
