using Yoi.Actors.Engine;
using Yoi.Actors.Manifest;
using Yoi.Actors.Scope;
using Yoi.Messages;

namespace Yoi.Actors.Delegation;

/// <summary>A refused delegation request: the tool error the model sees.</summary>
public sealed record ToolError(ToolErrorKind Kind, string Message)
{
    public static ToolError Invalid(string message) => new(ToolErrorKind.InvalidArgument, message);
}

/// <summary>A decision that is either a value or the tool error that refuses it.</summary>
public readonly record struct Checked<T>(T? Value, ToolError? Error) where T : class
{
    public static implicit operator Checked<T>(T value) => new(value, null);
    public static implicit operator Checked<T>(ToolError error) => new(null, error);
}

/// <summary>A spawn that passed every check that needs no actor (reference-delegation §1.3 steps 4–8): the child's full
/// name, its task, the lent rules and its derived manifest (JSON, as it travels to the child). What remains is the
/// node's allocation table (step 9), then the child actor.</summary>
public sealed record SpawnPlan(string Child, string Task, IReadOnlyList<ScopeRule> Scope, string ManifestJson)
{
    /// <summary>Checks <paramref name="request"/> against the spawner's delegation grant, its depth and child limits and
    /// its registry (<paramref name="pending"/>: full names of spawns under way; <paramref name="actorExists"/>: an actor
    /// of that name is still around), then derives the child's manifest. Nothing is mutated.</summary>
    public static Checked<SpawnPlan> Validate(SpawnWorkerRequest request, WorkerName spawner, WorkerManifest manifest,
        DelegationState registry, IReadOnlyCollection<string> pending, bool actorExists)
    {
        var name = request.Name;
        var rules = request.Scope;
        var delegation = manifest.DelegationScope ?? ScopeConfig.Empty;
        if (delegation.IsEmpty)
            return ToolError.Invalid("this Worker has no delegation scope grant ([[delegation_scope.allow]] is empty); its direct filesystem scope only covers the Worker's own tools");
        foreach (var r in rules)
            if (!DelegationCheck.AllowsRule(delegation, r))
                return ToolError.Invalid($"requested child scope {r.Target} {r.Permission} is outside this Worker's delegation scope grant");

        var limits = manifest.Workers ?? new WorkersFeature();
        if (spawner.Depth + 1 > limits.MaxDepth)
            return ToolError.Invalid($"spawning `{name}` would exceed the maximum delegation depth ({limits.MaxDepth}; [feature.workers] max_depth)");
        var children = registry.Children.Count + pending.Count;
        if (children >= limits.MaxChildren)
            return ToolError.Invalid($"this Worker already has {children} child Worker(s), the maximum ([feature.workers] max_children = {limits.MaxChildren}); stop one first");

        var full = spawner.Child(name);
        if (registry.Child(full) is not null || pending.Contains(full.Value) || actorExists)
            return ToolError.Invalid($"worker `{name}` is already allocated");

        var cwd = manifest.WorkingDirectory;
        if (request.Cwd is { } requested)
        {
            if (!Path.IsPathRooted(requested)) return ToolError.Invalid($"cwd `{requested}` must be absolute");
            if (File.Exists(requested)) return ToolError.Invalid($"cwd `{requested}` must be a directory");
            if (!Directory.Exists(requested)) return ToolError.Invalid($"cwd `{requested}` does not exist");
            var canonical = PathResolution.Resolve(requested) ?? requested;
            if (new ScopePolicy(new ScopeConfig(rules, [])).PermissionAt(canonical) == Access.None)
                return ToolError.Invalid($"cwd `{requested}` is outside the child's delegated readable scope");
            cwd = canonical;
        }

        if (CheckProfile(request.Profile) is { } profileError) return profileError;

        var child = ChildManifest(manifest, full, rules, cwd, request.Instruction);
        return new SpawnPlan(full, request.Task, rules, child.ToJson().GetRawText());
    }

    /// <summary>The handoff (§1.5, `inherit`): the spawner's manifest; scope = the requested rules; the child may lend on at
    /// most what it holds (attenuated delegation, so depth limits mean something); instruction replaced if given.</summary>
    public static WorkerManifest ChildManifest(WorkerManifest spawner, string full, IReadOnlyList<ScopeRule> rules, string cwd,
        string? instruction) => spawner with
    {
        Name = full,
        Scope = new ScopeConfig(rules, []),
        DelegationScope = new ScopeConfig(rules, []),
        Cwd = cwd,
        Workspace = spawner.WorkspaceRoot,
        Engine = instruction is null ? spawner.Engine : spawner.Engine with { Instruction = instruction },
    };

    /// <summary>§1.4, adapted: there is no profile registry on this node, so `inherit` (and an omitted profile) derive
    /// the child from the spawner's manifest; registry selectors name no known profile.</summary>
    public static ToolError? CheckProfile(string profile)
    {
        if (profile is "" or "inherit") return null;
        if (profile == "default") return ToolError.Invalid("no default profile is configured; available: inherit");
        if (profile.StartsWith("path:") || profile.StartsWith('/') || profile.StartsWith("./") || profile.StartsWith("../") || profile.Contains('/')
            || profile.EndsWith(".dcdl") || profile.EndsWith(".json") || profile.EndsWith(".toml") || profile.EndsWith(".nix"))
            return ToolError.Invalid($"profile `{profile}`: SpawnWorker accepts registry selectors only (default, inherit, builtin:<n>, user:<n>, project:<n>, <n>); available: inherit");
        var colon = profile.IndexOf(':');
        if (colon >= 0)
        {
            var prefix = profile[..colon];
            if (prefix is not ("builtin" or "user" or "project"))
                return ToolError.Invalid($"profile `{profile}`: unsupported selector prefix `{prefix}`; available: inherit");
            if (colon == profile.Length - 1) return ToolError.Invalid($"profile `{profile}`: empty profile name; available: inherit");
        }
        return ToolError.Invalid($"profile `{profile}` not found; available: inherit");
    }
}
